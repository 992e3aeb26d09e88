"""Index-set dump of one pass of the scheduler (hdl/top/sched.py): the index generator's sets of the
pass's heads to the index buffer in HBM.

Per head of the pass, through the write master (``wr_*`` on m_axi_o), three segments: the header
(``header_words`` words: vertical count, slash count, zeros), then the vertical entries and the
slash entries, each rounded up to whole bus words (entries past a set's count within its last
word are 0; words past that are not written).  The entries are read from the index generator's
``rd_*`` ports, one per cycle (its readback is combinational: the entry of the address register
is sampled in the same cycle); the set sizes after ``rd_head`` was held two cycles.  The heads
of the pass lie at ``idx_addr + offset``, ``offset`` growing by ``head_bytes`` per head over the
whole run.

Ports (``clk`` rising edge, ``rst`` synchronous active high)
    restart             the run starts: the offset back to 0 (the scheduler's first check state)
    active              the dump runs (the scheduler's dump state); while low the next dump is
                        set to start at head 0
    heads [8]           heads of the pass
    idx_addr [64], nb_padded [32], head_bytes [32]   the index buffer, the padded block count, the
                        bytes of one head
    rd_head, rd_blk (out); rd_nv, rd_ns, rd_vi, rd_si   the index generator's readback
    wr_cmd_valid, wr_cmd_ready, wr_cmd_addr [64], wr_cmd_beats [16], wr_d_valid, wr_d_ready,
    wr_d_data [bus]     commands and data to the write master
    fault (out)         a head with an empty set (never expected: block 0 and the diagonal are
                        always in the sets): the dump stops
    finished (out)      the last word of the pass's last head is written
Parameters: ``header_words`` (a multiple of the words per beat), ``cfg`` (its bus width).
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv


@block
def top_index_dump(clk, rst, restart, active, heads, idx_addr, nb_padded, head_bytes,
                   rd_head, rd_blk, rd_nv, rd_ns, rd_vi, rd_si,
                   wr_cmd_valid, wr_cmd_ready, wr_cmd_addr, wr_cmd_beats, wr_d_valid, wr_d_ready,
                   wr_d_data, fault, finished, header_words, cfg):
    BUS_BITS = cfg.axi_data_bits
    WORDS_PER_BEAT = BUS_BITS // 32
    LOG_WORDS_PER_BEAT = WORDS_PER_BEAT.bit_length() - 1
    RD_HEAD_BITS, RD_BLK_BITS = len(rd_head), len(rd_blk)
    P_HEAD, P_SEGMENT, P_WORDS = 0, 1, 2
    phase = Signal(intbv(0, min=0, max=3))
    settle = Signal(intbv(0)[2:])          # cycles rd_head is still to be held
    head = Signal(intbv(0)[8:])            # head within the pass
    offset = Signal(intbv(0)[68:])         # the head's bytes from idx_addr
    segment = Signal(intbv(0)[2:])         # 0 header, 1 vertical, 2 slash
    n_vert, n_slash = Signal(intbv(0)[32:]), Signal(intbv(0)[32:])
    ptr, n_words = Signal(intbv(0)[32:]), Signal(intbv(0)[32:])
    beat_full = Signal(bool(0))
    beat = Signal(intbv(0)[BUS_BITS:])
    word_of_beat = Signal(intbv(0)[LOG_WORDS_PER_BEAT + 1:])
    segment_end = Signal(bool(0))

    @always_comb
    def outs():
        wr_d_valid.next = beat_full
        wr_d_data.next = beat
        rd_blk.next = ptr[RD_BLK_BITS:]
        rd_head.next = head[RD_HEAD_BITS:]
        fault.next = active and phase == P_HEAD and settle == 0 and (rd_nv == 0 or rd_ns == 0)
        finished.next = (active and phase == P_WORDS and beat_full and wr_d_ready and segment_end
                         and segment == 2 and head + 1 == heads)

    @always(clk.posedge)
    def dump():
        word = intbv(0)[32:]
        wr_cmd_valid.next = 0
        if rst:
            beat_full.next = 0
        elif not active:
            if restart:
                offset.next = 0
            head.next = 0
            settle.next = 2
            phase.next = P_HEAD
        elif phase == P_HEAD:
            # rd_head = head: hold two cycles, then take the set sizes
            if settle != 0:
                settle.next = settle - 1
            else:
                n_vert.next = rd_nv
                n_slash.next = rd_ns
                segment.next = 0
                if rd_nv != 0 and rd_ns != 0:
                    phase.next = P_SEGMENT
        elif phase == P_SEGMENT:
            if wr_cmd_ready and not wr_cmd_valid:
                wr_cmd_valid.next = 1
                if segment == 0:
                    wr_cmd_addr.next = idx_addr + offset
                    wr_cmd_beats.next = header_words // WORDS_PER_BEAT
                    n_words.next = header_words
                elif segment == 1:
                    wr_cmd_addr.next = idx_addr + offset + header_words * 4
                    wr_cmd_beats.next = (n_vert + WORDS_PER_BEAT - 1) >> LOG_WORDS_PER_BEAT
                    n_words.next = ((n_vert + WORDS_PER_BEAT - 1) >> LOG_WORDS_PER_BEAT) << LOG_WORDS_PER_BEAT
                else:
                    wr_cmd_addr.next = idx_addr + offset + header_words * 4 + (nb_padded << 2)
                    wr_cmd_beats.next = (n_slash + WORDS_PER_BEAT - 1) >> LOG_WORDS_PER_BEAT
                    n_words.next = ((n_slash + WORDS_PER_BEAT - 1) >> LOG_WORDS_PER_BEAT) << LOG_WORDS_PER_BEAT
                ptr.next = 0
                word_of_beat.next = 0
                segment_end.next = 0
                phase.next = P_WORDS
        elif beat_full:
            if wr_d_ready:
                beat_full.next = 0
                if segment_end:
                    if segment == 2:
                        offset.next = offset + head_bytes
                        if head + 1 != heads:
                            head.next = head + 1
                            settle.next = 2
                            phase.next = P_HEAD
                    else:
                        segment.next = segment + 1
                        phase.next = P_SEGMENT
        else:
            # one entry per cycle: rd_blk = ptr (a register), sig's readback is combinational
            word[:] = 0
            if segment == 0:
                if ptr == 0:
                    word[:] = n_vert
                elif ptr == 1:
                    word[:] = n_slash
            elif segment == 1:
                if ptr < n_vert:
                    word[:] = rd_vi
            elif ptr < n_slash:
                word[:] = rd_si
            beat.next = (beat >> 32) | (word << (BUS_BITS - 32))
            ptr.next = ptr + 1
            if ptr == n_words - 1:
                segment_end.next = 1
            if word_of_beat == WORDS_PER_BEAT - 1:
                word_of_beat.next = 0
                beat_full.next = 1
            else:
                word_of_beat.next = word_of_beat + 1

    return outs, dump
