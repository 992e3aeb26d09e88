"""Where a cache slot lives: its tier memory and its first word there (global slot numbering).

Slots ``0 .. t1-1`` are tier 1, ``t1 .. t1+t2-1`` tier 2 (hdl/cache/slots.py); each slot holds
one K block then one V block, ``words_per_slot`` bus words, at word ``(slot - first slot of its
tier) * words_per_slot`` of its tier memory.

Ports (combinational)
    slot [slot_bits]        a global slot number
    tier2                   the slot is in tier 2
    base [tier_addr_bits]   its first word in its tier memory
Parameters: ``t1`` (tier-1 slots), ``words_per_slot`` (a power of two).

:func:`slot_geometry` gives the sizes the cache's blocks share.
"""

from __future__ import annotations

from myhdl import always_comb, block


def slot_geometry(t1: int, t2: int, block_bytes: int, bus_bits: int) -> dict:
    """Sizes of the tier memories: ``words_per_block`` (bus words of one K or V block),
    ``words_per_slot`` (K then V), ``slot_bits`` (a global slot number), ``tier_addr_bits``
    (a word address in the larger tier memory)."""
    words_per_block = block_bytes // (bus_bits // 8)
    words_per_slot = 2 * words_per_block
    return dict(words_per_block=words_per_block, words_per_slot=words_per_slot,
                slot_bits=max(1, (t1 + t2 - 1).bit_length()),
                tier_addr_bits=max(1, (max(t1, t2) * words_per_slot - 1).bit_length()))


@block
def kv_slot_addr(slot, tier2, base, t1, words_per_slot):
    log_words_per_slot = (words_per_slot - 1).bit_length()

    @always_comb
    def place():
        if slot < t1:
            tier2.next = 0
            base.next = slot << log_words_per_slot
        else:
            tier2.next = 1
            base.next = (slot - t1) << log_words_per_slot

    return place
