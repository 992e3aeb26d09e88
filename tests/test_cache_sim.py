"""Golden KV cache simulator: policies against independent naive models.

The references here (trace, liveness, LRU, optimal search) are written
separately from golden/cache_sim.py with plain loops, so a shared bug cannot
hide.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from golden.cache_sim import (
    POLICIES, CacheStats, Liveness, access_trace, layer_traffic_table, liveness,
    new_residency, simulate, simulate_groups, simulate_layer, simulate_liveness,
    simulate_passes, synthetic_vertical_slash, traffic_table, vertical_slash_mask,
)
from hdl.config import preset

HYP = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- references
def naive_trace(mask: torch.Tensor) -> list[tuple[int, int]]:
    g, nb, _ = mask.shape
    out = []
    for r in range(nb):
        for c in range(nb):
            if any(bool(mask[h, r, c]) for h in range(g)):
                out.append((r, c))
    return out


def naive_next(trace, i):
    """(position, row) of the next access of trace[i]'s block, or (-1, -1)."""
    for j in range(i + 1, len(trace)):
        if trace[j][1] == trace[i][1]:
            return j, trace[j][0]
    return -1, -1


def naive_lru_misses(trace, capacity):
    cache: list[int] = []                 # most recent last
    misses = 0
    for _, c in trace:
        if c in cache:
            cache.remove(c)
        else:
            misses += 1
            if len(cache) == capacity:
                cache.pop(0)
        cache.append(c)
    return misses


def optimal_misses(trace, capacity):
    """Fewest misses of any cache of `capacity` slots that installs every miss,
    by exhaustive search over every eviction choice (memoised on the state)."""
    blocks = [c for _, c in trace]

    @functools.lru_cache(maxsize=None)
    def best(i, resident):
        if i == len(blocks):
            return 0
        c = blocks[i]
        if c in resident:
            return best(i + 1, resident)
        if len(resident) < capacity:
            return 1 + best(i + 1, resident | {c})
        return 1 + min(best(i + 1, (resident - {v}) | {c}) for v in resident)

    return best(0, frozenset())


@st.composite
def group_masks(draw, max_nb=7, max_g=3):
    nb = draw(st.integers(1, max_nb))
    g = draw(st.integers(1, max_g))
    density = draw(st.sampled_from([0.15, 0.4, 0.8]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    m = (rng.random((g, nb, nb)) < density) & np.tril(np.ones((nb, nb), dtype=bool))
    mask = torch.from_numpy(m)
    vertical = [c for c in range(nb) if rng.random() < 0.3]
    return mask, vertical


# ---------------------------------------------------------------- hand-worked cases
def test_hand_worked_vertical_slash():
    # nb=4, vertical {0}, slash {0, 1}: rows read {0}, {0,1}, {0,1,2}, {0,2,3}.
    mask = vertical_slash_mask(4, [[0]], [[0, 1]])
    assert access_trace(mask) == [(0, 0), (1, 0), (1, 1), (2, 0), (2, 1), (2, 2),
                                  (3, 0), (3, 2), (3, 3)]
    s = simulate(mask, [0], tier1_blocks=1, tier2_blocks=2, kv_block_bytes=10)
    # block 0 lives in tier 1 and hits in rows 1..3; block 1 hits in row 2, block 2 in row 3
    assert (s.accesses, s.misses, s.hits_tier1, s.hits_tier2) == (9, 4, 3, 2)
    assert s.hbm_bytes == s.compulsory_bytes == 4 * 2 * 10
    assert s.row_misses == [[0], [1], [2], [3]]
    assert s.prefetch_list(0) == [1] and s.prefetch_list(3) == []
    assert s.evictions == 0 and s.frees == 4


def test_spill_beats_strict_partitioning():
    # No vertical block, 1 + 1 slots, rows {0}, {0,1}, {0,1}: two slash blocks alternate.
    mask = torch.tensor([[[1, 0, 0], [1, 1, 0], [1, 1, 0]]], dtype=torch.bool)
    strict = simulate(mask, [], 1, 1, 1, "strict")
    spill = simulate(mask, [], 1, 1, 1, "liveness")
    lru = simulate(mask, [], 1, 1, 1, "lru")
    # strict keeps one tier-2 slot: 0 miss, 0 hit, 1 miss, 0 miss, 1 miss
    assert strict.misses == 4 and strict.hits_tier1 == 0
    # spill uses the idle tier-1 slot: only the two compulsory misses, like LRU of 2 slots
    assert spill.misses == lru.misses == 2
    assert spill.hits_tier1 + spill.hits_tier2 == 3 and spill.hits_tier1 >= 1


def test_belady_victim_is_furthest_next_use():
    # One group, nb=5; the cache is full when block 3 arrives in row 3.
    # rows: 0:{0} 1:{0,1} 2:{1,2} 3:{0,2,3} 4:{1,3,4}
    rows = {0: [0], 1: [0, 1], 2: [1, 2], 3: [0, 2, 3], 4: [1, 3, 4]}
    m = torch.zeros(1, 5, 5, dtype=torch.bool)
    for r, cs in rows.items():
        m[0, r, cs] = True
    s = simulate(m, [], 1, 1, 1, "liveness", record=True)
    ev = [e for e in s.events if e.outcome == "miss"]
    # at (2, 2): residents 0 (next row 3) and 1 (next row 4) -> evict 1, the furthest
    assert (ev[2].row, ev[2].block, ev[2].victim) == (2, 2, 1)
    # row 3: block 0 hits, block 2 hits (last use, freed), block 3 takes the freed slot
    assert (ev[3].row, ev[3].block, ev[3].victim) == (3, 3, -1)
    assert s.misses == optimal_misses(naive_trace(m), 2)


# ---------------------------------------------------------------- properties
@HYP
@given(group_masks())
def test_trace_and_liveness_match_naive(case):
    mask, vertical = case
    trace = naive_trace(mask)
    assert access_trace(mask) == trace
    lv = liveness(mask, vertical)
    assert isinstance(lv, Liveness) and lv.trace == trace
    nb = mask.shape[-1]
    for i in range(len(trace)):
        pos, row = naive_next(trace, i)
        assert lv.next_pos[i] == pos and lv.next_row[i] == row
        assert lv.next_key(i) == (-1 if row < 0 else row * nb + trace[i][1])
    for c in range(nb):
        rows = [r for r, b in trace if b == c]
        assert lv.use_count[c] == len(rows)
        assert lv.first_use[c] == (rows[0] if rows else -1)
        assert lv.last_use[c] == (rows[-1] if rows else -1)
        assert bool(lv.vertical[c]) == (c in vertical)
        assert lv.home_tier(c) == (1 if c in vertical else 2)


def naive_window_next_row(trace, i, window, nb):
    """The next-use row of trace[i] as a cache with a ``window``-entry index memory knows it:
    inside the window, -1 at the true last use in the last window, nb otherwise."""
    w, last = i // window, (len(trace) - 1) // window
    pos, row = naive_next(trace, i)
    if pos >= 0 and pos // window == w:
        return row
    return -1 if w == last else nb


@HYP
@given(group_masks(), st.integers(1, 12))
def test_windowed_liveness_matches_naive(case, window):
    mask, vertical = case
    trace = naive_trace(mask)
    nb = mask.shape[-1]
    lv = liveness(mask, vertical, window)
    assert lv.windows == max(1, -(-len(trace) // window))
    for i in range(len(trace)):
        assert lv.next_row[i] == naive_window_next_row(trace, i, window, nb)
    # a window that holds the whole stream is the plain liveness
    whole = liveness(mask, vertical, max(1, len(trace)))
    assert np.array_equal(whole.next_row, liveness(mask, vertical).next_row)


def test_windowed_cache_keeps_blocks_it_cannot_see_again():
    """A block whose next use lies in the next window is kept (next row nb: not freed), and
    with room enough the windowed cache misses only the compulsory blocks."""
    mask = vertical_slash_mask(12, [[0, 3]], [[0, 1]])
    s_all = simulate(mask, [0, 3], 8, 8, 1)
    s_win = simulate(mask, [0, 3], 8, 8, 1, window=5)
    assert s_win.misses == s_all.misses == s_all.distinct_blocks
    assert s_win.accesses == s_all.accesses and s_win.frees <= s_all.frees
    with pytest.raises(ValueError, match="window"):
        liveness(mask, [0], 0)


def test_passes_keep_blocks_between_runs():
    """A group in passes of one head: the second pass finds the first's blocks; only the last
    pass frees slots; one pass is the plain simulation; a mismatched residency is refused."""
    mask = vertical_slash_mask(10, [[0, 4], [0, 4]], [[0, 1], [0, 2]])
    t1, t2 = 8, 8
    whole = simulate(mask[0:1], [0, 4], t1, t2, 1)
    one = simulate_passes([(mask[0:1], [0, 4])], t1, t2, 1)
    assert [one[0].misses, one[0].frees] == [whole.misses, whole.frees]
    p0, p1 = simulate_passes([(mask[0:1], [0, 4]), (mask[1:2], [0, 4])], t1, t2, 1)
    assert p0.frees == 0 and p1.frees > 0
    cold = simulate(mask[1:2], [0, 4], t1, t2, 1)
    blocks0 = {c for r, c in naive_trace(mask[0:1])}
    blocks1 = {c for r, c in naive_trace(mask[1:2])}
    assert p1.misses == len(blocks1 - blocks0) < cold.misses      # 16 slots hold everything
    res = new_residency(t1, t2)
    simulate_liveness(liveness(mask[0:1], [0, 4], final=False), t1, t2, 1, residency=res)
    with pytest.raises(ValueError, match="residency"):
        simulate_liveness(liveness(mask[1:2], [0, 4]), t1 + 1, t2, 1, residency=res)
    with pytest.raises(ValueError, match="residency"):
        simulate_liveness(liveness(mask[1:2], [0, 4]), t1, t2, 1, "lru", residency=res)


@HYP
@given(group_masks(max_g=3), st.integers(1, 3), st.integers(1, 3), st.integers(2, 9))
def test_passes_event_rules(case, t1, t2, window):
    """Over a group's passes, every event obeys the cache's rules: a hit is a resident block,
    a miss takes a free slot while one exists (a victim only when none is), a slot holds one
    block, and nothing is freed before the last pass."""
    mask, vertical = case
    passes = [(mask[h:h + 1], vertical) for h in range(mask.shape[0])]
    stats = simulate_passes(passes, t1, t2, 1, window, record=True)
    resident: dict[int, tuple[int, int]] = {}
    for i, s in enumerate(stats):
        last = i == len(stats) - 1
        for e in s.events:
            if e.outcome == "hit":
                assert resident.get(e.block) == (e.tier, e.slot)
            else:
                assert e.block not in resident
                used = set(resident.values())
                free = [(tr, sl) for tr, n in ((1, t1), (2, t2)) for sl in range(n)
                        if (tr, sl) not in used]
                assert (e.victim >= 0) == (not free)
                if e.victim >= 0:
                    assert resident.pop(e.victim) == (e.tier, e.slot)
                resident[e.block] = (e.tier, e.slot)
            if e.freed:
                assert last
                del resident[e.block]
    # the last window of the last pass freed each block it read at that block's last use
    # (earlier windows cannot see a last use; the next group's first pass starts empty anyway)
    ev = stats[-1].events
    tail = ev[(max(len(ev) - 1, 0) // window) * window:]
    assert not set(resident) & {e.block for e in tail}


@HYP
@given(group_masks(), st.integers(1, 4), st.integers(1, 4))
def test_stats_add_up(case, t1, t2):
    mask, vertical = case
    trace = naive_trace(mask)
    distinct = len({c for _, c in trace})
    for policy in POLICIES:
        s = simulate(mask, vertical, t1, t2, 7, policy)
        assert s.accesses == len(trace)
        assert s.hits_tier1 + s.hits_tier2 + s.misses == s.accesses
        assert s.hbm_bytes == s.misses * 2 * 7
        assert s.compulsory_bytes == distinct * 2 * 7
        assert sum(len(x) for x in s.row_misses) == s.misses
        assert s.misses >= distinct
    none = simulate(mask, vertical, t1, t2, 7, "none")
    assert none.misses == len(trace) and none.hits == 0
    assert none.row_misses == [[c for r, c in trace if r == row] for row in range(mask.shape[-1])]


@HYP
@given(group_masks(), st.integers(1, 4), st.integers(1, 4))
def test_never_worse_than_lru_and_lru_matches_naive(case, t1, t2):
    mask, vertical = case
    trace = naive_trace(mask)
    lru = simulate(mask, vertical, t1, t2, 1, "lru")
    live = simulate(mask, vertical, t1, t2, 1, "liveness")
    assert lru.misses == naive_lru_misses(trace, t1 + t2)
    assert live.misses <= lru.misses
    assert live.hbm_bytes <= lru.hbm_bytes
    assert live.ratio() <= lru.ratio()


@HYP
@given(group_masks(max_nb=6, max_g=2), st.integers(1, 2), st.integers(1, 2))
def test_misses_equal_exhaustive_optimum(case, t1, t2):
    mask, vertical = case
    trace = naive_trace(mask)
    s = simulate(mask, vertical, t1, t2, 1, "liveness")
    assert s.misses == optimal_misses(trace, t1 + t2)


def used_blocks(case) -> tuple:
    """(mask, vertical, trace, the blocks the trace reads, the vertical ones among them)."""
    mask, vertical = case
    trace = naive_trace(mask)
    blocks = {c for _, c in trace}
    return mask, vertical, trace, blocks, [c for c in blocks if c in vertical]


@HYP
@given(group_masks())
def test_compulsory_when_capacity_suffices(case):
    mask, vertical, trace, blocks, vert_blocks = used_blocks(case)
    nvert = len(vert_blocks)
    nslash = len(blocks) - nvert
    # the total suffices although the tiers are sized against the mix (spill covers it)
    live = simulate(mask, vertical, 1, max(1, len(blocks)), 3, "liveness")
    assert live.misses == len(blocks) and live.hbm_bytes == live.compulsory_bytes
    assert live.ratio() == 1.0
    # strict partitioning needs each tier to fit its own blocks
    strict = simulate(mask, vertical, max(1, nvert), max(1, nslash), 3, "strict")
    assert strict.hbm_bytes == strict.compulsory_bytes
    lru = simulate(mask, vertical, max(1, len(blocks)), 1, 3, "lru")
    assert lru.hbm_bytes == lru.compulsory_bytes
    # the exact prefetch list: each block is fetched by the row that first reads it
    first = {}
    for r, c in trace:
        first.setdefault(c, r)
    nb = mask.shape[-1]
    assert live.row_misses == [sorted(c for c, r in first.items() if r == row) for row in range(nb)]
    for row in range(nb - 1):
        assert live.prefetch_list(row) == live.row_misses[row + 1]


@HYP
@given(group_masks())
def test_tier_attribution_without_spill(case):
    # When each tier fits its own blocks nothing spills: every hit of a vertical block
    # comes from tier 1 and every other hit from tier 2.
    mask, vertical, trace, blocks, vb = used_blocks(case)
    s = simulate(mask, vertical, max(1, len(vb)), max(1, len(blocks) - len(vb)), 1)
    vhits = sum(1 for _, c in trace if c in vertical) - len(vb)
    assert s.hits_tier1 == vhits
    assert s.hits_tier2 == len(trace) - len(blocks) - vhits


@HYP
@given(group_masks(), st.integers(1, 3), st.integers(1, 3))
def test_event_log_follows_the_exact_rules(case, t1, t2):
    # Replay the per-access log against the rules the RTL implements.
    mask, vertical = case
    trace = naive_trace(mask)
    nb = mask.shape[-1]
    s = simulate(mask, vertical, t1, t2, 1, "liveness", record=True)
    slots = {1: [None] * t1, 2: [None] * t2}
    assert [(e.row, e.block) for e in s.events] == trace
    for i, e in enumerate(s.events):
        located = [(t, k) for t in (1, 2) for k, b in enumerate(slots[t]) if b == e.block]
        if e.outcome == "hit":
            assert located == [(e.tier, e.slot)]
        else:
            assert located == []
            home = 1 if e.block in vertical else 2
            free = {t: [k for k, b in enumerate(slots[t]) if b is None] for t in (1, 2)}
            if free[home]:
                assert (e.tier, e.slot, e.victim) == (home, free[home][0], -1)
            elif free[3 - home]:
                assert (e.tier, e.slot, e.victim) == (3 - home, free[3 - home][0], -1)
            else:
                def key(b):   # next read of b after position i, as (row, block)
                    j = next(j for j in range(i + 1, len(trace)) if trace[j][1] == b)
                    return trace[j][0] * nb + b
                resident = [b for t in (1, 2) for b in slots[t]]
                assert e.victim == max(resident, key=key)
                assert slots[e.tier][e.slot] == e.victim
            slots[e.tier][e.slot] = e.block
        last = naive_next(trace, i)[0] < 0
        assert e.freed == last
        if last:
            slots[e.tier][e.slot] = None


# ---------------------------------------------------------------- layer level
def test_simulate_layer_sums_groups_with_gqa_union():
    cfg = preset("ci", tier1_blocks=3, tier2_blocks=2)
    nb, H, g = 12, 6, 3
    rng = np.random.default_rng(5)
    vert = [sorted({0, *rng.choice(nb, 2).tolist()}) for _ in range(H)]
    slash = [sorted({0, *rng.choice(nb, 2).tolist()}) for _ in range(H)]
    mask = vertical_slash_mask(nb, vert, slash)
    for policy in POLICIES:
        layer = simulate_layer(mask, vert, g, cfg, policy)
        groups = simulate_groups(mask, vert, g, cfg, policy)
        manual = [simulate(mask[k * g:(k + 1) * g], sorted(set().union(*vert[k * g:(k + 1) * g])),
                           3, 2, cfg.kv_block_bytes, policy) for k in range(H // g)]
        assert [x.as_dict() for x in groups] == [x.as_dict() for x in manual]
        for f in ("accesses", "hits_tier1", "hits_tier2", "misses", "hbm_bytes",
                  "compulsory_bytes", "evictions"):
            assert getattr(layer, f) == sum(getattr(x, f) for x in manual)
        assert layer.groups == 2 and layer.policy == policy
    table = layer_traffic_table(mask, vert, g, cfg)
    assert table["liveness"] == simulate_layer(mask, vert, g, cfg).hbm_bytes
    assert table["compulsory"] <= table["liveness"] <= table["lru"] <= table["none"]


def test_traffic_table_orders_policies():
    cfg = preset("ci")
    mask, vert = synthetic_vertical_slash(64, 3, n_vertical=6, n_slash=5, seed=1)
    group_vert = sorted(set().union(*vert))
    t = traffic_table(mask, group_vert, cfg)
    assert set(t) >= {"compulsory", "none", "lru", "liveness", "liveness_ratio"}
    assert t["compulsory"] <= t["liveness"] <= t["lru"] <= t["none"]
    assert t["none"] == len(access_trace(mask)) * 2 * cfg.kv_block_bytes
    assert t["liveness_ratio"] == t["liveness"] / t["compulsory"]


def test_synthetic_pattern_capacity_sweep():
    # From a thrashing cache to one that holds the whole live set: liveness traffic falls
    # monotonically to compulsory, and stays at or under LRU everywhere.
    mask, vert = synthetic_vertical_slash(48, 2, n_vertical=5, n_slash=4, seed=3)
    gv = sorted(set().union(*vert))
    prev = None
    for cap in (2, 4, 8, 16, 48):
        live = simulate(mask, gv, max(1, cap // 2), max(1, cap - cap // 2), 1)
        lru = simulate(mask, gv, max(1, cap // 2), max(1, cap - cap // 2), 1, "lru")
        assert live.misses <= lru.misses
        if prev is not None:
            assert live.misses <= prev
        prev = live.misses
    assert prev == live.distinct_blocks


def test_vertical_slash_mask_matches_definition():
    nb = 9
    vert, slash = [[0, 4]], [[0, 2]]
    m = vertical_slash_mask(nb, vert, slash)
    for r in range(nb):
        want = {c for c in vert[0] if c <= r} | {r - k for k in slash[0] if r - k >= 0}
        assert set(torch.nonzero(m[0, r]).flatten().tolist()) == want


# ---------------------------------------------------------------- bad input
CAUSAL = torch.tril(torch.ones(2, 4, 4, dtype=torch.bool))


@pytest.mark.parametrize("args, match", [
    ((torch.ones(1, 3, 3, dtype=torch.bool), [0], 2, 2, 8), "not causal"),
    ((torch.tril(torch.ones(3, 3, dtype=torch.bool)), [0], 2, 2, 8), "must have 3 dims"),
    ((torch.zeros(1, 3, 4, dtype=torch.bool), [0], 2, 2, 8), "shape"),
    ((torch.zeros(0, 3, 3, dtype=torch.bool), [0], 2, 2, 8), "shape"),
    ((torch.tril(torch.ones(1, 3, 3)), [0], 2, 2, 8), "bool"),
    ((np.tril(np.ones((1, 3, 3), dtype=np.int8)), [0], 2, 2, 8), "bool"),
    (([[[True]]], [0], 2, 2, 8), "torch.Tensor or numpy"),
    ((CAUSAL, [0], 0, 2, 8), "tier1_blocks"),
    ((CAUSAL, [0], 2, 0, 8), "tier2_blocks"),
    ((CAUSAL, [0], 2, -1, 8), "tier2_blocks"),
    ((CAUSAL, [0], 2.5, 2, 8), "tier1_blocks"),
    ((CAUSAL, [0], 2, 2, 0), "kv_block_bytes"),
    ((CAUSAL, [4], 2, 2, 8), r"block 4 outside"),
    ((CAUSAL, [-1], 2, 2, 8), r"outside"),
    ((CAUSAL, ["0"], 2, 2, 8), "integers"),
    ((CAUSAL, 3, 2, 2, 8), "iterable"),
])
def test_bad_inputs_raise_clear_errors(args, match):
    with pytest.raises(ValueError, match=match):
        simulate(*args)


def test_bad_policy_and_layer_inputs():
    cfg = preset("ci")
    with pytest.raises(ValueError, match="policy"):
        simulate(CAUSAL, [0], 2, 2, 8, policy="fifo")
    with pytest.raises(ValueError, match="not a multiple of g"):
        simulate_layer(CAUSAL, [[0], [0]], 3, cfg)
    with pytest.raises(ValueError, match="vertical_per_head"):
        simulate_layer(CAUSAL, [[0]], 1, cfg)
    with pytest.raises(ValueError, match="vertical_per_head"):
        simulate_layer(CAUSAL, [[0], [7]], 1, cfg)
    with pytest.raises(ValueError, match="cfg"):
        simulate_layer(CAUSAL, [[0], [0]], 1, {"tier1_blocks": 2})
    too_long = torch.tril(torch.ones(1, cfg.max_blocks + 1, cfg.max_blocks + 1, dtype=torch.bool))
    with pytest.raises(ValueError, match="exceeds max_blocks"):
        simulate_layer(too_long, [[0]], 1, cfg)
    with pytest.raises(ValueError, match="exceeds max_blocks"):
        traffic_table(too_long, [0], cfg)
    s = simulate(CAUSAL, [0], 2, 2, 8)
    with pytest.raises(ValueError, match="row 4 outside"):
        s.prefetch_list(4)
    with pytest.raises(ValueError, match="policies"):
        s + simulate(CAUSAL, [0], 2, 2, 8, "lru")
    summed = simulate_layer(CAUSAL, [[0], [0]], 1, cfg)
    with pytest.raises(ValueError, match="summed"):
        summed.prefetch_list(0)


def test_empty_pattern_is_no_traffic():
    s = simulate(torch.zeros(1, 3, 3, dtype=torch.bool), [], 1, 1, 8)
    assert (s.accesses, s.misses, s.hbm_bytes, s.compulsory_bytes) == (0, 0, 0, 0)
    assert s.ratio() == 1.0 and isinstance(s, CacheStats)
