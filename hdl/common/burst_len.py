"""Length of the next AXI4 INCR burst: up to the next 4 KiB boundary, the burst limit and what is
left of the transfer (AXI forbids a burst that crosses a 4 KiB boundary).

Ports (combinational)
    addr            byte address of the burst, a multiple of the beat
    left            beats still to transfer
    burst           beats of the burst: min(beats to the 4 KiB boundary, max_burst, left)
Parameters: ``beat_bytes`` (a power of two), ``max_burst`` (1..256).
"""

from __future__ import annotations

from myhdl import always_comb, block, intbv

AXI_MAX_BURST = 256      # beats of an AXI4 INCR burst at most
AXI_BOUNDARY = 4096      # bytes no burst may cross


@block
def axi_burst_len(addr, left, burst, beat_bytes, max_burst):
    log_beat_bytes = beat_bytes.bit_length() - 1
    beats_4k = AXI_BOUNDARY // beat_bytes

    @always_comb
    def length():
        n = intbv(0, min=0, max=beats_4k + 1)
        n[:] = beats_4k - ((addr >> log_beat_bytes) & (beats_4k - 1))
        if n > max_burst:
            n[:] = max_burst
        if n > left:
            n[:] = left
        burst.next = n

    return length
