"""Synchronous first-word-fall-through FIFO of the KV cache (serve, fetch, burst and word queues).

Ports (``clk`` rising edge; ``rst`` synchronous, active high)
    clr             empty the FIFO (a new run)
    push, din       write ``din`` when ``push`` (ignored when full)
    pop             drop the head word (ignored when empty)
    dout            the head word, valid while ``empty`` is low
    full, empty     status (``full`` may be None when unused)
    count           words held (None when unused)
Parameters
    depth (power of two >= 2), width
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv


@block
def kv_fifo(clk, rst, clr, push, din, pop, dout, full, empty, count, depth, width):
    if depth < 2 or depth & (depth - 1):
        raise ValueError(f"kv_fifo: depth must be a power of two >= 2, got {depth}")
    ptr_bits = (depth - 1).bit_length()
    mem = [Signal(intbv(0)[width:]) for _ in range(depth)]
    wp = Signal(intbv(0)[ptr_bits:])
    rp = Signal(intbv(0)[ptr_bits:])
    n = Signal(intbv(0, min=0, max=depth + 1))

    @always(clk.posedge)
    def seq():
        do_push = push and n < depth
        do_pop = pop and n > 0
        if rst or clr:
            wp.next = 0
            rp.next = 0
            n.next = 0
        else:
            if do_push:
                mem[wp].next = din
                wp.next = (wp + 1) % depth
            if do_pop:
                rp.next = (rp + 1) % depth
            if do_push and not do_pop:
                n.next = n + 1
            elif do_pop and not do_push:
                n.next = n - 1

    @always_comb
    def comb():
        dout.next = mem[rp]
        empty.next = n == 0

    gens = [seq, comb]
    if full is not None:
        @always_comb
        def comb_full():
            full.next = n == depth
        gens.append(comb_full)
    if count is not None:
        @always_comb
        def comb_count():
            count.next = n
        gens.append(comb_count)
    return gens
