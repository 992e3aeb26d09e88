"""Sequential reciprocal of one row sum: normalise l to N bits, then a restoring divider.

On ``start`` the row sum ``l`` (> 0) is normalised by a leading-one detector:
``sh = bit_length(l) - N``, ``l_n = floor(l * 2**-sh)`` in [2**(N-1), 2**N).  Then one
quotient bit per cycle (recip_bits + 1 cycles) gives ``r = floor(2**(N-1+R) / l_n)``
(golden ``recip``), in (2**(R-1), 2**R].  ``done`` rises when ``r`` is ready and stays
high until the next ``start``.

Ports (synchronous to ``clk``; ``rst`` synchronous, active high)
    start    load ``l`` and begin
    l        unsigned ``acc_l_bits`` row sum
    sh       signed normalising shift (held with ``r``)
    r        unsigned ``recip_bits + 1`` reciprocal
    done     ``r`` and ``sh`` are valid
Parameters: ``cfg``.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv


@block
def attn_div(clk, rst, start, l, sh, r, done, cfg):
    N, R, LW = cfg.norm_bits, cfg.recip_bits, cfg.acc_l_bits
    ln = Signal(intbv(0)[N:])
    rem = Signal(intbv(0)[N + 1:])
    q = Signal(intbv(0)[R + 1:])
    cnt = Signal(intbv(0, min=0, max=R + 2))
    busy = Signal(bool(0))

    @always(clk.posedge)
    def seq():
        nbits = intbv(0, min=0, max=LW + 1)
        s = intbv(0, min=-(LW + N + 1), max=LW + N + 1)
        r2 = intbv(0)[N + 2:]
        if rst:
            busy.next = 0
            done.next = 0
            cnt.next = 0
        elif start:
            nbits[:] = 0
            for k in range(LW):
                if l[k]:
                    nbits[:] = k + 1
            s[:] = nbits - N
            sh.next = s
            if s > 0:
                ln.next = l >> s
            else:
                ln.next = l << (-s)
            rem.next = 2 ** (N - 2)
            q.next = 0
            cnt.next = R + 1
            busy.next = 1
            done.next = 0
        elif busy:
            r2[:] = rem << 1
            if r2 >= ln:
                rem.next = r2 - ln
                q.next = (q << 1) | 1
            else:
                rem.next = r2
                q.next = q << 1
            cnt.next = cnt - 1
            if cnt == 1:
                busy.next = 0
                done.next = 1

    @always_comb
    def out():
        r.next = q

    return seq, out
