"""Scale-code load of one pass of the scheduler (hdl/top/sched.py): the K code row of the KV head
and the Q code rows of the pass's heads, from HBM to the units' code memories.

Two reads through the code loader (``ld_*``, an ``hdl.common.axi_rd`` on m_axi_q): ``nb_padded`` words
at ``scale_addr + k_offset`` (row 0: K), then ``heads * nb_padded`` words at ``scale_addr + q_offset``
(rows 1..heads: Q of head row - 1).  The beats are unpacked one 32-bit word per cycle; every
word of a block < nb is written to ``kc_*`` (K) or ``qc_*`` (Q of (head, block)); the Q code of
block nb-1 also pulses ``sqc_we`` (the index generator's Q_last code of the head).  A read
error stops the load: no further command, the rest of the beats are still drained.

Ports (``clk`` rising edge, ``rst`` synchronous active high)
    init                the next load starts from its first command (the scheduler's group state)
    active              the load runs (the scheduler's load state)
    release             the load is over: drop the beat held (the state after the load)
    scale_addr [64], k_offset, q_offset [68], nb, nb_padded [32], heads [8]   where and what to read
    ld_cmd_valid, ld_cmd_ready, ld_cmd_addr [64], ld_cmd_beats [16]   commands to the loader
    ld_valid, ld_ready, ld_data [bus], ld_err, ld_idle   its beats and state
    kc_we, kc_addr, kc_data [32], qc_we, qc_head [8], qc_addr, qc_data [32], sqc_we (out)
                        the code writes
    stopped (out)       a read error stopped the load
    finished (out)      both reads are done (or stopped) and drained: the load may end now
Parameter: ``cfg`` (its bus width).
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv


@block
def top_code_loader(clk, rst, init, active, release, scale_addr, k_offset, q_offset, nb, nb_padded, heads,
                    ld_cmd_valid, ld_cmd_ready, ld_cmd_addr, ld_cmd_beats, ld_valid, ld_ready,
                    ld_data, ld_err, ld_idle, kc_we, kc_addr, kc_data, qc_we, qc_head, qc_addr,
                    qc_data, sqc_we, stopped, finished, cfg):
    BUS_BITS = cfg.axi_data_bits
    WORDS_PER_BEAT = BUS_BITS // 32
    LOG_WORDS_PER_BEAT = WORDS_PER_BEAT.bit_length() - 1
    KC_ADDR_BITS, QC_ADDR_BITS = len(kc_addr), len(qc_addr)
    commands = Signal(intbv(0)[2:])     # 0 K command next, 1 Q command next, 2 both issued
    holding = Signal(bool(0))           # a beat is being unpacked
    beat = Signal(intbv(0)[BUS_BITS:])
    word_of_beat = Signal(intbv(0)[LOG_WORDS_PER_BEAT + 1:])
    row = Signal(intbv(0)[8:])          # 0: the K row, h + 1: the Q row of head h
    col = Signal(intbv(0)[32:])         # block of the row
    rows_done = Signal(bool(0))

    @always_comb
    def outs():
        ld_ready.next = not holding
        finished.next = (rows_done or stopped) and ld_idle and not holding and not ld_cmd_valid

    @always(clk.posedge)
    def load():
        word = intbv(0)[32:]
        ld_cmd_valid.next = 0
        kc_we.next = 0
        qc_we.next = 0
        sqc_we.next = 0
        if rst:
            holding.next = 0
        elif init:
            commands.next = 0
            word_of_beat.next = 0
            row.next = 0
            col.next = 0
            rows_done.next = 0
            stopped.next = 0
        elif active:
            # issue the two code reads, unpack the beats one word per cycle
            if commands == 0 and ld_cmd_ready and not stopped:
                ld_cmd_valid.next = 1
                ld_cmd_addr.next = scale_addr + k_offset
                ld_cmd_beats.next = nb_padded >> LOG_WORDS_PER_BEAT
                commands.next = 1
            elif commands == 1 and ld_cmd_ready and not ld_cmd_valid and not stopped:
                ld_cmd_valid.next = 1
                ld_cmd_addr.next = scale_addr + q_offset
                ld_cmd_beats.next = (heads * nb_padded) >> LOG_WORDS_PER_BEAT
                commands.next = 2
            if ld_err:
                stopped.next = 1
            if ld_valid and not holding:
                holding.next = 1
                beat.next = ld_data
                word_of_beat.next = 0
            elif holding:
                word[:] = beat[32:]
                beat.next = beat >> 32
                if col < nb:
                    if row == 0:
                        kc_we.next = 1
                        kc_addr.next = col[KC_ADDR_BITS:]
                        kc_data.next = word
                    else:
                        qc_we.next = 1
                        qc_head.next = row - 1
                        qc_addr.next = col[QC_ADDR_BITS:]
                        qc_data.next = word
                        if col == nb - 1:
                            sqc_we.next = 1
                if col == nb_padded - 1:
                    col.next = 0
                    if row == heads:
                        rows_done.next = 1
                    row.next = row + 1
                else:
                    col.next = col + 1
                if word_of_beat == WORDS_PER_BEAT - 1:
                    holding.next = 0
                else:
                    word_of_beat.next = word_of_beat + 1
        elif release:
            holding.next = 0

    return outs, load
