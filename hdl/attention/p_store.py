"""The attention engine's P banks: written a column per cycle, read a row per cycle.

The softmax sweep produces P one key column at a time (``B`` rows' p of key j); the MPU's PV
beat takes one query row (``B`` keys' p of row i).  The store transposes with a skewed layout:
``B`` lanes, each a memory of ``2B`` entries (bank, row) of ``p_bits``; p[i][j] lives in lane
``(i + j) mod B`` at entry (bank, i).  A column write rotates the column by ``j`` and writes
every lane at its own entry; a row read reads every lane at entry (bank, i) and rotates back by
``i``.  Two log2(B)-stage rotators and ``B`` small memories instead of a ``B x B`` transpose
register.

Ports (``clk`` rising edge)
    we, wbank, wcol [RB], wdata [B*PB]   write column ``wcol`` of bank ``wbank`` (element i at
                        bits [PB*(i+1)-1 : PB*i] is p[i][wcol])
    re, rbank, rrow [RB]                 read row ``rrow`` of bank ``rbank``
    rdata [B*PB] (out)  the row read last (p[rrow][j] at bits [PB*(j+1)-1 : PB*j]); holds
                        between reads
Parameters: ``block``, ``p_bits``.
"""

from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, block, concat, intbv

from hdl.common.wires import wire


@block
def attn_p_store(clk, we, wbank, wcol, wdata, re, rbank, rrow, rdata, block, p_bits):
    B, PB = block, p_bits
    LOG = (B - 1).bit_length()
    W = B * PB
    wstage = [Signal(intbv(0)[W:]) for _ in range(LOG + 1)]
    rstage = [Signal(intbv(0)[W:]) for _ in range(LOG + 1)]
    lane_out = [Signal(intbv(0)[PB:]) for _ in range(B)]
    rrow_q = Signal(intbv(0)[max(1, LOG):])

    insts = [wire(wdata, wstage[0]), wire(ConcatSignal(*reversed(lane_out)), rstage[0]),
             wire(rstage[LOG], rdata)]
    for s in range(LOG):
        # write: element i moves to lane i + wcol; read: slot j takes lane j + rrow
        insts.append(_rotate(wcol(s), wstage[s], wstage[s + 1], PB << s, left=True))
        insts.append(_rotate(rrow_q(s), rstage[s], rstage[s + 1], PB << s, left=False))
    for k in range(B):
        insts.append(_lane(clk, we, wbank, wcol, wstage[LOG](PB * (k + 1), PB * k), re, rbank, rrow,
                           lane_out[k], k, B))

    @always(clk.posedge)
    def read_row():
        if re:
            rrow_q.next = rrow

    return insts, read_row


@block
def _lane(clk, we, wbank, wcol, wdata, re, rbank, rrow, rout, k, B):
    mem = [Signal(intbv(0)[len(rout):]) for _ in range(2 * B)]

    @always(clk.posedge)
    def access():
        if we:
            mem[wbank * B + ((k - wcol) & (B - 1))].next = wdata
        if re:
            rout.next = mem[rbank * B + rrow]

    return access


@block
def _rotate(sel, src, dst, amount, left):
    """dst = src rotated by ``amount`` bits (towards the MSB if ``left``) when ``sel``."""
    W = len(src)
    cut = W - amount if left else amount

    @always_comb
    def rot():
        if sel:
            dst.next = concat(src[cut:0], src[W:cut])
        else:
            dst.next = src

    return rot
