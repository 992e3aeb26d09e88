"""Read beats to rows: the AXI beats of a read become rows of ``row_bits``, one row at a time.

A row narrower than a beat: each beat holds ``beat_bits / row_bits`` rows, the first row in the
low bits; the consumer takes them one by one and may drop the rest of a beat (``last``: the
unused rows of a block's last beat).  A row wider than a beat: ``row_bits / beat_bits``
consecutive beats are assembled into one row (the lowest address in the low bits); the
assembler takes one beat per cycle, so such rows come at one per ``row_bits / beat_bits``
cycles at best.  Equal widths: each beat is one row.

Ports (``clk`` rising edge; ``rst`` synchronous, active high)
    clr                 drop everything held (a new transfer)
    b_valid, b_ready, b_data [beat_bits]   read beats
    r_valid             a row is offered
    r_data [row_bits]   the row
    take                the consumer takes the row (only while ``r_valid``)
    last                with ``take``: the taken row is the last one wanted from its beat
Parameters: ``beat_bits``, ``row_bits`` (one a power-of-two multiple of the other).
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv


@block
def beat_rows(clk, rst, clr, b_valid, b_ready, b_data, r_valid, r_data, take, last,
              beat_bits, row_bits):
    rows_per_beat = max(1, beat_bits // row_bits)
    beats_per_row = max(1, row_bits // beat_bits)
    word_bits = max(beat_bits, row_bits)      # one beat, or one assembled row
    row_mask = (1 << row_bits) - 1

    # the word stream: the AXI beat itself, or a row assembled from several beats
    w_valid, w_ready = Signal(bool(0)), Signal(bool(0))
    w_data = Signal(intbv(0)[word_bits:])
    # the word being unpacked, and the row of it on offer
    held = Signal(bool(0))
    word = Signal(intbv(0)[word_bits:])
    sub = Signal(intbv(0, min=0, max=rows_per_beat + 1))
    free = Signal(bool(0))

    @always_comb
    def offer():
        free.next = take and (sub == rows_per_beat - 1 or last)
        w_ready.next = not held or free
        r_valid.next = held
        r_data.next = (word >> (row_bits * sub)) & row_mask

    @always(clk.posedge)
    def unpack():
        if rst or clr:
            held.next = 0
            sub.next = 0
        else:
            if w_valid and (not held or free):
                held.next = 1
                word.next = w_data
            elif free:
                held.next = 0
            if take:
                if free:
                    sub.next = 0
                else:
                    sub.next = sub + 1

    if beats_per_row == 1:
        @always_comb
        def pass_beats():
            w_valid.next = b_valid
            w_data.next = b_data
            b_ready.next = w_ready

        return offer, unpack, pass_beats

    acc = Signal(intbv(0)[word_bits:])
    n_beats = Signal(intbv(0, min=0, max=beats_per_row + 1))

    @always_comb
    def assembled():
        w_valid.next = n_beats == beats_per_row
        w_data.next = acc
        # a full row leaving this cycle frees the register for the next row's first beat
        b_ready.next = n_beats != beats_per_row or w_ready

    @always(clk.posedge)
    def assemble():
        if rst or clr:
            n_beats.next = 0
        else:
            if b_valid and (n_beats != beats_per_row or w_ready):
                # the newest beat enters at the top: after all beats the first one is lowest
                acc.next = (b_data << (word_bits - beat_bits)) | (acc >> beat_bits)
                if n_beats == beats_per_row:
                    n_beats.next = 1
                else:
                    n_beats.next = n_beats + 1
            elif n_beats == beats_per_row and w_ready:
                n_beats.next = 0

    return offer, unpack, assembled, assemble
