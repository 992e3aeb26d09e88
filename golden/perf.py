"""Performance model: cycles of each unit, time, HBM traffic and energy of a whole prefill.

The model is analytic and cheap (no tensors): every unit is a cycle formula whose constants
come from RTL measurements where the RTL exists, and from the unit's ideal where it does not.
Each result carries a ``source`` label saying which.

Units (``cfg`` is an :class:`hdl.config.AcceleratorConfig`):

``mpu_stream_cycles(cfg, beats)``
    beats streamed through the MPU (QK or PV): ``beats / MPU_EFFICIENCY``.  Calibrated by
    ``fast-prefill bench mpu`` (1.000 of peak: one beat per cycle).
``attention_engine_cycles(cfg, tiles_per_row)``
    rows streamed back to back through ``hdl/attn_engine.py``: each kept tile costs
    ``2B + tile_gap(B)`` cycles, each row ``ROW_OVERHEAD`` more, plus one pipeline fill and
    drain ``2B + FILL_EXTRA``.  Calibrated on the RTL at B = 16 and B = 8 (docs/performance.md).
``gemm_cycles(cfg, M, K, N)``
    a linear layer ``[M, K] @ [K, N]`` on the MPU in QK mode: an R x D tile of activations is
    held (R load beats), the N weight columns stream through (N beats), partial sums over the
    K / D chunks are added outside the array.  Projected (no GEMM RTL yet).
``index_generator_cycles(cfg, L, g, kept=None, lanes=None)``
    one KV group of ``hdl/sig.py``: two K passes through ``lanes`` resident Q_last blocks
    (one key row per ``ceil(8D / bus)`` cycles), the fixed costs and the selection.
    Calibrated on the RTL (ci preset, several lengths and group sizes: tests/test_perf.py).

Platforms:

``FpgaPlatform``  the U280 around a config: HBM (32 pseudo-channels x 14.375 GB/s times an
                  efficiency factor), clock, board power, DSP / LUT budgets for the roofline.
``GpuSpec``       a GPU's published peaks (dense FP16 tensor FLOP/s, memory bandwidth, board
                  power); ``A5000`` from NVIDIA's RTX A5000 datasheet.

Whole model:

``ModelShape``, ``MODELS``           Llama-3.1-8B, Qwen2.5-7B, SmolLM2-135M.
``fpga_prefill(platform, shape, L, density, kv_bytes_per_layer=None)`` -> ``PrefillEstimate``
``gpu_prefill(gpu, shape, L, density, eff)`` -> ``PrefillEstimate``
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

from hdl.config import AcceleratorConfig, ConfigError

# ---------------------------------------------------------------- calibration constants
#: MPU beats per cycle with no idle and no backpressure (``fast-prefill bench mpu``: 1.000).
MPU_EFFICIENCY = 1.0
#: Attention engine: extra cycles per kept tile beyond its 2B MPU beats, by block size.
#: Measured: B = 16 -> 2 (exact on 9 runs), B = 8 -> 1 (rows of 8 tiles exact; rows of one
#: tile 2 % under).  Larger blocks are assumed to behave like B = 16 (the ~12-cycle
#: QK-to-PV latency is hidden from B = 16 on).
TILE_GAP = {8: 1, 16: 2}
TILE_GAP_DEFAULT = 2
#: Attention engine: extra cycles per (head, query block) row (B = 16 and B = 8: 10 and ~9).
ROW_OVERHEAD = 10
#: Attention engine: one pipeline fill + drain per stream of rows is 2B + FILL_EXTRA
#: (B = 16: 57, B = 8: 41).
FILL_EXTRA = 25
#: Index generator (hdl/sig.py): HBM latency of its bench, the last tile's drain beyond B
#: (divider and exp pipeline), pipeline stages, and the kept fraction of nb that the
#: selection pops (SmolLM2 at gamma 0.95: 46/64 and 94/128).  Calibrated: tests/test_perf.py.
SIG_HBM_LATENCY = 30
SIG_DRAIN_EXTRA = 25
SIG_PIPELINE = 8
SIG_KEPT_FRACTION = 0.73

# ---------------------------------------------------------------- U280 and A5000 facts
HBM_CHANNELS = 32
HBM_CHANNEL_GBPS = 14.375          # GB/s per pseudo-channel (460 GB/s in total)
HBM_EFFICIENCY = 425.0 / 460.0     # 425 GB/s measured by others on the U280 (docs/performance.md)
U280_DSP = 9024
U280_LUT = 1_303_680
U280_SHELL_LUT = 108_000
U280_BOARD_POWER_W = 225.0         # Alveo U280 data sheet DS963: card maximum power
DSP_MACS = 2.0                     # int8 MACs per DSP48E2 with packing (docs/area.md: 0.50 DSP/MAC)
LUT_PER_MAC = 217.2                # all-LUT MPU, whole array logic per MAC (docs/area.md, 8x8)


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
    return sum(rows) * (2 * B + tile_gap(B)) + len(rows) * ROW_OVERHEAD + 2 * B + FILL_EXTRA


def attention_layer_cycles(cfg: AcceleratorConfig, heads: int, seq_len: int, density: float) -> float:
    """Engine cycles of one layer: ``heads`` heads, nb rows each, ``density`` of the causal tiles."""
    _check_cfg(cfg)
    _count(heads, "heads", 1)
    _count(seq_len, "seq_len", 1)
    d = _check_density(density)
    B = cfg.block
    nb = -(-seq_len // B)
    tiles = max(float(nb), d * nb * (nb + 1) / 2)          # at least the diagonal
    return heads * (tiles * (2 * B + tile_gap(B)) + nb * ROW_OVERHEAD) + 2 * B + FILL_EXTRA


def gemm_cycles(cfg: AcceleratorConfig, M: int, K: int, N: int) -> int:
    """Cycles of ``[M, K] @ [K, N]`` on the R x D MPU (QK mode, activations stationary)."""
    _check_cfg(cfg)
    for v, n in ((M, "M"), (K, "K"), (N, "N")):
        _count(v, n, 1)
    R, D = cfg.mpu_rows, cfg.head_dim
    return math.ceil(M / R) * math.ceil(K / D) * (mpu_stream_cycles(cfg, N) + R)


def index_generator_cycles(cfg: AcceleratorConfig, seq_len: int, group: int, kept: int | None = None,
                           hbm_latency: int = SIG_HBM_LATENCY, lanes: int | None = None) -> int:
    """Cycles of ``hdl/sig.py`` (scorer + selection) for one KV group of ``group`` query heads.

    The RTL holds the Q_last block of up to ``lanes`` heads (default cfg.max_group, one B x D
    MPU each) and streams K through them twice, one key row per ``ceil(8D / axi_data_bits)``
    cycles; ``lanes`` < group repeats both passes per round of heads (a smaller build).
    Fixed costs: the Q_last load, two HBM latencies, the last tile's drain and divider
    (B + 25) and the pipeline (8).  Selection: the pop of the slowest vector's ``kept``
    entries (default SIG_KEPT_FRACTION of nb, measured on SmolLM2 at gamma 0.95) plus an
    nb-cycle scan and 3.  Calibrated on the RTL: tests/test_perf.py.
    """
    _check_cfg(cfg)
    _count(seq_len, "seq_len", 1)
    _count(group, "group", 1)
    lanes = cfg.max_group if lanes is None else _count(lanes, "lanes", 1)
    B, D, bus = cfg.block, cfg.head_dim, cfg.axi_data_bits
    nb = -(-seq_len // B)
    beats_per_row = max(1, -(-8 * D // bus))
    rows_per_beat = max(1, bus // (8 * D))
    rounds = -(-group // lanes)
    per_round = (2 * seq_len * beats_per_row                                  # two K passes
                 + -(-min(group, lanes) * B // rows_per_beat) * beats_per_row  # Q_last load
                 + 2 * hbm_latency + B + SIG_DRAIN_EXTRA + SIG_PIPELINE)
    kept = math.ceil(SIG_KEPT_FRACTION * nb) if kept is None else _count(kept, "kept")
    return rounds * per_round + kept + nb + 3


def pooled_row_cycles(cfg: AcceleratorConfig, seq_len: int, group: int) -> tuple[int, int]:
    """Cycles of ``hdl/sig_pool.py`` for one KV group: (block-means load, all rows back to back).

    The load reads K and the group's Q rows, one row per ``ceil(8D / bus)`` cycles; row r then
    costs ``2 (r + 1) + 12`` cycles, every head in parallel (measured at ci: 2085 and 1476
    cycles at 512 tokens, g = 3, docs/sig.md).
    """
    _check_cfg(cfg)
    _count(seq_len, "seq_len", 1)
    _count(group, "group", 1)
    nb = -(-seq_len // cfg.block)
    beats_per_row = max(1, -(-8 * cfg.head_dim // cfg.axi_data_bits))
    load = (group + 1) * seq_len * beats_per_row + 2 * SIG_HBM_LATENCY
    rows = nb * (nb + 1) + 12 * nb
    return load, rows


# ---------------------------------------------------------------- platforms
@dataclass(frozen=True)
class FpgaPlatform:
    """The U280 around one accelerator config.

    cfg             AcceleratorConfig (block, MPU size, clock_mhz).
    hbm_channels, channel_gbps, hbm_efficiency   HBM: peak = channels x GB/s, usable = x eff.
    board_power_w   board power used for energy (default: DS963 maximum, 225 W).
    dsp, lut, shell_lut, dsp_macs, lut_per_mac   roofline MAC rate of the whole device.
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

    def __post_init__(self) -> None:
        _check_cfg(self.cfg)
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
    nb = -(-seq_len // block)
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
                    macs=dict(self.macs), bound=dict(self.bound), source=dict(self.source))


def _phase(cycles: float, nbytes: float, clock_hz: float, bytes_s: float) -> tuple[float, str]:
    tc, tm = cycles / clock_hz, nbytes / bytes_s
    return (tc, "compute") if tc >= tm else (tm, "memory")


def kv_bytes_uncached(cfg: AcceleratorConfig, shape: ModelShape, seq_len: int, density: float) -> float:
    """KV bytes of all layers when every kept tile of every KV group fetches its K and V block
    (no cache; tiles kept by several heads of a group fetched once per row)."""
    nb = -(-seq_len // cfg.block)
    tiles = max(float(nb), density * nb * (nb + 1) / 2)
    return shape.layers * shape.kv_heads * tiles * 2 * cfg.block * shape.head_dim


def fpga_prefill(platform: FpgaPlatform, shape: ModelShape, seq_len: int, density: float,
                 kv_bytes_per_layer: float | None = None, o_bytes: int = 2) -> PrefillEstimate:
    """The FPGA's prefill of ``shape`` at ``seq_len`` tokens with mean tile ``density``.

    Phases run one after the other per layer (the index lists must exist before attention):
    linear layers (GEMMs on the MPU, weights streamed from HBM once per R-token tile),
    the index generator, the attention engine.  Each phase takes max(compute, HBM) time.
    kv_bytes_per_layer  HBM K/V bytes of one layer from the cache model (default: uncached,
                        one fetch per kept tile of each KV group).
    o_bytes             bytes per element of the attention output written back.
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
    # index generator: K read twice per group, Q read once for the pooled block means
    g = shape.group
    idx_cyc = shape.layers * shape.kv_heads * (index_generator_cycles(cfg, L, g)
                                                + sum(pooled_row_cycles(cfg, L, g)))
    idx_bytes = shape.layers * (2 * shape.kv_heads * L * D + shape.heads * L * D)
    est.parts["index"], est.bound["index"] = _phase(idx_cyc, idx_bytes, f, bw)
    est.hbm_bytes["index"] = idx_bytes
    nb = -(-L // cfg.block)
    est.macs["index"] = shape.layers * shape.heads * (2 * cfg.block * L * D + nb * nb * D / 2)
    est.source["index"] = ("calibrated: index generator (two passes + selection) and pooled rows "
                           "measured on the RTL (ci preset), scaled to the config")
    # attention engine
    att_cyc = shape.layers * attention_layer_cycles(cfg, shape.heads, L, d)
    kv = (kv_bytes_per_layer * shape.layers if kv_bytes_per_layer is not None
          else kv_bytes_uncached(cfg, shape, L, d))
    qo = shape.layers * shape.heads * L * D * (1 + o_bytes)
    est.parts["attention"], est.bound["attention"] = _phase(att_cyc, qo + kv, f, bw)
    est.hbm_bytes["attention_qo"] = qo
    est.hbm_bytes["kv"] = kv
    est.macs["attention"] = attention_macs(shape, L, d, cfg.block)
    est.source["attention"] = ("calibrated: attention engine cycles per tile / row / fill "
                               "measured on the RTL (ci preset), scaled to the config")
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
                block: int = 64) -> PrefillEstimate:
    """The GPU's prefill time: linear GEMMs + attention (dense SDPA or block-sparse with the
    same pattern, index estimate included) at the given efficiencies of its published peaks."""
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
