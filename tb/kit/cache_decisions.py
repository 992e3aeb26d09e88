"""The KV cache's decision port, watched and checked against golden.cache_sim's event log.

hdl/cache/kv_cache.py (and hdl/group/grp_attn.py, which carries the cache's port out) pulses
``dec_valid`` once per access with ``dec_hit``, ``dec_slot`` (tier 1 slots first, then tier 2),
``dec_evict``, ``dec_victim`` and ``dec_freed``.  :class:`DecisionMonitor` logs every pulse;
:func:`check_decisions` compares the log with the golden simulator's events (hit or miss, tier,
slot in its tier, victim or -1, freed).
"""

from __future__ import annotations

import numpy as np
from cocotb import start_soon
from cocotb.triggers import ReadOnly, RisingEdge

from golden import cache_sim


class DecisionMonitor:
    """Appends (hit, slot, evict, victim, freed) of every ``dec_valid`` cycle to ``log``."""

    def __init__(self, dut, clk):
        self.dut, self.clk = dut, clk
        self.log: list[tuple[int, int, int, int, int]] = []
        self._task = start_soon(self._run())

    def clear(self) -> None:
        self.log.clear()

    async def _run(self) -> None:
        d = self.dut
        while True:
            await RisingEdge(self.clk)
            await ReadOnly()
            if d.dec_valid.value:
                self.log.append((int(d.dec_hit.value), int(d.dec_slot.value), int(d.dec_evict.value),
                                 int(d.dec_victim.value), int(d.dec_freed.value)))


def check_decisions(sb, what: str, gold, log, tier1_blocks: int) -> None:
    """Every logged decision equals the golden event of the same access (``gold``: a
    golden.cache_sim result simulated with ``record=True``)."""
    exp = [(int(e.outcome == cache_sim.HIT), e.tier, e.slot, e.victim, int(e.freed))
           for e in gold.events]
    got = [(hit, 1 if s < tier1_blocks else 2, s if s < tier1_blocks else s - tier1_blocks,
            victim if evict else -1, freed) for hit, s, evict, victim, freed in log]
    sb.check(f"{what}: number of decisions", [len(exp)], [len(got)], ["n"])
    sb.check(f"{what}: decisions", np.array(exp, dtype=np.int64).reshape(-1, 5),
             np.array(got, dtype=np.int64).reshape(-1, 5), ["access", "field"])
