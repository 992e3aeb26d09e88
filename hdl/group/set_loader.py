"""Set loader of the attention group datapath (``grp_attn``): the index generator's vertical and
slash sets of the group's heads into per-head bitmaps.

Head by head (0..g-1): the set sizes (``rd_nv``, ``rd_ns`` of ``rd_head``), then entry i of both
sets per step (``rd_vi``, ``rd_si`` of ``rd_blk`` = i) until the larger set is read.  Every
address is held two cycles and sampled at the end of the second, so that combinational and
one-cycle registered readback both work: about ``2 (1 + max(nv, ns))`` cycles per head.  Bit
``h*NB + i`` of ``vbits`` is "block i in head h's vertical set", of ``sbits`` "offset i in
head h's slash set".

Ports (``clk`` rising edge; ``rst``, ``clr`` synchronous, active high; ``clr`` empties the
bitmaps)
    go                  the next load starts at head 0 (a pulse before ``active``)
    active              the load runs (the owner's load state)
    g [8], nb [NBB+1]   heads of the group, key blocks of the run
    rd_head [8], rd_blk [NBB] (out); rd_nv, rd_ns [NBB+1], rd_vi, rd_si [NBB]   the index
                        generator's readback (hdl/index/sig.py)
    vbits, sbits [G*NB] (out)   the bitmaps
    size_err (out)      this cycle samples a set size above NB (the load stops)
    entry_err (out)     this cycle samples an entry >= nb
    finished (out)      this cycle samples the last head's last step
Parameters: ``NB`` (blocks).
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv


@block
def grp_set_loader(clk, rst, clr, go, active, g, nb, rd_head, rd_blk, rd_nv, rd_ns, rd_vi, rd_si,
                   vbits, sbits, size_err, entry_err, finished, NB):
    size_bits = len(rd_nv)
    head = Signal(intbv(0)[len(rd_head):])
    step = Signal(intbv(0)[size_bits:])         # entry index within the head's sets
    steps = Signal(intbv(0)[size_bits:])        # entries of the larger set
    n_vert, n_slash = Signal(intbv(0)[size_bits:]), Signal(intbv(0)[size_bits:])
    sampling = Signal(bool(0))                  # second cycle of the address: sample now
    entries = Signal(bool(0))                   # 0: the sizes of ``head``, 1: its entries
    last_head = Signal(bool(0))

    @always_comb
    def decide():
        sizes = active and sampling and not entries
        step_now = active and sampling and entries
        last_head.next = head == g - 1
        size_err.next = sizes and (rd_nv > NB or rd_ns > NB)
        entry_err.next = step_now and ((step < n_vert and rd_vi >= nb) or (step < n_slash and rd_si >= nb))
        finished.next = head == g - 1 and (
            (sizes and rd_nv <= NB and rd_ns <= NB and rd_nv == 0 and rd_ns == 0)
            or (step_now and step + 1 == steps))

    @always(clk.posedge)
    def load():
        if rst:
            rd_head.next = 0
            rd_blk.next = 0
        elif clr:
            vbits.next = 0
            sbits.next = 0
        elif go:
            rd_head.next = 0
            rd_blk.next = 0
            head.next = 0
            sampling.next = False
            entries.next = False
        elif active:
            if not sampling:
                sampling.next = True
            elif not entries:
                sampling.next = False
                n_vert.next = rd_nv
                n_slash.next = rd_ns
                if rd_nv == 0 and rd_ns == 0:
                    if not last_head:
                        head.next = head + 1
                        rd_head.next = head + 1
                elif rd_nv <= NB and rd_ns <= NB:
                    if rd_nv > rd_ns:
                        steps.next = rd_nv
                    else:
                        steps.next = rd_ns
                    step.next = 0
                    entries.next = True
            else:
                sampling.next = False
                if step < n_vert:
                    vbits.next[head * NB + rd_vi] = 1
                if step < n_slash:
                    sbits.next[head * NB + rd_si] = 1
                if step + 1 == steps:
                    entries.next = False
                    rd_blk.next = 0
                    if not last_head:
                        head.next = head + 1
                        rd_head.next = head + 1
                else:
                    step.next = step + 1
                    rd_blk.next = step + 1

    return decide, load
