"""Liveness unit of the KV cache: index memory, backward next-use pass, forward access stream.

One run holds one KV group's merged access stream (rows ascending, key blocks
ascending inside a row, as ``golden.cache_sim.access_trace``), taken in windows of
``depth`` entries (the index memory; one window when the stream fits).  Per window:

1. LOAD: entries arrive on the ``in_*`` stream and are written to the index
   memory in order, until the window is full or ``in_last``.  Each is checked:
   ``block <= row < nb`` and strictly after the previous entry in (row, block)
   order (across windows too).  A bad entry raises ``bad`` (the rest of the
   stream, up to ``in_last``, is accepted and dropped so the producer never hangs).
   Meanwhile the next uses are found forward, as the entries arrive: a ``last``
   table holds, per key block, the index of its latest entry in the window (valid
   bits cleared per window); entry j of block c writes its row into the next-use
   memory (a second memory) at ``last[c]``, then ``last[c] = j``.
2. FINISH: the entries still in the ``last`` table have no next use inside the
   window: in the last window of a ``group_end`` run none at all (``f_has_next``
   = 0: the slot is freed), in any other window next row ``nb`` (not known: the
   furthest next use).  One key block per cycle: ``nb`` cycles per window, where a
   backward pass over the window took one cycle per entry.
3. FORWARD: the window's entries leave on the ``f_*`` stream with their next-use
   row: exactly ``golden.cache_sim.liveness(..., window=depth, final=group_end)
   .next_row``.  Then the next window loads (the producer waits meanwhile).

Ports (``clk`` rising edge; ``rst`` synchronous, active high)
    clr                 start a run (the caller checked nb); clears the tables
    abort               stop (an error elsewhere); ``fwd_done`` still rises, and entries
                        past the current window are not taken
    nb                  key blocks of the run, 1 .. max_blocks
    group_end           the run ends the KV group's use of the cache (held through the run);
                        low: the next run keeps the blocks, so the last window is "not known"
                        too and no access is a last use
    in_valid, in_ready, in_row, in_block, in_vert, in_last   the index stream
    f_valid, f_ready    forward stream handshake
    f_row, f_block, f_vert   the entry
    f_has_next, f_next [nbb + 1]   the next row that reads ``f_block`` (f_has_next = 0:
                        last use; f_next = nb: not inside the window)
    n_acc [cb]          entries loaded in the run (every window)
    bad                 an entry was rejected (level, until ``clr``)
    fwd_done            every entry has left on the forward stream (or the run was
                        aborted or rejected): level, until ``clr``
Parameters
    nbb     bits of a block / row index;  depth  index memory entries (power of two)
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, concat, enum, intbv

from hdl.cache.ram import kv_ram


@block
def kv_liveness(clk, rst, clr, abort, nb, group_end, in_valid, in_ready, in_row, in_block, in_vert, in_last,
                f_valid, f_ready, f_row, f_block, f_vert, f_has_next, f_next, n_acc, bad, fwd_done,
                nbb, depth):
    n_blocks = 1 << nbb
    addr_bits = (depth - 1).bit_length()
    entry_bits = 2 * nbb + 1              # entry: {vert, row, block}
    next_bits = nbb + 2                   # next-use entry: {has_next, next_row (up to nb)}
    St = enum("IDLE", "LOAD", "DISCARD", "FIN", "FWD", "DONE")
    state = Signal(St.IDLE)

    # index memory and next-use memory
    e_we, e_re, x_we, x_re = (Signal(bool(0)) for _ in range(4))
    e_waddr, e_raddr, x_waddr, x_raddr = (Signal(intbv(0)[addr_bits:]) for _ in range(4))
    e_wdata, e_rdata = Signal(intbv(0)[entry_bits:]), Signal(intbv(0)[entry_bits:])
    x_wdata, x_rdata = Signal(intbv(0)[next_bits:]), Signal(intbv(0)[next_bits:])
    emem = kv_ram(clk, e_we, e_waddr, e_wdata, e_re, e_raddr, e_rdata, depth, entry_bits)
    xmem = kv_ram(clk, x_we, x_waddr, x_wdata, x_re, x_raddr, x_rdata, depth, next_bits)

    # per key block: its latest entry in the window (the entry whose next use is still open)
    last_v = Signal(intbv(0)[n_blocks:])
    last_at = [Signal(intbv(0)[addr_bits:]) for _ in range(n_blocks)]
    in_ok = Signal(bool(0))                          # the entry on in_* is in order

    n = Signal(intbv(0, min=0, max=depth + 1))       # entries of the window
    total = Signal(intbv(0)[len(n_acc):])            # entries of the run
    last_window = Signal(bool(0))                    # the window ends the stream
    final = Signal(bool(0))                          # ... and its last uses free their slots
    first = Signal(bool(1))
    prev_row = Signal(intbv(0)[nbb + 1:])
    prev_blk = Signal(intbv(0)[nbb + 1:])
    # finish: the key block whose latest entry gets its "no next use inside the window"
    fc = Signal(intbv(0)[nbb + 1:])
    # forward pass
    fa = Signal(intbv(0, min=0, max=depth + 1))
    fv = Signal(bool(0))
    adv = Signal(bool(0))

    @always_comb
    def handshake():
        in_ready.next = state == St.LOAD or state == St.DISCARD
        adv.next = state == St.FWD and (not fv or f_ready) and not abort

    @always_comb
    def order():
        in_ok.next = (in_block <= in_row and in_row < nb
                      and (first or in_row > prev_row or (in_row == prev_row and in_block > prev_blk)))

    @always_comb
    def ports():
        # write index entries while loading (and the next use of the block's previous entry);
        # read them back forward
        e_we.next = state == St.LOAD and in_valid
        e_waddr.next = n[addr_bits:]
        e_wdata.next = concat(in_vert, in_row, in_block)
        e_re.next = adv and fa < n
        e_raddr.next = fa[addr_bits:]
        x_re.next = adv and fa < n
        x_raddr.next = fa[addr_bits:]
        if state == St.FIN:
            x_we.next = fc < nb and last_v[fc[nbb:]]
            x_waddr.next = last_at[fc[nbb:]]
            if final:
                x_wdata.next = 0
            else:
                x_wdata.next = concat(True, nb)
        else:
            x_we.next = state == St.LOAD and in_valid and in_ok and last_v[in_block]
            x_waddr.next = last_at[in_block]
            x_wdata.next = concat(True, False, in_row)
        f_valid.next = fv and not abort
        f_block.next = e_rdata[nbb:]
        f_row.next = e_rdata[2 * nbb:nbb]
        f_vert.next = e_rdata[2 * nbb]
        f_has_next.next = x_rdata[nbb + 1]
        f_next.next = x_rdata[nbb + 1:]
        n_acc.next = total
        fwd_done.next = state == St.DONE

    @always(clk.posedge)
    def fsm():
        if rst or clr:
            n.next = 0
            total.next = 0
            bad.next = 0
            fv.next = 0
            last_v.next = 0
            if rst:
                state.next = St.IDLE
            else:
                state.next = St.LOAD
                first.next = 1
                fa.next = 0
        elif abort and state != St.IDLE and state != St.LOAD and state != St.DISCARD:
            fv.next = 0
            state.next = St.DONE
        elif state == St.LOAD:
            if in_valid:
                first.next = 0
                prev_row.next = in_row
                prev_blk.next = in_block
                if in_ok:
                    n.next = n + 1
                    total.next = total + 1
                    last_v.next[in_block] = 1
                    last_at[in_block].next = n[addr_bits:]
                    if in_last or n == depth - 1:
                        last_window.next = in_last
                        final.next = in_last and group_end
                        fc.next = 0
                        state.next = St.FIN
                else:
                    bad.next = 1
                    state.next = St.DONE if in_last else St.DISCARD
        elif state == St.DISCARD:
            if in_valid and in_last:
                state.next = St.DONE
        elif state == St.FIN:
            # one key block per cycle; the table starts empty for the next window
            if fc + 1 >= nb:
                last_v.next = 0
                state.next = St.FWD
                fa.next = 0
                fv.next = 0
            else:
                fc.next = fc + 1
        elif state == St.FWD:
            if adv:
                if fa < n:
                    fa.next = fa + 1
                    fv.next = 1
                else:
                    fv.next = 0
                    if last_window:
                        state.next = St.DONE
                    else:
                        n.next = 0
                        state.next = St.LOAD

    return emem, xmem, handshake, order, ports, fsm
