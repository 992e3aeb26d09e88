"""Performance model: cycles of each unit, time, HBM traffic and energy of a whole prefill.

The model is analytic and cheap (no tensors): every unit is a cycle formula whose constants
come from RTL measurements where the RTL exists, and from the unit's ideal where it does not.
Each result carries a ``source`` label saying which.

Units (``cfg`` is an :class:`hdl.config.AcceleratorConfig`):

``mpu_stream_cycles(cfg, beats)``
    beats streamed through the MPU (QK or PV): ``beats / MPU_EFFICIENCY``.  Calibrated by
    ``fast-prefill bench mpu`` (1.000 of peak: one beat per cycle).
``attention_engine_cycles(cfg, tiles_per_row)``
    rows streamed back to back through ``hdl/attention/engine.py``: each kept tile costs
    ``2B + tile_gap(B)`` cycles, a row at least ``2B + ROW_MIN_EXTRA``, plus one pipeline fill
    and drain ``2B + FILL_EXTRA``.  Calibrated on the RTL at B = 16 and B = 8 (docs/performance.md).
``gemm_cycles(cfg, M, K, N)``
    a linear layer ``[M, K] @ [K, N]`` on the MPU in QK mode: an R x D tile of activations is
    held (R load beats), the N weight columns stream through (N beats), partial sums over the
    K / D chunks are added outside the array.  Projected (no GEMM RTL yet).
``index_generator_cycles(cfg, L, g, kept=None, lanes=None)``
    one KV group of ``hdl/index/sig.py``: two K passes through ``lanes`` resident Q_last blocks
    (one key row per ``ceil(8D / bus)`` cycles), the fixed costs and the selection.
    Calibrated on the RTL (ci preset, several lengths and group sizes: tests/test_perf.py).

The accelerator top (hdl/top/fast_prefill_top.py), one layer:

``top_layer_cycles(cfg, golden, seq_len, heads, kv_heads, hbm_latency=30, pooled=True,
inflight=BENCH_HBM_INFLIGHT)`` -> dict
    the top's counters (cnt_cycles, cnt_sig_cycles, cnt_attn_cycles, other) from the golden
    pattern: per KV group in sequence ``group_phase_cycles`` (code load, index generator, the
    pooled means load, index dump) and ``attention_group_cycles`` (set load, row stream, the
    cache's liveness pass, the accesses simulated on golden.cache_sim's decisions with the
    miss, Q and O port timing).  Calibrated on the RTL top at ci within 1.7 % on 27 runs
    (``fast-prefill bench calibrate``: tb/benchmarks/calibrate.py, docs/performance.md section 2,
    tests/test_perf.py).

Platforms:

``FpgaPlatform``  the U280 around a config: HBM (32 pseudo-channels x 14.375 GB/s times an
                  efficiency factor), clock, board power, DSP / LUT budgets for the roofline.
``GpuSpec``       a GPU's published peaks (dense FP16 tensor FLOP/s, memory bandwidth, board
                  power); ``A5000`` from NVIDIA's RTX A5000 datasheet.

Whole model:

``ModelShape``, ``MODELS``           Llama-3.1-8B, Qwen2.5-7B, SmolLM2-135M.
``fpga_prefill(platform, shape, L, density, kv_bytes_per_layer=None, group=None, pooled=None)``
    -> ``PrefillEstimate``: linear layers on the MPU, then the top's phases per KV group on a
    (synthetic, ``synthetic_group``) representative group.
``gpu_prefill(gpu, shape, L, density, eff)`` -> ``PrefillEstimate``
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

from hdl.cache import kv_cache
from hdl.cache.out import WORD_QUEUE_DEPTH
from hdl.config import PRESETS, AcceleratorConfig, ConfigError, num_blocks
from hdl.group import lane
from hdl.index import params as index_params
from hdl.top.shell import idx_header_words, layout

# ---------------------------------------------------------------- calibration constants
#: MPU beats per cycle with no idle and no backpressure (``fast-prefill bench mpu``: 1.000).
MPU_EFFICIENCY = 1.0
#: Attention engine: extra cycles per kept tile beyond its 2B MPU beats, by block size.
#: 0 since the QK issue takes the next tile's descriptor while the current tile issues
#: (hdl/attention/qk_issue.py): the engine grid of docs/performance.md section 1 (9 runs at
#: B = 16 and 9 at B = 8) fits ``2B T + fill`` exactly for rows of 2 or more tiles.  It was 2 at
#: B = 16 and B = 8 with a cycle of descriptor take and one of tile-scale set-up per tile.
TILE_GAP = {8: 0, 16: 0}
TILE_GAP_DEFAULT = 0
#: Attention engine: extra cycles per (head, query block) row beyond its tiles (grid: 0 at
#: B = 16 and B = 8; it was 10 before the descriptors were taken one ahead).
ROW_OVERHEAD = 0
#: Attention engine: a row takes at least 2B + ROW_MIN_EXTRA cycles (its QK-to-PV latency shows
#: on one-tile rows; grid, rows of 1 tile: 35.5 cycles at B = 16, 24.5 at B = 8).
ROW_MIN_EXTRA = {8: 8, 16: 4}
ROW_MIN_EXTRA_DEFAULT = 4
#: The same row inside grp_attn, whose lane takes a finished row's O into its row FIFO at one
#: engine row per cycle (hdl/group/lane.py): fitted on the ci calibration runs and u280
#: (0: within 0.8 % at ci, 1.0 % at u280; 2: 0.8 / 0.8 %).
GROUP_ROW_OVERHEAD = 2
#: Attention engine: one pipeline fill + drain per stream of rows is 2B + FILL_EXTRA, by block
#: size (grid: 55 cycles at B = 16, 47 at B = 8).
FILL_EXTRA = {8: 31, 16: 23}
FILL_EXTRA_DEFAULT = 23
#: Index generator (hdl/index/sig.py): HBM latency of its bench, the last tile's drain beyond B
#: (divider and exp pipeline), pipeline stages, and the kept fraction of nb that the
#: selection pops (SmolLM2 at gamma 0.95: 46/64 and 94/128).  Calibrated: tests/test_perf.py.
SIG_HBM_LATENCY = 30
SIG_DRAIN_EXTRA = 25
SIG_PIPELINE = 8
SIG_KEPT_FRACTION = 0.73
#: HBM model of the simulation benches (tb.kit.hbm over cocotbext-axi's AxiRamRead):
#: it takes an AR into a 2-entry queue and serves one burst at a time, so at most 3 bursts per
#: port are in flight; each waits the latency from its AR handshake.  Found at ci: the index
#: generator's and sig_pool's loads grow by ~(latency / 3) per block from latency 30 to 100.
BENCH_HBM_INFLIGHT = 3
#: Cycles between a burst's last beat and the next burst's service (fitted at ci, latency 100).
HBM_AR_GAP = 0
#: Read bursts the index generator / sig_pool keep in flight (what a real HBM port takes; the
#: evaluation uses it).
SIG_MAX_OUTSTANDING = index_params.MAX_OUTSTANDING
#: The cache's fetch bursts in flight (hdl/cache/dma.py).
KV_MAX_OUTSTANDING = kv_cache.BURSTS

# ---------------------------------------------------------------- U280 and A5000 facts
HBM_CHANNELS = 32
HBM_CHANNEL_GBPS = 14.375          # GB/s per pseudo-channel (460 GB/s in total)
HBM_EFFICIENCY = 425.0 / 460.0     # 425 GB/s measured by others on the U280 (docs/performance.md)
U280_DSP = 9024
U280_LUT = 1_303_680
U280_SHELL_LUT = 108_000
U280_BOARD_POWER_W = 225.0         # Alveo U280 data sheet DS963: card maximum power
DSP_MACS = 2.0                     # int8 MACs per DSP48E2 with packing (docs/area.md: 0.50 DSP/MAC)
LUT_PER_MAC = 92.7                 # all-LUT MPU (Booth cells), whole array logic per MAC (docs/area.md, 16x16: 23,730 LUT)


def _pos(value, name: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0 \
            or math.isinf(value):
        raise ValueError(f"{name}: must be a positive finite number, got {value!r}")
    return float(value)


def _count(value, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: must be an integer >= {minimum}, got {value!r}")
    return value


def _check_cfg(cfg) -> AcceleratorConfig:
    if not isinstance(cfg, AcceleratorConfig):
        raise ValueError(f"cfg: must be an AcceleratorConfig, got {type(cfg).__name__}")
    return cfg


def _check_density(density) -> float:
    if isinstance(density, bool) or not isinstance(density, (int, float)) \
            or not 0.0 < density <= 1.0:
        raise ValueError(f"density: must lie in (0, 1], got {density!r}")
    return float(density)


# ---------------------------------------------------------------- unit cycle models
def mpu_stream_cycles(cfg: AcceleratorConfig, beats: int) -> int:
    """Cycles to stream ``beats`` QK or PV beats through the MPU at full rate."""
    _check_cfg(cfg)
    _count(beats, "beats")
    return math.ceil(beats / MPU_EFFICIENCY)


def tile_gap(block: int) -> int:
    """Extra engine cycles per kept tile at block size ``block`` (see TILE_GAP)."""
    return TILE_GAP.get(block, TILE_GAP_DEFAULT)


def _fill_extra(block: int) -> int:
    return FILL_EXTRA.get(block, FILL_EXTRA_DEFAULT)


def engine_row_cycles(block: int, tiles: int) -> int:
    """Engine cycles of one (head, query block) row of ``tiles`` kept tiles in a stream."""
    per_tile = 2 * block + tile_gap(block)
    floor = 2 * block + ROW_MIN_EXTRA.get(block, ROW_MIN_EXTRA_DEFAULT)
    return max(tiles * per_tile, floor) + ROW_OVERHEAD


def attention_engine_cycles(cfg: AcceleratorConfig, tiles_per_row: Sequence[int]) -> int:
    """Cycles of the attention engine for (head, query block) rows sent back to back.

    tiles_per_row  kept tiles of each row (>= 1: the diagonal is always kept), in stream order.
    Counted like ``fast-prefill bench attention``: first input beat to last output beat.
    """
    _check_cfg(cfg)
    rows = list(tiles_per_row)
    if not rows:
        raise ValueError("tiles_per_row: need at least one row")
    for i, t in enumerate(rows):
        _count(t, f"tiles_per_row[{i}]", 1)
    B = cfg.block
    return sum(engine_row_cycles(B, t) for t in rows) + 2 * B + _fill_extra(B)


def attention_layer_cycles(cfg: AcceleratorConfig, heads: int, seq_len: int, density: float) -> float:
    """Engine cycles of one layer: ``heads`` heads, nb rows each, ``density`` of the causal tiles."""
    _check_cfg(cfg)
    _count(heads, "heads", 1)
    _count(seq_len, "seq_len", 1)
    d = _check_density(density)
    B = cfg.block
    nb = num_blocks(seq_len, B)
    tiles = max(float(nb), d * nb * (nb + 1) / 2)          # at least the diagonal
    return heads * (tiles * (2 * B + tile_gap(B)) + nb * ROW_OVERHEAD) + 2 * B + _fill_extra(B)


def gemm_cycles(cfg: AcceleratorConfig, M: int, K: int, N: int) -> int:
    """Cycles of ``[M, K] @ [K, N]`` on the R x D MPU (QK mode, activations stationary)."""
    _check_cfg(cfg)
    for v, n in ((M, "M"), (K, "K"), (N, "N")):
        _count(v, n, 1)
    R, D = cfg.mpu_rows, cfg.head_dim
    return math.ceil(M / R) * math.ceil(K / D) * (mpu_stream_cycles(cfg, N) + R)


def _row_beats(cfg: AcceleratorConfig) -> tuple[int, int]:
    """(AXI beats per int8 key row, key rows per beat) on the config's bus."""
    row_bits = 8 * cfg.head_dim
    return max(1, -(-row_bits // cfg.axi_data_bits)), max(1, cfg.axi_data_bits // row_bits)


def hbm_read_beat_rate(cfg: AcceleratorConfig) -> float:
    """Read beats per kernel cycle one m_axi port gets from its HBM pseudo-channel: 1 while a
    beat per cycle is within the channel's HBM_CHANNEL_GBPS, less on a wider or faster port
    (0.75 for 512 bits at 300 MHz).  The simulation benches' HBM model paces its R channel
    by the same figure (tb.kit.host_sim.beat_rate)."""
    return min(1.0, HBM_CHANNEL_GBPS * 1e9 / (cfg.axi_bytes * cfg.clock_mhz * 1e6))


def _stream_cycles(rows_cycles: float, bursts: int, burst_beats: int, hbm_latency: int,
                   inflight: int, rate: float = 1.0) -> float:
    """Cycles to consume ``bursts`` reads of ``burst_beats`` beats: the consumer's own pace
    (``rows_cycles``) or the channel's (beats / ``rate``), unless the port's bursts in flight
    cannot cover the latency, then ``(latency + beats / rate + HBM_AR_GAP) / inflight`` per burst."""
    return max(float(rows_cycles), bursts * burst_beats / rate,
               bursts * (hbm_latency + burst_beats / rate + HBM_AR_GAP) / inflight)


def index_generator_cycles(cfg: AcceleratorConfig, seq_len: int, group: int, kept: int | None = None,
                           hbm_latency: int = SIG_HBM_LATENCY, lanes: int | None = None,
                           inflight: int = BENCH_HBM_INFLIGHT) -> int:
    """Cycles of ``hdl/index/sig.py`` (scorer + selection) for one KV group of ``group`` query heads.

    The RTL holds the Q_last block of up to ``lanes`` heads (default cfg.lanes, one B x D
    MPU each) and streams K through them twice, one key row per ``ceil(8D / axi_data_bits)``
    cycles, one read burst per K block; when ``inflight`` bursts cannot cover the HBM latency
    a pass takes ``nb (latency + block beats + HBM_AR_GAP) / inflight`` instead
    (``inflight``: BENCH_HBM_INFLIGHT for the simulation benches' HBM model,
    SIG_MAX_OUTSTANDING for an HBM that takes every burst the unit issues);
    ``lanes`` < group repeats both passes per round of heads (a smaller build).
    Fixed costs: the Q_last load, two HBM latencies, the last tile's drain and divider
    (B + 25) and the pipeline (8).  Selection: the pop of the slowest vector's ``kept``
    entries (default SIG_KEPT_FRACTION of nb, measured on SmolLM2 at gamma 0.95) plus an
    nb-cycle scan and 3.  Calibrated on the RTL: tests/test_perf.py.
    """
    _check_cfg(cfg)
    _count(seq_len, "seq_len", 1)
    _count(group, "group", 1)
    lanes = cfg.lanes if lanes is None else _count(lanes, "lanes", 1)
    _count(inflight, "inflight", 1)
    B = cfg.block
    nb = num_blocks(seq_len, B)
    beats_per_row, rows_per_beat = _row_beats(cfg)
    block_beats = -(-B * beats_per_row // rows_per_beat)
    rounds = -(-group // lanes)
    per_round = (2 * _stream_cycles(seq_len * beats_per_row, nb, block_beats, hbm_latency,
                                    inflight, hbm_read_beat_rate(cfg))        # two K passes
                 + -(-min(group, lanes) * B // rows_per_beat) * beats_per_row  # Q_last load
                 + 2 * hbm_latency + B + SIG_DRAIN_EXTRA + SIG_PIPELINE)
    kept = math.ceil(SIG_KEPT_FRACTION * nb) if kept is None else _count(kept, "kept")
    return round(rounds * per_round) + kept + nb + 3


def pooled_row_cycles(cfg: AcceleratorConfig, seq_len: int, group: int,
                      hbm_latency: int = SIG_HBM_LATENCY,
                      inflight: int = BENCH_HBM_INFLIGHT) -> tuple[int, int]:
    """Cycles of ``hdl/index/pool.py`` for one KV group: (block-means load, all rows back to back).

    The load reads K and the group's Q rows, one row per ``ceil(8D / bus)`` cycles, one burst
    per block (latency-bound like the index generator's passes when ``inflight`` bursts do
    not cover the latency); row r then costs ``2 (r + 1) + 12`` cycles, every head in
    parallel (measured at ci: 2085 and 1476 cycles at 512 tokens, g = 3, docs/sig.md).
    """
    _check_cfg(cfg)
    _count(seq_len, "seq_len", 1)
    _count(group, "group", 1)
    _count(inflight, "inflight", 1)
    lat = _count(hbm_latency, "hbm_latency")
    nb = num_blocks(seq_len, cfg.block)
    beats_per_row, rows_per_beat = _row_beats(cfg)
    block_beats = -(-cfg.block * beats_per_row // rows_per_beat)
    load = round(_stream_cycles((group + 1) * seq_len * beats_per_row, (group + 1) * nb,
                                block_beats, lat, inflight, hbm_read_beat_rate(cfg))) + 2 * lat
    rows = nb * (nb + 1) + 12 * nb
    return load, rows


# ---------------------------------------------------------------- the accelerator top, one layer
#: Top (hdl/top/fast_prefill_top.py, hdl/top/sched.py) structure constants.  Read off the RTL's FSMs
#: (named after the state they count) or measured once on the RTL at ci (tests/test_perf.py,
#: docs/performance.md "Calibration of the layer model"); the RTL's sizes are its own constants:
TOP_CHECK = 5            # accept, two check cycles (+1 wait), FIN: once per run (top_sched)
TOP_GROUP_FIXED = 4      # per KV group: S_GRP, S_LDW, S_NEXT, the start handshakes (fitted at ci)
TOP_IDX_HEAD = 4         # index dump per head: rd_head held two cycles, sizes, the segment switch
TOP_IDX_SEG = 2          # index dump per segment (header, vertical, slash): command + the last beat
#: grp_attn (hdl/group/grp_attn.py, hdl/group/rows.py, hdl/cache/kv_cache.py)
ATT_FIXED = 8            # S_CLEAR, S_GO, the RUN check (cwait 3) and the start of the cache
ROW_SCAN = 2             # builder A per row beyond the r + 1 blocks it scans (the down scan, row end)
#: sig_pool's row pipeline (hdl/index/pool_rows.py) as the provider (hdl/group/pool_provider.py)
#: drives it, one row in each stage: the front of row r is its score sweep (r + 1) and
#: POOL_SCORE_WAIT, then (once the back is free) its exp sweep (r + 1) and POOL_EXP_WAIT; the
#: provider starts the next row POOL_ISSUE cycles after the front is free; the back pops the
#: row's kept blocks and publishes POOL_BACK cycles later; the provider copies the g heads' rows
#: (POOL_COPY each) and serves the waiting builder POOL_SERVE cycles later.
POOL_SCORE_WAIT = 5
POOL_EXP_WAIT = 6
POOL_ISSUE = 2
POOL_BACK = 4
POOL_COPY = 2            # provider: cycles per head to copy sig_pool's output row (address held 2)
POOL_SERVE = 2
POOL_LEAD = 4            # the provider starts at go: the set load and the RUN check before the scan
CACHE_SERVE_DEPTH = kv_cache.SERVE_DEPTH     # decisions the cache runs ahead of its output
CACHE_DECIDE = 2         # cycles per cache decision (+ ceil(slots / search width) with a victim)
CACHE_SEARCH_WIDTH = kv_cache.SEARCH_WIDTH   # slots the victim search compares per cycle
CACHE_OUT_QUEUE = WORD_QUEUE_DEPTH           # slot words read ahead into the output queue
ACCESS_GAP = 0           # cache output cycles per access beyond its 2B rows (x row beats)
MISS_EXTRA = 4           # a fetch beyond latency + 2 KW beats before the slot may be read
ATT_TAIL = 40            # a row's last K/V row to its first O word: the last PV, the normalisation
O_FIFO_WORDS = lane.o_fifo_depth   # (cfg) bus words of O a lane buffers before m_axi_o
ENGINE_O_ROWS = 1        # finished rows whose O an engine holds while it computes the next one
O_BURST = lane.o_max_burst         # (cfg) beats of grp_attn's O bursts at most, per lane
Q_FIFO_BLOCKS = lane.Q_FIFO_BLOCKS  # Q blocks a lane holds: prefetched at start, then on credit
O_BURST_OVERHEAD = 2     # its write master per burst: the pick (OI) and the AW handshake (OA)


def cache_index_depth(cfg: AcceleratorConfig) -> int:
    """Entries of the cache's index memory (hdl.cache.kv_cache.index_depth: the dense count at
    max_seq_len capped at 64 nb_max, a power of two, unless cfg.cache_index_entries): a KV
    group's stream with more accesses runs in windows of this many."""
    return kv_cache.index_depth(_check_cfg(cfg))


class _ReadPort:
    """One AXI read port of the HBM: bursts served in order at one beat per cycle, each no
    sooner than ``lat`` after its AR; an AR is taken once the burst ``inflight`` places ahead
    has been served (the benches' HBM model: a 2-entry AR queue plus the burst in service)."""

    def __init__(self, lat: int, inflight: int):
        self.lat, self.k = lat, inflight
        self.ends: list[float] = []

    def burst(self, t: float, beats: int, not_before: float = 0.0) -> float:
        """Request a burst at ``t`` whose beats cannot be taken before ``not_before`` (the
        consumer holds them back); returns the cycle its last beat arrives."""
        n = len(self.ends)
        ar = t if n < self.k else max(t, self.ends[n - self.k])
        start = max(ar + self.lat, self.ends[-1] if self.ends else 0.0, not_before)
        self.ends.append(start + beats)
        return self.ends[-1]


def _np_mask(mask):
    import numpy as np
    if hasattr(mask, "numpy"):
        mask = mask.detach().cpu().numpy()
    return np.asarray(mask, dtype=bool)


def pooled_scan_cycles(kept_per_row: Sequence[int], g: int, lead: int = 0) -> int:
    """Cycles of builder A's scan with the pooled rows: row r is scanned (``r + 1 + ROW_SCAN``
    cycles) once the provider hands it over, and the provider keeps sig_pool's two stages busy
    with rows ahead of the builder (the constants above).  ``kept_per_row``: the blocks each
    row's selectors pop (at most the row's kept tiles); ``g``: heads copied per row; ``lead``:
    cycles the rows run before the builder starts (the set load: the provider starts at the
    run's go).  Counted from the builder's start."""
    _count(g, "g", 1)
    _count(lead, "lead")
    start = 0                       # the row's pr_start is taken at the end of this cycle
    back_free = copy_end = taken = ack = 0
    req = lead                      # builder A asks for row r
    for r, kept in enumerate(kept_per_row):
        exp_start = max(start + (r + 1) + POOL_SCORE_WAIT, back_free)
        front_end = exp_start + (r + 1) + POOL_EXP_WAIT
        start = front_end + POOL_ISSUE
        done = max(front_end + kept + POOL_BACK, copy_end + 1)      # pr_hold: the copy before
        back_free = done
        copy_end = max(done + 1, taken) + POOL_COPY * g
        ack = max(copy_end, req) + POOL_SERVE
        taken = ack
        req = ack + r + 1 + ROW_SCAN
    return req - lead


def attention_group_cycles(cfg: AcceleratorConfig, mask, vertical_union, set_sizes,
                           hbm_latency: int = SIG_HBM_LATENCY, pooled: bool = False,
                           inflight: int = BENCH_HBM_INFLIGHT, residency=None,
                           group_end: bool = True) -> dict:
    """Cycles of ``hdl/group/grp_attn.py`` for one KV group (``cnt_attn_cycles`` of the group).

    mask            bool [g, nb, nb]: the group's heads' kept tiles (the golden pattern).
    vertical_union  the group's vertical key blocks (union over its heads; the cache's tier 1).
    set_sizes       per head (vertical count, slash count): the set load.
    hbm_latency     cycles from a burst's address to its first beat (the bench's HBM model).
    pooled          row_guard: builder A waits for sig_pool's row r before scanning row r.
    residency, group_end   a pass of a KV group that runs in several (golden.cache_sim
                    Residency: what the group's earlier passes left in the cache, updated;
                    group_end: the group's last pass), as the top runs it.

    Structure (one phase after the other): the set load (``2 (1 + max(nv, ns))`` per head);
    builder A's whole stream into the cache (row r: ``r + 1 + ROW_SCAN`` cycles, or with
    ``pooled`` as sig_pool's row pipeline hands the rows over, ``pooled_scan_cycles``, the
    pops bounded by the row's kept tiles); the end of the cache's liveness windows (one cycle
    per key block each); then the accesses in stream order: each costs its rows (2B rows, one per cycle:
    a tier-memory word holds a whole row) or, when the row's busiest engine is slower (its tiles x
    (2B + tile_gap) + GROUP_ROW_OVERHEAD), that engine's share; a miss's K/V fetch (golden.cache_sim,
    policy "liveness") starts once the cache has decided it (decisions run up to 64 accesses
    ahead, 2 cycles each, plus the victim search), the DMA is free and the victim's last read
    is done, and its access's K rows wait for latency + KW beats, its V rows for the V block's
    KW beats more; a row's O (g B D int32) leaves
    through m_axi_o at one beat per cycle, and a row waits while the O of the row
    ENGINE_O_ROWS + 1 before it has not left the lanes' FIFOs; then the tail (the last
    row's O and its write response).
    Returns {"cycles", "load", "prefix", "backward", "stream", "stall", "tail", "accesses",
    "misses"}.
    """
    import numpy as np

    from golden.cache_sim import index_window, liveness, simulate_liveness

    _check_cfg(cfg)
    m = _np_mask(mask)
    if m.ndim != 3 or m.shape[1] != m.shape[2]:
        raise ValueError(f"mask: must be bool [g, nb, nb], got shape {tuple(m.shape)}")
    g, nb = m.shape[0], m.shape[1]
    lat = _count(hbm_latency, "hbm_latency")
    B, D, bus = cfg.block, cfg.head_dim, cfg.axi_bytes
    kw = -(-B * D // bus)                            # bus beats of one K (or V) block
    kw_mem = B * D // max(bus, D)                    # tier-memory words of one (a row or more)
    slots = cfg.tier1_blocks + cfg.tier2_blocks
    if len(set_sizes) != g:
        raise ValueError(f"set_sizes: need one (nv, ns) per head ({g}), got {len(set_sizes)}")
    load = sum(2 * (1 + max(nv, ns)) for nv, ns in set_sizes if nv or ns)
    tiles_hr = m.sum(axis=2)                         # [g, nb] kept tiles per head and row
    r_idx = np.arange(nb)
    if pooled:
        prefix = pooled_scan_cycles(tiles_hr.max(axis=0).tolist(), g, load + POOL_LEAD)
    else:
        prefix = int((r_idx + 1 + ROW_SCAN).sum())
    lv = liveness(m, sorted(vertical_union), index_window(cfg), final=group_end)
    st = simulate_liveness(lv, cfg.tier1_blocks, cfg.tier2_blocks, cfg.kv_block_bytes,
                           "liveness", record=True, residency=residency)
    n = lv.accesses
    # the cache's liveness unit finds next uses as the stream loads; each window then ends with
    # one cycle per key block for the blocks' last entries (hdl/cache/liveness.py)
    backward = nb * max(1, -(-n // index_window(cfg)))
    prefix_done = load + prefix + backward          # the accesses' times below count from here
    # per row: the cache's rows, or the busiest engine of the row when it is slower
    union_r = m.any(axis=0).sum(axis=1)
    cache_r = union_r * (2 * B + ACCESS_GAP)         # a K or V row per cycle out of the cache
    eng_r = tiles_hr.max(axis=0) * (2 * B + tile_gap(B)) + GROUP_ROW_OVERHEAD
    per_acc = np.where(union_r > 0, np.maximum(cache_r, eng_r) / np.maximum(union_r, 1), 0.0).tolist()
    rows = lv.rows.tolist()
    blocks = lv.blocks.tolist()
    kvp = _ReadPort(lat, min(inflight, KV_MAX_OUTSTANDING))
    qp = _ReadPort(lat, inflight)
    q_beats = -(-B * D // bus)
    q_ready = {}
    row_end = {}
    for r in range(Q_FIFO_BLOCKS):                   # the lanes fill their Q FIFOs at start
        if r < nb:
            q_ready[r] = max(qp.burst(0.0, q_beats) for _ in range(g))
    last_read = {}                                   # block -> index of its latest access
    out_start = [0.0] * n
    ends = [0.0] * n
    t = 0.0                                          # end of the previous access's output
    dec = dma = stall = 0.0
    search = -(-slots // CACHE_SEARCH_WIDTH)
    word_cycles = B / kw_mem                         # output cycles per slot word
    # O: a row's g x B x D int32 leave through m_axi_o at one beat per cycle after the row's
    # last K/V row; the next rows may start while up to ENGINE_O_ROWS rows of O wait in the
    # engines and the lanes' O FIFOs
    o_words = -(-B * 4 * D // bus)                   # one lane's O words of a row
    o_beats = g * (o_words + O_BURST_OVERHEAD * -(-o_words // O_BURST(cfg)))
    o_fifo = O_FIFO_WORDS(cfg)
    o_end = 0.0
    o_done = {}
    for i, ev in enumerate(st.events):
        r = rows[i]
        dec = max(dec + CACHE_DECIDE + (search if ev.victim >= 0 else 0),
                  out_start[i - CACHE_SERVE_DEPTH] if i >= CACHE_SERVE_DEPTH else 0.0)
        ready = t
        if i == 0 or rows[i - 1] != r:               # a new row: its Q block must be in
            if i > 0:
                o_end = max(o_end, t + ATT_TAIL) + o_beats
                o_done[rows[i - 1]] = o_end
            if r >= Q_FIFO_BLOCKS and r not in q_ready:
                # the lane asks for block r once the engine took block r - Q_FIFO_BLOCKS out of
                # its Q FIFO, at the start of that row (hdl/group/lane.py's credits)
                asked = row_end.get(r - Q_FIFO_BLOCKS - 1, 0.0) + prefix_done
                q_ready[r] = max(qp.burst(asked, q_beats) for _ in range(g))
            ready = max(ready, q_ready.get(r, 0.0) - prefix_done)
            held = r - 1 - ENGINE_O_ROWS
            if held in o_done:
                ready = max(ready, o_done[held] - g * o_fifo)
        if ev.outcome == "miss":
            # hdl/cache/dma.py takes the fetches in decision order and starts one only once its
            # slot's previous occupant has been read out (served >= thr)
            issue = max(dec, dma)
            if ev.victim >= 0 and ev.victim in last_read:
                # served: the victim's last word left the slot for the output queue
                issue = max(issue, ends[last_read[ev.victim]] - word_cycles * CACHE_OUT_QUEUE)
            dma = issue
            # the K rows leave once the K block is in (hdl/cache/out.py), the V rows once the
            # V block is in too
            ready = max(ready, kvp.burst(issue, kw) + MISS_EXTRA)
            v_in = kvp.burst(issue, kw) + MISS_EXTRA
        else:
            v_in = 0.0
        if ready > t:
            stall += ready - t
        out_start[i] = max(t, ready)
        t = out_start[i] + per_acc[r]
        if v_in + per_acc[r] / 2 > t:
            stall += v_in + per_acc[r] / 2 - t
            t = v_in + per_acc[r] / 2
        ends[i] = t
        row_end[r] = t
        last_read[blocks[i]] = i
    stream = t - stall
    o_end = max(o_end, t + ATT_TAIL) + o_beats       # the last row's O, then its last B
    tail = o_end + lat - t
    total = ATT_FIXED + prefix_done + t + tail
    return {"cycles": float(total), "load": load, "prefix": prefix, "backward": backward,
            "stream": float(stream), "stall": float(stall), "tail": tail, "accesses": n,
            "misses": st.misses}


def group_phase_cycles(cfg: AcceleratorConfig, mask, vertical_union, set_sizes, seq_len: int,
                       hbm_latency: int = SIG_HBM_LATENCY, pooled: bool = True,
                       inflight: int = BENCH_HBM_INFLIGHT, residency=None,
                       group_end: bool = True) -> dict:
    """The phases of one KV group in the top, in the order they run (hdl/top/sched.py).

    mask [g, nb, nb], vertical_union, set_sizes, residency, group_end as
    :func:`attention_group_cycles`.
    Returns {"codes", "sig", "dump", "other" (= codes + dump + TOP_GROUP_FIXED), "attn" (the
    dict of attention_group_cycles)}: the scale-code load ((g + 1) nbp words, one per cycle,
    a beat per WPB + 1 cycles, one HBM latency), the index generator
    (:func:`index_generator_cycles` with the group's largest set) and with ``pooled``
    sig_pool's means load (:func:`pooled_row_cycles`) (both in cnt_sig_cycles), the index dump
    (per head the header's beats and the sets rounded up to whole beats, one entry per cycle, a
    beat handed over in one more), the attention.
    """
    _check_cfg(cfg)
    L = _count(seq_len, "seq_len", 1)
    lat = _count(hbm_latency, "hbm_latency")
    g = len(set_sizes)
    nb = num_blocks(L, cfg.block)
    wpb = cfg.axi_bytes // 4
    nbp = layout(cfg, L, g, 1).nbp                  # codes per head, whole beats
    kept = max(max(s) for s in set_sizes)
    sig = index_generator_cycles(cfg, L, g, kept=min(kept, nb), hbm_latency=lat, inflight=inflight)
    if pooled:
        sig += pooled_row_cycles(cfg, L, g, hbm_latency=lat, inflight=inflight)[0]
    codes = (g + 1) * nbp // wpb * (wpb + 1) + lat
    header = idx_header_words(cfg.axi_bytes) * 4 // cfg.axi_bytes
    beats = [header + -(-nv // wpb) + -(-ns // wpb) for nv, ns in set_sizes]
    # the write responses of the dump overlap the last beats: no latency of its own
    dump = sum(TOP_IDX_HEAD + b * (wpb + 1) + 3 * TOP_IDX_SEG for b in beats)
    att = attention_group_cycles(cfg, mask, vertical_union, set_sizes, lat, pooled, inflight,
                                 residency, group_end)
    return {"codes": codes, "sig": sig, "dump": dump, "other": TOP_GROUP_FIXED + codes + dump,
            "attn": att}


def top_layer_cycles(cfg: AcceleratorConfig, golden: dict, seq_len: int, heads: int,
                     kv_heads: int, hbm_latency: int = SIG_HBM_LATENCY, pooled: bool = True,
                     inflight: int = BENCH_HBM_INFLIGHT) -> dict:
    """Cycles of ``hdl/top/fast_prefill_top.py`` for one layer, named like the top's counters.

    golden        what the golden side knows before the run: a dict with ``pattern`` (a
                  golden.pattern.Pattern: mask [H, nb, nb], per-head vertical / slash sets), as
                  ``tb.benchmarks.top.golden_for`` returns it.
    seq_len, heads, kv_heads   L, H, Hkv (g = H / Hkv heads per KV group).
    hbm_latency   cycles from a burst's address to its first beat.
    pooled        row_gamma on (``row_gamma_code`` != 0): sig_pool's means load after the index
                  generator and the pooled rows in the attention phase.

    inflight      read bursts a port keeps in flight (BENCH_HBM_INFLIGHT: the benches' HBM model).

    The argument checks once (TOP_CHECK), then per KV group, one after the other, and per pass
    over its heads (``cfg.head_passes(g)``: ``cfg.lanes`` heads at a time) the phases of
    :func:`group_phase_cycles` (codes, index generator + means load, index dump, attention).
    Returns {"cnt_cycles", "cnt_sig_cycles", "cnt_attn_cycles", "other", "groups": [one per pass]}.
    """
    _check_cfg(cfg)
    L = _count(seq_len, "seq_len", 1)
    H = _count(heads, "heads", 1)
    Hkv = _count(kv_heads, "kv_heads", 1)
    if H % Hkv:
        raise ValueError(f"heads: {H} is not a multiple of kv_heads {Hkv}")
    lat = _count(hbm_latency, "hbm_latency")
    if not isinstance(golden, dict) or "pattern" not in golden:
        raise ValueError("golden: need a dict with 'pattern' (tb.benchmarks.top.golden_for)")
    pat = golden["pattern"]
    m = _np_mask(pat.mask)
    nb = num_blocks(L, cfg.block)
    if m.shape != (H, nb, nb):
        raise ValueError(f"golden: pattern mask has shape {tuple(m.shape)}, expected {(H, nb, nb)}")
    groups = []
    tot = {"cnt_sig_cycles": 0, "cnt_attn_cycles": 0, "other": TOP_CHECK}
    from golden.cache_sim import new_residency

    g = H // Hkv
    residency = None
    for hs in cfg.layer_passes(H, Hkv):
        sizes = [(len(pat.vertical[h]), len(pat.slash[h])) for h in hs]
        vert = sorted({c for h in hs for c in pat.vertical[h]})
        if hs.start % g == 0:                        # a new KV group: the cache starts empty
            residency = new_residency(cfg.tier1_blocks, cfg.tier2_blocks)
        ph = group_phase_cycles(cfg, m[hs.start:hs.stop], vert, sizes, L, lat, pooled, inflight,
                                residency, group_end=hs.stop % g == 0)
        groups.append(ph)
        tot["cnt_sig_cycles"] += ph["sig"]
        tot["cnt_attn_cycles"] += ph["attn"]["cycles"]
        tot["other"] += ph["other"]
    tot = {k: int(round(v)) for k, v in tot.items()}
    tot["cnt_cycles"] = tot["cnt_sig_cycles"] + tot["cnt_attn_cycles"] + tot["other"]
    tot["groups"] = groups
    return tot


# ---------------------------------------------------------------- platforms
#: The preset sized for the U280 (Llama / Qwen shapes, D = 128, 128K tokens): the FPGA that the
#: evaluation projects and sets the GPU against.
U280_PRESET = "u280"

@dataclass(frozen=True)
class FpgaPlatform:
    """The U280 around one accelerator config.

    cfg             AcceleratorConfig (block, MPU size, clock_mhz).
    hbm_channels, channel_gbps, hbm_efficiency   HBM: peak = channels x GB/s, usable = x eff.
    board_power_w   board power used for energy (default: DS963 maximum, 225 W).
    dsp, lut, shell_lut, dsp_macs, lut_per_mac   roofline MAC rate of the whole device.
    hbm_latency     kernel cycles from a burst's address to its first beat (30 = 100 ns at 300 MHz).
    """

    cfg: AcceleratorConfig
    hbm_channels: int = HBM_CHANNELS
    channel_gbps: float = HBM_CHANNEL_GBPS
    hbm_efficiency: float = HBM_EFFICIENCY
    board_power_w: float = U280_BOARD_POWER_W
    dsp: int = U280_DSP
    lut: int = U280_LUT
    shell_lut: int = U280_SHELL_LUT
    dsp_macs: float = DSP_MACS
    lut_per_mac: float = LUT_PER_MAC
    hbm_latency: int = SIG_HBM_LATENCY

    def __post_init__(self) -> None:
        _check_cfg(self.cfg)
        _count(self.hbm_latency, "hbm_latency")
        _count(self.hbm_channels, "hbm_channels", 1)
        _pos(self.channel_gbps, "channel_gbps")
        _pos(self.board_power_w, "board_power_w")
        if not 0.0 < self.hbm_efficiency <= 1.0:
            raise ValueError(f"hbm_efficiency: must lie in (0, 1], got {self.hbm_efficiency!r}")
        if self.lut <= self.shell_lut:
            raise ValueError(f"lut: {self.lut} must exceed shell_lut {self.shell_lut}")

    @property
    def clock_hz(self) -> float:
        return self.cfg.clock_mhz * 1e6

    @property
    def hbm_peak_bytes_s(self) -> float:
        return self.hbm_channels * self.channel_gbps * 1e9

    @property
    def hbm_bytes_s(self) -> float:
        return self.hbm_peak_bytes_s * self.hbm_efficiency

    @property
    def mac_rate(self) -> float:
        """The design's MPU peak: R x D int8 MACs per cycle at the clock."""
        return self.cfg.macs_per_cycle * self.clock_hz

    @property
    def roofline_mac_rate(self) -> float:
        """Device ceiling: every DSP (packed) plus every non-shell LUT spent on int8 MACs."""
        return (self.dsp * self.dsp_macs + (self.lut - self.shell_lut) / self.lut_per_mac) \
            * self.clock_hz


@dataclass(frozen=True)
class GpuSpec:
    """A GPU's published peaks: dense FP16 tensor FLOP/s, memory bytes/s, board power (W)."""

    name: str
    fp16_tensor_flops: float
    mem_bytes_s: float
    board_power_w: float
    source: str = ""


#: NVIDIA RTX A5000 datasheet: 222.2 TFLOPS tensor with sparsity (111.1 dense), 27.8 TFLOPS
#: FP32, 768 GB/s GDDR6, 230 W maximum power consumption.
A5000 = GpuSpec("NVIDIA RTX A5000", 111.1e12, 768e9, 230.0,
                "NVIDIA RTX A5000 datasheet (tensor 222.2 TFLOPS with sparsity, 111.1 dense; "
                "768 GB/s; 230 W)")

#: Published dense FP16/BF16 tensor peaks of GPUs a baseline run may land on (for the fraction
#: of roofline the run reaches); name fragments matched against torch's device name.
KNOWN_GPUS = {
    "A5000": A5000,
    "H100": GpuSpec("NVIDIA H100 SXM", 989.4e12, 3.35e12, 700.0,
                    "NVIDIA H100 datasheet (SXM: 1979 TFLOPS FP16 with sparsity, 989 dense)"),
    "H200": GpuSpec("NVIDIA H200 SXM", 989.4e12, 4.8e12, 700.0,
                    "NVIDIA H200 datasheet (SXM: 1979 TFLOPS FP16 with sparsity, 989 dense)"),
    "A100": GpuSpec("NVIDIA A100 SXM", 312e12, 2.04e12, 400.0,
                    "NVIDIA A100 datasheet (312 TFLOPS FP16 dense, 80 GB SXM)"),
}


def gpu_spec_for(device_name: str) -> GpuSpec | None:
    """The KNOWN_GPUS entry whose key occurs in ``device_name`` (None when unknown)."""
    for key, spec in KNOWN_GPUS.items():
        if key.lower() in device_name.lower():
            return spec
    return None


# ---------------------------------------------------------------- model shapes
@dataclass(frozen=True)
class ModelShape:
    """A decoder-only transformer's sizes (Llama-style: q/k/v/o projections, SwiGLU MLP)."""

    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int

    @property
    def group(self) -> int:
        return self.heads // self.kv_heads

    def linear_gemms(self) -> list[tuple[str, int, int]]:
        """Per layer, (name, K, N) of each projection applied to every token."""
        q, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        return [("q", self.hidden, q), ("k", self.hidden, kv), ("v", self.hidden, kv),
                ("o", q, self.hidden), ("gate", self.hidden, self.intermediate),
                ("up", self.hidden, self.intermediate), ("down", self.intermediate, self.hidden)]

    def linear_macs_per_token(self) -> int:
        """MACs of all layers' projections and MLP for one token (LM head excluded)."""
        return self.layers * sum(k * n for _, k, n in self.linear_gemms())

    def weight_bytes(self, bytes_per_weight: float = 1.0) -> float:
        return self.layers * sum(k * n for _, k, n in self.linear_gemms()) * bytes_per_weight


# Sizes from each model's published config.json (Hugging Face model cards).
MODELS = {
    "llama-3.1-8b": ModelShape("Llama-3.1-8B", 32, 4096, 32, 8, 128, 14336, 128256),
    "qwen2.5-7b": ModelShape("Qwen2.5-7B", 28, 3584, 28, 4, 128, 18944, 152064),
    "smollm2-135m": ModelShape("SmolLM2-135M", 30, 576, 9, 3, 64, 1536, 49152),
}


def attention_macs(shape: ModelShape, seq_len: int, density: float, block: int) -> float:
    """MACs of all layers' attention (QK and PV) on the kept tiles (full tiles counted)."""
    nb = num_blocks(seq_len, block)
    tiles = max(float(nb), _check_density(density) * nb * (nb + 1) / 2)
    return shape.layers * shape.heads * tiles * 2 * block * block * shape.head_dim


def dense_attention_flops(shape: ModelShape, seq_len: int) -> float:
    """FLOPs of causal dense attention (2 GEMMs, half the L x L products), all layers."""
    return shape.layers * shape.heads * 2.0 * 2.0 * shape.head_dim * seq_len * (seq_len + 1) / 2


# ---------------------------------------------------------------- whole-prefill estimates
@dataclass
class PrefillEstimate:
    """Time (s), bytes and energy (J) of one prefill; ``parts`` splits the time by phase.

    parts          {"linear": s, "index": s, "attention": s} (all layers).
    hbm_bytes      {"linear": B, "index": B, "attention_qo": B, "kv": B}.
    macs           {"linear": MACs, "index": MACs, "attention": MACs}.
    bound          per phase, "compute" or "memory".
    source         per phase, "measured", "calibrated" or "projected" and why.
    cycles         the FPGA's per-KV-group cycles behind the index and attention phases.
    """

    platform: str
    model: str
    seq_len: int
    density: float
    parts: dict = field(default_factory=dict)
    hbm_bytes: dict = field(default_factory=dict)
    macs: dict = field(default_factory=dict)
    bound: dict = field(default_factory=dict)
    source: dict = field(default_factory=dict)
    power_w: float = 0.0
    cycles: dict = field(default_factory=dict)

    @property
    def ttft_s(self) -> float:
        return sum(self.parts.values())

    @property
    def energy_j(self) -> float:
        return self.ttft_s * self.power_w

    def as_dict(self) -> dict:
        return dict(platform=self.platform, model=self.model, seq_len=self.seq_len,
                    density=self.density, ttft_s=self.ttft_s, energy_j=self.energy_j,
                    power_w=self.power_w, parts=dict(self.parts), hbm_bytes=dict(self.hbm_bytes),
                    macs=dict(self.macs), bound=dict(self.bound), source=dict(self.source),
                    cycles=dict(self.cycles))


def _phase(cycles: float, nbytes: float, clock_hz: float, bytes_s: float) -> tuple[float, str]:
    tc, tm = cycles / clock_hz, nbytes / bytes_s
    return (tc, "compute") if tc >= tm else (tm, "memory")


def kv_bytes_uncached(cfg: AcceleratorConfig, shape: ModelShape, seq_len: int, density: float) -> float:
    """KV bytes of all layers when every kept tile of every KV group fetches its K and V block
    (no cache; tiles kept by several heads of a group fetched once per row)."""
    nb = num_blocks(seq_len, cfg.block)
    tiles = max(float(nb), density * nb * (nb + 1) / 2)
    return shape.layers * shape.kv_heads * tiles * 2 * cfg.block * shape.head_dim


def synthetic_group(nb: int, g: int, density: float, seed: int = 0):
    """A synthetic vertical-slash KV group whose mean per-head density is close to ``density``
    (golden.cache_sim.synthetic_vertical_slash, bisection on the entries per head).

    Returns (mask bool [g, nb, nb] (torch), vertical sets per head, set sizes per head
    [(nv, ns)], the mask's mean density)."""
    from golden.cache_sim import synthetic_vertical_slash

    _count(nb, "nb", 1)
    _count(g, "g", 1)
    d = _check_density(density)

    def make(n):
        nv, ns = max(1, n // 2), max(1, n - n // 2)
        m, v = synthetic_vertical_slash(nb, g, nv, ns, seed=seed)
        sizes = [(len(vh), min(ns, nb)) for vh in v]
        return m, v, sizes, float(m.sum()) / (g * nb * (nb + 1) / 2)

    lo, hi = 2, 2 * nb
    best = make(lo)
    if best[3] >= d:
        return best
    while hi - lo > 1:
        mid = (lo + hi) // 2
        cand = make(mid)
        if cand[3] < d:
            lo = mid
        else:
            hi = mid
        if abs(cand[3] - d) < abs(best[3] - d):
            best = cand
    return best


def fpga_prefill(platform: FpgaPlatform, shape: ModelShape, seq_len: int, density: float,
                 kv_bytes_per_layer: float | None = None, o_bytes: int = 2, group=None,
                 pooled: bool | None = None) -> PrefillEstimate:
    """The FPGA's prefill of ``shape`` at ``seq_len`` tokens with mean tile ``density``.

    Per layer: the linear layers (GEMMs on the MPU, weights streamed from HBM once per R-token
    tile), then the attention as the top runs it (:func:`group_phase_cycles`): per KV group
    one after the other, in passes of ``cfg.lanes`` heads (``cfg.head_passes``), the code load, the index generator (+ sig_pool's means load with the
    pooled rows), the index dump (phase "index"), and grp_attn with one engine per head of
    the pass (phase "attention": set load, builder A's stream (waiting for each pooled row),
    the cache's liveness pass, the accesses at one K/V row per cycle (a tier-memory word holds
    a whole row) or the busiest engine's pace, miss stalls).  Each phase takes max(cycles, HBM bytes / bandwidth).
    group               one representative KV group (mask [g, nb, nb], vertical sets per head,
                        set sizes per head) as :func:`synthetic_group` returns it (default: a
                        synthetic vertical-slash group at the density); every KV group of
                        every layer is costed like it.
    pooled              row_gamma on (default: cfg.sparsity.row_gamma > 0).
    kv_bytes_per_layer  HBM K/V bytes of one layer (default: the group's golden.cache_sim
                        misses x KV heads).
    o_bytes             bytes per element of the attention output written back.
    The HBM takes every burst the units issue (SIG_MAX_OUTSTANDING in flight, the cache's
    KV_MAX_OUTSTANDING) with platform.hbm_latency cycles of latency.  ``cycles`` gives the
    windows the cache's liveness pass takes the largest pass's stream in (``cache_windows``,
    ``cache_index_depth`` entries each): a later window loads and ends (one cycle per key
    block) while the engines wait, counted in full (the serve queue's few accesses of overlap
    are not subtracted).
    """
    if not isinstance(platform, FpgaPlatform):
        raise ValueError(f"platform: must be an FpgaPlatform, got {type(platform).__name__}")
    cfg = platform.cfg
    _count(seq_len, "seq_len", 1)
    d = _check_density(density)
    if shape.head_dim != cfg.head_dim:
        raise ConfigError(f"head_dim: model {shape.name} has D={shape.head_dim}, config "
                          f"{cfg.name!r} has {cfg.head_dim}")
    cfg.check_heads(shape.heads, shape.kv_heads)
    L, D, f, bw = seq_len, shape.head_dim, platform.clock_hz, platform.hbm_bytes_s
    g = shape.group
    nb = num_blocks(L, cfg.block)
    pooled = cfg.sparsity.row_gamma > 0 if pooled is None else bool(pooled)
    if group is None:
        group = synthetic_group(nb, g, d)
    gmask, gvert, gsizes = group[0], group[1], group[2]
    if _np_mask(gmask).shape != (g, nb, nb):
        raise ValueError(f"group: mask must be [{g}, {nb}, {nb}] for {shape.name} at {L} tokens")
    est = PrefillEstimate(platform=f"U280 {cfg.name} @ {cfg.clock_mhz:g} MHz", model=shape.name,
                          seq_len=L, density=d, power_w=platform.board_power_w)
    # linear layers
    lin_cyc = shape.layers * sum(gemm_cycles(cfg, L, k, n) for _, k, n in shape.linear_gemms())
    tiles_m = math.ceil(L / cfg.mpu_rows)
    lin_bytes = shape.layers * sum(tiles_m * k * n + L * k + L * n for _, k, n in shape.linear_gemms())
    est.parts["linear"], est.bound["linear"] = _phase(lin_cyc, lin_bytes, f, bw)
    est.hbm_bytes["linear"] = lin_bytes
    est.macs["linear"] = shape.linear_macs_per_token() * L
    est.source["linear"] = "projected: GEMM tiling on the MPU at the measured MPU rate (no GEMM RTL)"
    # the attention layer as the top runs it, one KV group after the other, each in passes of
    # cfg.lanes heads
    gm = _np_mask(gmask)
    ph = {"sig": 0.0, "other": 0.0, "attn": {}}
    from golden.cache_sim import new_residency

    passes = cfg.head_passes(g)
    residency = new_residency(cfg.tier1_blocks, cfg.tier2_blocks)   # kept across the passes
    for first, n in passes:
        hs = range(first, first + n)
        p = group_phase_cycles(cfg, gm[first:first + n], sorted({c for h in hs for c in gvert[h]}),
                               [gsizes[h] for h in hs], L, platform.hbm_latency, pooled,
                               SIG_MAX_OUTSTANDING, residency, group_end=first + n >= g)
        ph["sig"] += p["sig"]
        ph["other"] += p["other"]
        for k, v in p["attn"].items():     # summed over the passes; accesses: the largest pass
            ph["attn"][k] = (max if k == "accesses" else sum)((ph["attn"].get(k, 0), v))
    groups = shape.layers * shape.kv_heads
    idx_cyc = groups * (ph["sig"] + ph["other"]) + shape.layers * TOP_CHECK
    # index generator: K twice per pass + Q_last; sig_pool: K and the pass's Q again; codes; sets
    idx_bytes = shape.layers * (2 * len(passes) * shape.kv_heads * L * D + shape.heads * cfg.block * D)
    if pooled:
        idx_bytes += shape.layers * (len(passes) * shape.kv_heads + shape.heads) * L * D
    est.parts["index"], est.bound["index"] = _phase(idx_cyc, idx_bytes, f, bw)
    est.hbm_bytes["index"] = idx_bytes
    est.macs["index"] = shape.layers * shape.heads * (2 * cfg.block * L * D + nb * nb * D / 2)
    est.source["index"] = ("calibrated on the RTL top at ci (code load, index generator, "
                           "sig_pool means load, index dump per KV group in sequence), "
                           "projected to the config")
    att_cyc = groups * ph["attn"]["cycles"]
    kv = (kv_bytes_per_layer * shape.layers if kv_bytes_per_layer is not None
          else groups * ph["attn"]["misses"] * 2 * cfg.kv_block_bytes)
    qo = shape.layers * shape.heads * L * D * (1 + o_bytes)
    est.parts["attention"], est.bound["attention"] = _phase(att_cyc, qo + kv, f, bw)
    est.hbm_bytes["attention_qo"] = qo
    est.hbm_bytes["kv"] = kv
    est.macs["attention"] = attention_macs(shape, L, d, cfg.block)
    est.source["attention"] = ("calibrated on the RTL top at ci (grp_attn per KV group: set load, "
                               "row stream" + (" with the pooled rows" if pooled else "") +
                               ", cache liveness pass, one K/V row per cycle, engines, miss "
                               "stalls), projected to the config on a synthetic group")
    depth = cache_index_depth(cfg)
    windows = max(1, -(-ph["attn"]["accesses"] // depth))
    if windows > 1:
        est.source["attention"] += (f"; the cache takes a KV group's {ph['attn']['accesses']} accesses "
                                    f"in {windows} liveness windows of {depth}")
    est.cycles = {"index_per_group": ph["sig"] + ph["other"], "attention_per_group": ph["attn"]["cycles"],
                  "attention_parts": {k: v for k, v in ph["attn"].items() if k != "cycles"},
                  "groups": groups, "cache_index_depth": depth, "cache_windows": windows}
    return est


@dataclass(frozen=True)
class GpuEfficiency:
    """Fractions of the GPU's dense FP16 tensor peak reached by each kind of work.

    gemm          linear layers (cuBLAS).
    attn_dense    causal SDPA (flash kernel).
    attn_sparse   block-sparse attention (FlexAttention), on the kept tiles' FLOPs.
    index         the sparse index estimate (memory-bound; fraction of memory bandwidth).
    source        where the fractions come from ("measured on <GPU>" or "assumed").
    """

    gemm: float = 0.7
    attn_dense: float = 0.5
    attn_sparse: float = 0.45
    index: float = 0.5
    source: str = "assumed (no GPU measurement in golden/data/gpu/)"


def gpu_prefill(gpu: GpuSpec, shape: ModelShape, seq_len: int, density: float = 1.0,
                eff: GpuEfficiency = GpuEfficiency(), sparse: bool = False,
                block: int = PRESETS[U280_PRESET].block) -> PrefillEstimate:
    """The GPU's prefill time: linear GEMMs + attention (dense SDPA or block-sparse with the
    same pattern, index estimate included) at the given efficiencies of its published peaks.
    ``block``: the sparse pattern's tiles (default: those of the U280 config it is set against)."""
    _count(seq_len, "seq_len", 1)
    d = _check_density(density)
    L = seq_len
    est = PrefillEstimate(platform=gpu.name, model=shape.name, seq_len=L,
                          density=d if sparse else 1.0, power_w=gpu.board_power_w)
    peak = gpu.fp16_tensor_flops
    lin_flops = 2.0 * shape.linear_macs_per_token() * L
    est.parts["linear"] = lin_flops / (peak * eff.gemm)
    est.macs["linear"] = lin_flops / 2
    est.bound["linear"] = "compute"
    est.source["linear"] = f"projected from the datasheet peak at efficiency {eff.gemm:.2f} ({eff.source})"
    if sparse:
        # index estimate: read K twice and Q once per layer in fp16 (memory-bound)
        idx_bytes = shape.layers * 2 * (2 * shape.kv_heads + shape.heads) * L * shape.head_dim
        est.parts["index"] = idx_bytes / (gpu.mem_bytes_s * eff.index)
        est.bound["index"] = "memory"
        est.source["index"] = f"projected at {eff.index:.2f} of memory bandwidth ({eff.source})"
        att_flops = 2.0 * attention_macs(shape, L, d, block)
        est.parts["attention"] = att_flops / (peak * eff.attn_sparse)
        est.source["attention"] = (f"projected: kept-tile FLOPs at efficiency {eff.attn_sparse:.2f} "
                                   f"({eff.source})")
    else:
        att_flops = dense_attention_flops(shape, L)
        est.parts["attention"] = att_flops / (peak * eff.attn_dense)
        est.source["attention"] = (f"projected: causal FLOPs at efficiency {eff.attn_dense:.2f} "
                                   f"({eff.source})")
    est.macs["attention"] = att_flops / 2
    est.bound["attention"] = "compute"
    return est
