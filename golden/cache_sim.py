"""KV cache simulator: the golden model of the liveness-driven dual-tier cache.

One KV group (``g`` query heads sharing a KV head) is simulated at a time.
Its pattern is a bool mask ``[g, nb, nb]`` (``mask[h, r, c]``: head ``h``
keeps tile ``(r, c)``, only ``c <= r``) plus the group's vertical key blocks
(the union of its heads' vertical sets).  The attention engine walks the
*merged row stream*: rows ``r`` ascending and, within a row, the key blocks
``c`` kept by any head of the group, ascending.  Each access needs the K and
V block of ``c``; a miss fetches both (``2 * kv_block_bytes`` bytes).

Policies (see ``docs/cache.md`` for the design and how the RTL keeps it):

``"liveness"``  the design.  Tier 1 (``tier1_blocks`` slots) is the home of
                vertical blocks, tier 2 (``tier2_blocks`` slots) of the others.
                A block's slot is freed right after its last use.  A miss
                takes the lowest free slot of the home tier, else the lowest
                free slot of the other tier (spill), else the slot of the
                resident block whose next use is furthest (Belady) over both
                tiers.  Misses equal the optimal single cache of
                ``tier1_blocks + tier2_blocks`` slots.
``"strict"``    analysis baseline: the same, but a block may only live in its
                home tier (no spill, Belady victim inside the home tier).
``"lru"``       one tier of ``tier1_blocks + tier2_blocks`` slots, LRU,
                no knowledge of the future; hits are reported as tier 1.
``"none"``      no cache: every access fetches.

Every fetched block is installed in a slot (no bypass): the cache is the
DMA's landing zone, so the engine reads K/V only from the two tiers.

Exact tie rules (the RTL matches them): the next-use key of a resident block
is ``next_row * nb + block`` (unique, because the block number is part of
it); free slots are taken lowest index first; the victim is the largest key.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import torch

from hdl.cache.kv_cache import index_depth
from hdl.config import AcceleratorConfig

POLICIES = ("liveness", "strict", "lru", "none")

# Outcomes in an AccessEvent log.
HIT = "hit"
MISS = "miss"


# --------------------------------------------------------------------------
# input checking
# --------------------------------------------------------------------------
def _as_bool_array(mask, name: str = "mask", ndim: int = 3) -> np.ndarray:
    """The mask as a numpy bool array of ``ndim`` dims [*, nb, nb], causal."""
    if isinstance(mask, torch.Tensor):
        if mask.dtype != torch.bool:
            raise ValueError(f"{name}: must be a bool tensor, got dtype {mask.dtype}")
        arr = mask.detach().cpu().numpy()
    elif isinstance(mask, np.ndarray):
        if mask.dtype != np.bool_:
            raise ValueError(f"{name}: must be a bool array, got dtype {mask.dtype}")
        arr = mask
    else:
        raise ValueError(f"{name}: must be a torch.Tensor or numpy array of bool, "
                         f"got {type(mask).__name__}")
    if arr.ndim != ndim:
        raise ValueError(f"{name}: must have {ndim} dims [heads, nb, nb], got shape {tuple(arr.shape)}")
    if arr.shape[0] < 1 or arr.shape[-1] < 1 or arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"{name}: must have shape [heads>=1, nb, nb] with nb>=1, "
                         f"got {tuple(arr.shape)}")
    upper = np.triu(np.ones(arr.shape[-2:], dtype=bool), k=1)
    bad = arr & upper
    if bad.any():
        h, r, c = (int(x) for x in np.argwhere(bad)[0])
        raise ValueError(f"{name}: not causal: tile (row {r}, block {c}) of head {h} has "
                         f"block > row")
    return arr


def _check_blocks(vertical, nb: int, name: str = "vertical") -> np.ndarray:
    """Vertical key blocks as a bool flag vector [nb]."""
    if isinstance(vertical, (torch.Tensor, np.ndarray)):
        vertical = vertical.tolist()
    if isinstance(vertical, (str, bytes)) or not isinstance(vertical, Iterable):
        raise ValueError(f"{name}: must be an iterable of key block indices, got {vertical!r}")
    flags = np.zeros(nb, dtype=bool)
    for c in vertical:
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)):
            raise ValueError(f"{name}: block indices must be integers, got {c!r}")
        if not 0 <= c < nb:
            raise ValueError(f"{name}: block {c} outside [0, nb={nb})")
        flags[int(c)] = True
    return flags


def _check_count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}: must be an integer >= {minimum}, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------
# access trace and liveness
# --------------------------------------------------------------------------
def _trace_arrays(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # np.nonzero walks row-major, which is exactly the stream order.
    rows, blocks = np.nonzero(arr.any(axis=0))
    return rows.astype(np.int64), blocks.astype(np.int64)


def access_trace(mask) -> list[tuple[int, int]]:
    """The group's merged key-block stream as ``(row, block)`` pairs in stream order.

    mask   bool [g, nb, nb], causal.
    """
    rows, blocks = _trace_arrays(_as_bool_array(mask))
    return list(zip(rows.tolist(), blocks.tolist()))


@dataclass(frozen=True)
class Liveness:
    """Exact liveness of every key block of one KV group.

    nb          key blocks (= query blocks).
    rows, blocks   the access trace (int64 arrays, stream order).
    vertical    bool [nb]: the block is in the group's vertical set (home tier 1).
    first_use, last_use   int64 [nb]: first / last row that reads the block, -1 if never.
    use_count   int64 [nb]: accesses to the block.
    next_pos    int64 [n]: for access i, index of the next access of the same block, -1 if none.
    next_row    int64 [n]: the row of that next access, -1 if none (access i is the last use);
                nb when the stream was taken in windows and the next use is not inside access
                i's window (see :func:`liveness`).
    window      the index-memory window the tables were made for (None: the whole stream).
    """

    nb: int
    rows: np.ndarray
    blocks: np.ndarray
    vertical: np.ndarray
    first_use: np.ndarray
    last_use: np.ndarray
    use_count: np.ndarray
    next_pos: np.ndarray
    next_row: np.ndarray
    window: int | None = None

    @property
    def windows(self) -> int:
        """How many index-memory windows the stream takes (1 without a window)."""
        n = int(self.rows.shape[0])
        return 1 if self.window is None or n == 0 else -(-n // self.window)

    @property
    def accesses(self) -> int:
        return int(self.rows.shape[0])

    @property
    def distinct_blocks(self) -> int:
        return int((self.use_count > 0).sum())

    @property
    def trace(self) -> list[tuple[int, int]]:
        return list(zip(self.rows.tolist(), self.blocks.tolist()))

    def home_tier(self, block: int) -> int:
        return 1 if self.vertical[block] else 2

    def next_key(self, i: int) -> int:
        """Next-use key of access i: ``next_row * nb + block`` (next_row = nb: not known inside
        the access's window); -1 when it is the last use."""
        nr = int(self.next_row[i])
        return -1 if nr < 0 else nr * self.nb + int(self.blocks[i])


def liveness(mask, vertical, window: int | None = None, final: bool = True) -> Liveness:
    """Liveness tables of one KV group.

    mask       bool [g, nb, nb], causal: the group's heads' kept tiles.
    vertical   iterable of key block indices: the group's vertical set (union over heads).
    window     entries of the cache's index memory (``hdl.cache.kv_cache.index_depth``), or
               None for a memory that holds the whole stream.  A longer stream is taken in
               windows of this many accesses, each with its own backward pass: an access whose
               block is not used again inside its window, in any window but the last, gets
               next_row = nb ("not known": the furthest next use, so the block stays while
               room remains and is the first victim; its slot is not freed).
    final      the stream ends the KV group's use of the cache (the default).  False: the
               next run of the same group (the top's next pass over its heads) keeps the
               blocks, so no access is a last use: its last window is "not known" too.
    """
    if window is not None:
        window = _check_count(window, "window", 1)
    arr = _as_bool_array(mask)
    nb = arr.shape[-1]
    vflags = _check_blocks(vertical, nb)
    rows, blocks = _trace_arrays(arr)
    n = rows.shape[0]
    first_use = np.full(nb, -1, dtype=np.int64)
    last_use = np.full(nb, -1, dtype=np.int64)
    use_count = np.bincount(blocks, minlength=nb).astype(np.int64)
    next_pos = np.full(n, -1, dtype=np.int64)
    next_row = np.full(n, -1, dtype=np.int64)
    if n:
        # Group the accesses by block, keeping stream order inside a block:
        # consecutive entries of the same block are a use and its next use.
        order = np.argsort(blocks, kind="stable")
        same = blocks[order[:-1]] == blocks[order[1:]]
        next_pos[order[:-1][same]] = order[1:][same]
        has_next = next_pos >= 0
        next_row[has_next] = rows[next_pos[has_next]]
        used = use_count > 0
        # stream order is row-major, so the first/last accesses give the rows
        first_idx = np.full(nb, n, dtype=np.int64)
        np.minimum.at(first_idx, blocks, np.arange(n))
        last_idx = np.full(nb, -1, dtype=np.int64)
        np.maximum.at(last_idx, blocks, np.arange(n))
        first_use[used] = rows[first_idx[used]]
        last_use[used] = rows[last_idx[used]]
        w = n if window is None else window
        if n > w or not final:
            win = np.arange(n) // w
            open_window = (win < win[-1]) | (not final)
            unknown = open_window & ((next_pos < 0) | (next_pos // w != win))
            next_row[unknown] = nb
    return Liveness(nb=nb, rows=rows, blocks=blocks, vertical=vflags, first_use=first_use,
                    last_use=last_use, use_count=use_count, next_pos=next_pos, next_row=next_row,
                    window=window)


# --------------------------------------------------------------------------
# statistics
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class AccessEvent:
    """One access of a recorded run: where it was served and what it displaced.

    outcome  "hit" or "miss";  tier  1 or 2 (the tier holding the block; 0 for "none");
    slot     slot index inside the tier (-1 for "none");
    victim   block evicted by this miss, -1 if a free slot was used;
    freed    True when the slot was released after this access (last use).
    """

    row: int
    block: int
    outcome: str
    tier: int
    slot: int
    victim: int
    freed: bool


@dataclass
class CacheStats:
    """Traffic and hit counts of one simulated run (or a sum of runs).

    policy            the policy name.
    accesses          tiles read in the stream (hits + misses).
    hits_tier1, hits_tier2   hits served by each tier (LRU's single tier counts as 1).
    misses            blocks fetched from HBM.
    hbm_bytes         misses * 2 * kv_block_bytes (K and V).
    compulsory_bytes  distinct blocks * 2 * kv_block_bytes (each needed block once).
    evictions         resident live blocks displaced by a miss.
    frees             slots released at a block's last use (liveness policies only).
    distinct_blocks   blocks read at least once.
    tier1_blocks, tier2_blocks, kv_block_bytes   the run's parameters.
    row_misses        per row, the blocks it misses, in stream order; the DMA prefetches
                      row r+1's list while row r computes (see prefetch_list). Empty for
                      summed stats.
    max_row_misses    the longest per-row miss list (the deepest prefetch).
    groups            how many runs were summed (1 for one group).
    events            per-access log when simulate(..., record=True), else None.
    """

    policy: str
    accesses: int = 0
    hits_tier1: int = 0
    hits_tier2: int = 0
    misses: int = 0
    hbm_bytes: int = 0
    compulsory_bytes: int = 0
    evictions: int = 0
    frees: int = 0
    distinct_blocks: int = 0
    tier1_blocks: int = 0
    tier2_blocks: int = 0
    kv_block_bytes: int = 0
    row_misses: list[list[int]] = field(default_factory=list)
    max_row_misses: int = 0
    groups: int = 1
    events: list[AccessEvent] | None = None

    @property
    def hits(self) -> int:
        return self.hits_tier1 + self.hits_tier2

    def ratio(self) -> float:
        """HBM KV bytes / compulsory bytes (1.0 for an empty trace)."""
        if self.compulsory_bytes == 0:
            return 1.0
        return self.hbm_bytes / self.compulsory_bytes

    def prefetch_list(self, row: int) -> list[int]:
        """Blocks the DMA prefetches while ``row`` computes: the misses of row + 1."""
        if not self.row_misses:
            raise ValueError("prefetch_list: summed stats carry no per-row lists; "
                             "simulate one group")
        if not 0 <= row < len(self.row_misses):
            raise ValueError(f"prefetch_list: row {row} outside [0, {len(self.row_misses)})")
        return list(self.row_misses[row + 1]) if row + 1 < len(self.row_misses) else []

    def __add__(self, other: "CacheStats") -> "CacheStats":
        if not isinstance(other, CacheStats):
            return NotImplemented
        if other.policy != self.policy:
            raise ValueError(f"cannot add stats of policies {self.policy!r} and {other.policy!r}")
        counts = ("accesses", "hits_tier1", "hits_tier2", "misses", "hbm_bytes",
                  "compulsory_bytes", "evictions", "frees", "distinct_blocks", "groups")
        summed = {k: getattr(self, k) + getattr(other, k) for k in counts}
        return CacheStats(policy=self.policy, tier1_blocks=self.tier1_blocks,
                          tier2_blocks=self.tier2_blocks, kv_block_bytes=self.kv_block_bytes,
                          max_row_misses=max(self.max_row_misses, other.max_row_misses),
                          **summed)

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("events")
        d.pop("row_misses")
        d["hits"] = self.hits
        d["ratio"] = self.ratio()
        return d


# --------------------------------------------------------------------------
# the policies
# --------------------------------------------------------------------------
@dataclass
class Residency:
    """What a liveness cache holds between the runs of one KV group (the top's passes over the
    group's heads): free slots, resident blocks with their slots and next-use keys.  Start one
    with :func:`new_residency` and hand it to every run of the group; a run that is not the
    group's last (``liveness(..., final=False)``) leaves its blocks in it."""

    tier1_blocks: int
    tier2_blocks: int
    spill: bool
    free: dict = field(default_factory=dict)      # tier -> min-heap of free slot indices
    where: dict = field(default_factory=dict)     # resident block -> (tier, slot)
    key: dict = field(default_factory=dict)       # resident block -> next-use key
    heaps: dict = field(default_factory=dict)     # max-heaps of (-key, block), lazily invalidated
    nb: int | None = None

    @property
    def blocks(self) -> int:
        return len(self.where)


def new_residency(tier1_blocks: int, tier2_blocks: int, policy: str = "liveness") -> Residency:
    """An empty cache for the first run of a KV group."""
    t1 = _check_count(tier1_blocks, "tier1_blocks", 1)
    t2 = _check_count(tier2_blocks, "tier2_blocks", 1)
    if policy not in ("liveness", "strict"):
        raise ValueError(f"policy: only 'liveness' and 'strict' keep blocks between runs, got {policy!r}")
    spill = policy == "liveness"
    # Max-heaps of (-key, block), lazily invalidated: an entry is current iff the
    # block is resident with that key.  One heap over both tiers when spilling,
    # one per tier otherwise (in "strict" a block never leaves its home tier).
    return Residency(t1, t2, spill, free={1: list(range(t1)), 2: list(range(t2))},
                     heaps={0: []} if spill else {1: [], 2: []})


def _run_liveness(lv: Liveness, t1: int, t2: int, spill: bool, record: bool,
                  residency: Residency | None = None):
    nb = lv.nb
    res = residency or new_residency(t1, t2, "liveness" if spill else "strict")
    if (res.tier1_blocks, res.tier2_blocks, res.spill) != (t1, t2, spill):
        raise ValueError(f"residency: made for tiers {res.tier1_blocks}+{res.tier2_blocks} "
                         f"(spill {res.spill}), the run has {t1}+{t2} (spill {spill})")
    if res.nb is not None and res.nb != nb:
        raise ValueError(f"residency: from a run of nb={res.nb}, this run has nb={nb}")
    res.nb = nb
    free, where, key, heaps = res.free, res.where, res.key, res.heaps
    hits = {1: 0, 2: 0}
    misses = evictions = frees = 0
    row_misses: list[list[int]] = [[] for _ in range(nb)]
    events = [] if record else None
    rows, blocks, next_row = lv.rows.tolist(), lv.blocks.tolist(), lv.next_row.tolist()
    vert = lv.vertical
    for r, c, nr in zip(rows, blocks, next_row):
        victim = -1
        if c in where:
            tier, slot = where[c]
            hits[tier] += 1
            outcome = HIT
        else:
            misses += 1
            row_misses[r].append(c)
            outcome = MISS
            home = 1 if vert[c] else 2
            other = 3 - home
            if free[home]:
                tier, slot = home, heapq.heappop(free[home])
            elif spill and free[other]:
                tier, slot = other, heapq.heappop(free[other])
            else:
                heap = heaps[0] if spill else heaps[home]
                while True:
                    negk, b = heapq.heappop(heap)
                    if b in where and key[b] == -negk:
                        break
                victim = b
                tier, slot = where.pop(b)
                del key[b]
                evictions += 1
            where[c] = (tier, slot)
        freed = nr < 0
        if freed:
            # last use: the slot is released at once (a dead block is always the first to go)
            del where[c]
            key.pop(c, None)
            heapq.heappush(free[tier], slot)
            frees += 1
        else:
            k = nr * nb + c
            key[c] = k
            heapq.heappush(heaps[0] if spill else heaps[tier], (-k, c))
        if record:
            events.append(AccessEvent(r, c, outcome, tier, slot, victim, freed))
    return hits, misses, evictions, frees, row_misses, events


def _run_lru(lv: Liveness, capacity: int, record: bool):
    lru: OrderedDict[int, int] = OrderedDict()           # block -> slot, oldest first
    free = list(range(capacity))
    hits = misses = evictions = 0
    row_misses: list[list[int]] = [[] for _ in range(lv.nb)]
    events = [] if record else None
    for r, c in zip(lv.rows.tolist(), lv.blocks.tolist()):
        victim = -1
        if c in lru:
            lru.move_to_end(c)
            slot = lru[c]
            hits += 1
            outcome = HIT
        else:
            misses += 1
            row_misses[r].append(c)
            outcome = MISS
            if free:
                slot = heapq.heappop(free)
            else:
                victim, slot = lru.popitem(last=False)
                evictions += 1
            lru[c] = slot
        if record:
            events.append(AccessEvent(r, c, outcome, 1, slot, victim, False))
    return {1: hits, 2: 0}, misses, evictions, 0, row_misses, events


def _run_none(lv: Liveness, record: bool):
    row_misses: list[list[int]] = [[] for _ in range(lv.nb)]
    events = [] if record else None
    for r, c in zip(lv.rows.tolist(), lv.blocks.tolist()):
        row_misses[r].append(c)
        if record:
            events.append(AccessEvent(r, c, MISS, 0, -1, -1, False))
    return {1: 0, 2: 0}, lv.accesses, 0, 0, row_misses, events


def simulate_liveness(lv: Liveness, tier1_blocks: int, tier2_blocks: int, kv_block_bytes: int,
                      policy: str = "liveness", record: bool = False,
                      residency: Residency | None = None) -> CacheStats:
    """Run a policy on precomputed liveness tables (see :func:`simulate`).  ``residency``: the
    cache as an earlier run of the same KV group left it (updated in place; liveness and
    strict only)."""
    if not isinstance(lv, Liveness):
        raise ValueError(f"lv: must be a Liveness, got {type(lv).__name__}")
    t1 = _check_count(tier1_blocks, "tier1_blocks", 1)
    t2 = _check_count(tier2_blocks, "tier2_blocks", 1)
    kvb = _check_count(kv_block_bytes, "kv_block_bytes", 1)
    if policy not in POLICIES:
        raise ValueError(f"policy: must be one of {POLICIES}, got {policy!r}")
    if residency is not None and policy not in ("liveness", "strict"):
        raise ValueError(f"residency: policy {policy!r} does not keep blocks between runs")
    if policy in ("liveness", "strict"):
        res = _run_liveness(lv, t1, t2, spill=(policy == "liveness"), record=record,
                            residency=residency)
    elif policy == "lru":
        res = _run_lru(lv, t1 + t2, record)
    else:
        res = _run_none(lv, record)
    hits, misses, evictions, frees, row_misses, events = res
    return CacheStats(
        policy=policy, accesses=lv.accesses, hits_tier1=hits[1], hits_tier2=hits[2],
        misses=misses, hbm_bytes=misses * 2 * kvb,
        compulsory_bytes=lv.distinct_blocks * 2 * kvb, evictions=evictions, frees=frees,
        distinct_blocks=lv.distinct_blocks, tier1_blocks=t1, tier2_blocks=t2,
        kv_block_bytes=kvb, row_misses=row_misses,
        max_row_misses=max((len(x) for x in row_misses), default=0), groups=1, events=events)


def simulate(mask, vertical, tier1_blocks: int, tier2_blocks: int, kv_block_bytes: int,
             policy: str = "liveness", record: bool = False,
             window: int | None = None) -> CacheStats:
    """Simulate one KV group's stream through a cache policy.

    mask            bool [g, nb, nb], causal: the group's kept tiles per head.
    vertical        the group's vertical key blocks (home tier 1).
    tier1_blocks    tier 1 slots (>= 1);  tier2_blocks  tier 2 slots (>= 1).
                    "lru" uses one tier of their sum; "none" ignores them.
    kv_block_bytes  bytes of one K (or one V) block, B * D.
    policy          "liveness" (the design), "strict", "lru" or "none".
    record          keep a per-access AccessEvent log in ``events``.
    window          the index memory's entries (see :func:`liveness`; None: the whole stream).
    """
    return simulate_liveness(liveness(mask, vertical, window), tier1_blocks, tier2_blocks,
                             kv_block_bytes, policy, record)


def index_window(cfg: AcceleratorConfig) -> int:
    """The window of the cache built for ``cfg``: its index memory's entries."""
    return index_depth(cfg)


def simulate_pass(cfg: AcceleratorConfig, mask, vertical, heads: range, group: int,
                  residency: Residency | None = None):
    """One pass of the top over the query heads ``heads`` (a range of a layer's heads, inside
    one KV group of ``group`` heads), as the RTL cache runs it: a group's first pass starts
    empty, its last frees the blocks (``liveness(..., final)``), the ones between keep them.
    Returns (Liveness, CacheStats, the Residency to hand to the group's next pass)."""
    if residency is None or heads.start % group == 0:
        residency = new_residency(cfg.tier1_blocks, cfg.tier2_blocks)
    lv = liveness(mask, vertical, index_window(cfg), final=heads.stop % group == 0)
    st = simulate_liveness(lv, cfg.tier1_blocks, cfg.tier2_blocks, cfg.kv_block_bytes, "liveness",
                           residency=residency)
    return lv, st, residency


def simulate_passes(passes, tier1_blocks: int, tier2_blocks: int, kv_block_bytes: int,
                    window: int | None = None, record: bool = False) -> list[CacheStats]:
    """One KV group as the top runs it, in passes over some of its heads each: one cache run per
    pass (policy "liveness"), the blocks left resident from one pass to the next, and the last
    pass freeing them at their last use.

    passes   (mask [heads of the pass, nb, nb], vertical set of the pass) per pass, in order.
    window   the index memory's entries (see :func:`liveness`).
    Returns one CacheStats per pass (hits of a later pass include blocks an earlier one left).
    """
    passes = list(passes)
    if not passes:
        raise ValueError("passes: need at least one (mask, vertical) pass")
    res = new_residency(tier1_blocks, tier2_blocks)
    out = []
    for i, (m, v) in enumerate(passes):
        lv = liveness(m, v, window, final=i == len(passes) - 1)
        out.append(simulate_liveness(lv, tier1_blocks, tier2_blocks, kv_block_bytes, "liveness",
                                     record, residency=res))
    return out


# --------------------------------------------------------------------------
# layer level and tables
# --------------------------------------------------------------------------
def _group_inputs(pattern_mask, vertical_per_head, g: int, cfg: AcceleratorConfig):
    if not isinstance(cfg, AcceleratorConfig):
        raise ValueError(f"cfg: must be an AcceleratorConfig, got {type(cfg).__name__}")
    arr = _as_bool_array(pattern_mask, "pattern_mask")
    H, nb = arr.shape[0], arr.shape[-1]
    g = _check_count(g, "g", 1)
    if H % g:
        raise ValueError(f"g: H={H} heads of pattern_mask are not a multiple of g={g}")
    if nb > cfg.max_blocks:
        raise ValueError(f"pattern_mask: nb={nb} exceeds max_blocks={cfg.max_blocks} "
                         f"of config {cfg.name!r}")
    if isinstance(vertical_per_head, (str, bytes)) or not isinstance(vertical_per_head, Sequence) \
            or len(vertical_per_head) != H:
        raise ValueError(f"vertical_per_head: must be a list of {H} per-head vertical sets, "
                         f"got {type(vertical_per_head).__name__}"
                         + (f" of length {len(vertical_per_head)}"
                            if isinstance(vertical_per_head, Sequence) else ""))
    groups = []
    for k in range(H // g):
        vert: set[int] = set()
        for h in range(k * g, (k + 1) * g):
            vert.update(np.flatnonzero(_check_blocks(vertical_per_head[h], nb,
                                                     f"vertical_per_head[{h}]")).tolist())
        groups.append((arr[k * g:(k + 1) * g], sorted(vert)))
    return groups


def simulate_groups(pattern_mask, vertical_per_head, g: int, cfg: AcceleratorConfig,
                    policy: str = "liveness") -> list[CacheStats]:
    """Per-KV-group stats of one layer (query head h belongs to group h // g).

    pattern_mask       bool [H, nb, nb]; vertical_per_head  H per-head vertical sets;
    g                  query heads per KV head;  cfg  tier sizes and kv_block_bytes.
    """
    return [simulate(m, v, cfg.tier1_blocks, cfg.tier2_blocks, cfg.kv_block_bytes, policy,
                     window=index_window(cfg))
            for m, v in _group_inputs(pattern_mask, vertical_per_head, g, cfg)]


def simulate_layer(pattern_mask, vertical_per_head, g: int, cfg: AcceleratorConfig,
                   policy: str = "liveness") -> CacheStats:
    """One layer's stats: the sum over its KV groups (each group has its own cache run)."""
    parts = simulate_groups(pattern_mask, vertical_per_head, g, cfg, policy)
    total = parts[0]
    for p in parts[1:]:
        total = total + p      # a sum drops the per-group row lists
    return total


def _table(stats: dict[str, CacheStats]) -> dict:
    comp = stats["liveness"].compulsory_bytes
    out = {"compulsory": comp}
    for name, s in stats.items():
        out[name] = s.hbm_bytes
        out[f"{name}_ratio"] = s.ratio()
    return out


TABLE_POLICIES = ("none", "lru", "liveness")


def traffic_table(mask, vertical, cfg: AcceleratorConfig) -> dict:
    """HBM KV bytes of one KV group under "none", "lru" and "liveness", at cfg's tier sizes.

    Returns {"compulsory": bytes, "none": bytes, "lru": bytes, "liveness": bytes,
    "<policy>_ratio": bytes / compulsory}.
    """
    if not isinstance(cfg, AcceleratorConfig):
        raise ValueError(f"cfg: must be an AcceleratorConfig, got {type(cfg).__name__}")
    lv = liveness(mask, vertical, index_window(cfg))
    if lv.nb > cfg.max_blocks:
        raise ValueError(f"mask: nb={lv.nb} exceeds max_blocks={cfg.max_blocks} of config {cfg.name!r}")
    return _table({p: simulate_liveness(lv, cfg.tier1_blocks, cfg.tier2_blocks,
                                        cfg.kv_block_bytes, p) for p in TABLE_POLICIES})


def layer_traffic_table(pattern_mask, vertical_per_head, g: int, cfg: AcceleratorConfig) -> dict:
    """:func:`traffic_table` summed over the KV groups of one layer."""
    groups = _group_inputs(pattern_mask, vertical_per_head, g, cfg)
    stats = {}
    for p in TABLE_POLICIES:
        parts = [simulate(m, v, cfg.tier1_blocks, cfg.tier2_blocks, cfg.kv_block_bytes, p,
                          window=index_window(cfg)) for m, v in groups]
        total = parts[0]
        for s in parts[1:]:
            total = total + s
        stats[p] = total
    return _table(stats)


def vertical_slash_mask(nb: int, vertical: Sequence[Sequence[int]],
                        slash: Sequence[Sequence[int]]) -> torch.Tensor:
    """The plain block vertical-slash mask [len(vertical), nb, nb] from per-head index sets.

    Row r of head h keeps {c in vertical[h] : c <= r} U {r - k : k in slash[h], k <= r}.
    Used for synthetic patterns (long contexts without real tensors) and tests.
    """
    _check_count(nb, "nb", 1)
    if len(vertical) != len(slash) or not len(vertical):
        raise ValueError("vertical, slash: need one set per head, same number of heads (>= 1)")
    H = len(vertical)
    mask = torch.zeros(H, nb, nb, dtype=torch.bool)
    r = torch.arange(nb)
    for h in range(H):
        vflags = torch.from_numpy(_check_blocks(vertical[h], nb, f"vertical[{h}]"))
        sflags = _check_blocks(slash[h], nb, f"slash[{h}]")
        mask[h] |= vflags[None, :] & (r[None, :] <= r[:, None])
        for k in np.flatnonzero(sflags).tolist():
            rows = r[k:]
            mask[h, rows, rows - k] = True
    return mask


def synthetic_vertical_slash(nb: int, g: int, n_vertical: int, n_slash: int,
                             seed: int = 0) -> tuple[torch.Tensor, list[list[int]]]:
    """A synthetic KV group: per head, the sink plus n_vertical-1 random vertical blocks
    (skewed toward early blocks, as measured attention is), and the diagonal plus
    n_slash-1 random slash offsets (skewed toward small offsets).

    Returns (mask [g, nb, nb], vertical_per_head).  Deterministic in ``seed``.
    """
    _check_count(n_vertical, "n_vertical", 1)
    _check_count(n_slash, "n_slash", 1)
    gen = np.random.default_rng(seed)
    verts, slashes = [], []
    for _ in range(g):
        # sample without replacement with weights ~ 1/(1+i): heavy head near 0
        w = 1.0 / (1.0 + np.arange(1, nb))
        nv = min(n_vertical - 1, nb - 1)
        ns = min(n_slash - 1, nb - 1)
        v = gen.choice(np.arange(1, nb), size=nv, replace=False, p=w / w.sum()) if nv else []
        s = gen.choice(np.arange(1, nb), size=ns, replace=False, p=w / w.sum()) if ns else []
        verts.append(sorted({0, *map(int, v)}))
        slashes.append(sorted({0, *map(int, s)}))
    return vertical_slash_mask(nb, verts, slashes), verts
