"""The one configuration object of the accelerator.

Every unit, bench, golden call and script derives its sizes from an
:class:`AcceleratorConfig`.  It is a frozen dataclass: build one with
:func:`preset` or ``dataclasses.replace`` and it validates itself, raising
:class:`ConfigError` that names the offending field.

Sparsity settings that the host programs at run time (gamma, budgets, mode,
guardrails) live in :class:`SparsityConfig`; the hardware's register map
mirrors its fields.

This module imports nothing heavy (no torch, no myhdl) so that every layer of
the project, including the CLI argument parser, can use it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field


class ConfigError(ValueError):
    """An invalid configuration; the message names the field."""


def num_blocks(seq_len: int, block: int) -> int:
    """Blocks of ``block`` tokens that cover ``seq_len`` tokens: nb = ceil(L / B), the last one
    partial (no check against a config: :meth:`AcceleratorConfig.num_blocks` checks L)."""
    return -(-seq_len // block)


def _is_pow2(x: int) -> bool:
    return x > 0 and (x & (x - 1)) == 0


def _require(cond: bool, field_name: str, message: str) -> None:
    if not cond:
        raise ConfigError(f"{field_name}: {message}")


@dataclass(frozen=True)
class SparsityConfig:
    """Run-time sparsity settings (host registers), shared by golden model and RTL.

    mode          "coverage" (FlexPrefill-style cumulative coverage) or "topk"
                  (MInference-style fixed counts).
    gamma         coverage of the estimated vertical and slash mass, in (0, 1].
    min_budget    fewest vertical blocks / slash offsets kept (coverage mode).
    max_budget    most vertical blocks / slash offsets kept (coverage mode);
                  0 means no limit (nb).
    topk_vertical, topk_slash   counts kept in "topk" mode.
    row_gamma     coverage of the per-row pooled estimate (block-mean Q and K);
                  0 disables that guardrail.
    local_window  number of block diagonals always kept (offsets 0..w-1);
                  at least 1 (the diagonal is always kept).
    dense_layers  layers (0-based) that run dense attention.
    dense_below   sequences shorter than this many tokens run dense.
    """

    mode: str = "coverage"
    gamma: float = 0.95      # measured at 8192 tokens on 3 prompts: docs/pattern.md
    min_budget: int = 1
    max_budget: int = 0
    topk_vertical: int = 8
    topk_slash: int = 8
    row_gamma: float = 0.99
    local_window: int = 4
    dense_layers: tuple[int, ...] = ()
    dense_below: int = 0

    def __post_init__(self) -> None:
        _require(self.mode in ("coverage", "topk"), "mode",
                 f"must be 'coverage' or 'topk', got {self.mode!r}")
        _require(0.0 < self.gamma <= 1.0, "gamma", f"must lie in (0, 1], got {self.gamma}")
        _require(0.0 <= self.row_gamma <= 1.0, "row_gamma",
                 f"must lie in [0, 1] (0 disables), got {self.row_gamma}")
        _require(self.min_budget >= 1, "min_budget", f"must be >= 1, got {self.min_budget}")
        _require(self.max_budget == 0 or self.max_budget >= self.min_budget, "max_budget",
                 f"must be 0 (no limit) or >= min_budget={self.min_budget}, got {self.max_budget}")
        _require(self.topk_vertical >= 1, "topk_vertical", f"must be >= 1, got {self.topk_vertical}")
        _require(self.topk_slash >= 1, "topk_slash", f"must be >= 1, got {self.topk_slash}")
        _require(self.local_window >= 1, "local_window",
                 f"must be >= 1 (the diagonal is always kept), got {self.local_window}")
        _require(all(isinstance(x, int) and x >= 0 for x in self.dense_layers), "dense_layers",
                 f"must be non-negative layer indices, got {self.dense_layers}")
        _require(self.dense_below >= 0, "dense_below", f"must be >= 0, got {self.dense_below}")

    def replace(self, **changes) -> "SparsityConfig":
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class AcceleratorConfig:
    """Hardware configuration: sizes of every unit.

    block           B, tokens per block (power of two).
    head_dim        D, elements per head (power of two).
    mpu_rows        R, rows of the MPU array (= B: one query block per pass).
    lut_rows        how many MPU rows use LUT multipliers (radix-4 Booth on bit-plane pairs); the rest use DSPs.
    max_group       most query heads per KV head (g = H / Hkv) the accelerator accepts.
    head_lanes      query heads the top computes at once: one index-generator MPU and one
                    attention engine per lane, shared by the heads of a KV group in
                    ceil(g / lanes) passes (each pass streams the group's K / V again).
                    0 means max_group (every head of a group in one pass).
    max_seq_len     longest sequence L; sizes index memories and accumulator widths.
    data_bits       Q/K/V element width (int8).
    p_bits          width of the unsigned softmax probabilities P fed to the MPU in PV mode.
    score_frac_bits F, fractional bits of the log2-domain logit x (golden.fixed_attention).
    logit_bits      signed width of the logit register x (saturating); integer range
                    +-2**(logit_bits - 1 - F) log2 units.
    logit_mult_bits width of the per-tile logit multiplier (rounded mant_q * mant_k).
    exp_lut_bits    index width of the exp2 fraction table (2**exp_lut_bits entries of p_bits).
    acc_frac_bits   E, fractional headroom bits of the row accumulators O and l.
    norm_bits       N, width to which l is normalised before the reciprocal.
    recip_bits      R, fractional bits of the normalised reciprocal of l.
    o_frac_bits     fractional bits of the output O (units of V's int8 code).
    tier1_blocks    capacity of the vertical (pinned, URAM-class) cache tier, in KV blocks.
    tier2_blocks    capacity of the slash (sliding, BRAM-class) cache tier, in KV blocks.
    cache_index_entries   entries of the cache's index memory (a power of two >= 4; 0: the
                    dense count at max_seq_len capped at 64 per block).  A KV group's access
                    stream longer than this is taken in windows of this many accesses.
    axi_data_bits   HBM AXI data width.
    axi_addr_bits   AXI address width.
    clock_mhz       kernel clock used for projections.
    """

    name: str = "custom"
    block: int = 64
    head_dim: int = 64
    mpu_rows: int = 64
    lut_rows: int = 0
    max_group: int = 4
    head_lanes: int = 0
    max_seq_len: int = 8192
    data_bits: int = 8
    p_bits: int = 10
    score_frac_bits: int = 8
    logit_bits: int = 24
    logit_mult_bits: int = 16
    exp_lut_bits: int = 6
    acc_frac_bits: int = 4
    norm_bits: int = 17
    recip_bits: int = 16
    o_frac_bits: int = 8
    tier1_blocks: int = 64
    tier2_blocks: int = 16
    cache_index_entries: int = 0
    axi_data_bits: int = 256
    axi_addr_bits: int = 64
    clock_mhz: float = 300.0
    sparsity: SparsityConfig = field(default_factory=SparsityConfig)

    def __post_init__(self) -> None:
        _require(_is_pow2(self.block) and self.block >= 4, "block",
                 f"must be a power of two >= 4, got {self.block}")
        _require(_is_pow2(self.head_dim) and self.head_dim >= 4, "head_dim",
                 f"must be a power of two >= 4, got {self.head_dim}")
        _require(self.mpu_rows == self.block, "mpu_rows",
                 f"must equal block ({self.block}): the MPU holds one query block, got {self.mpu_rows}")
        _require(0 <= self.lut_rows <= self.mpu_rows, "lut_rows",
                 f"must lie in [0, mpu_rows={self.mpu_rows}], got {self.lut_rows}")
        _require(self.max_group >= 1, "max_group", f"must be >= 1, got {self.max_group}")
        _require(0 <= self.head_lanes <= self.max_group, "head_lanes",
                 f"must lie in [0, max_group={self.max_group}] (0 = max_group), got {self.head_lanes}")
        _require(self.max_seq_len >= self.block and self.max_seq_len % self.block == 0,
                 "max_seq_len",
                 f"must be a positive multiple of block ({self.block}), got {self.max_seq_len}")
        _require(self.data_bits == 8, "data_bits", f"only int8 is supported, got {self.data_bits}")
        _require(4 <= self.p_bits <= 16, "p_bits", f"must lie in [4, 16], got {self.p_bits}")
        _require(0 <= self.score_frac_bits <= 16, "score_frac_bits",
                 f"must lie in [0, 16], got {self.score_frac_bits}")
        _require(self.score_frac_bits + 4 <= self.logit_bits <= 40, "logit_bits",
                 f"must lie in [score_frac_bits + 4, 40], got {self.logit_bits}")
        _require(8 <= self.logit_mult_bits <= 24, "logit_mult_bits",
                 f"must lie in [8, 24], got {self.logit_mult_bits}")
        _require(1 <= self.exp_lut_bits <= 12, "exp_lut_bits",
                 f"must lie in [1, 12], got {self.exp_lut_bits}")
        _require(0 <= self.acc_frac_bits <= 16, "acc_frac_bits",
                 f"must lie in [0, 16], got {self.acc_frac_bits}")
        _require(self.acc_o_bits <= 60, "acc_frac_bits",
                 f"accumulator width {self.acc_o_bits} exceeds 60 bits; lower acc_frac_bits or p_bits")
        _require(8 <= self.norm_bits <= 24, "norm_bits", f"must lie in [8, 24], got {self.norm_bits}")
        _require(8 <= self.recip_bits <= 24, "recip_bits", f"must lie in [8, 24], got {self.recip_bits}")
        _require(0 <= self.o_frac_bits <= 16, "o_frac_bits",
                 f"must lie in [0, 16], got {self.o_frac_bits}")
        _require(self.tier1_blocks >= 1, "tier1_blocks", f"must be >= 1, got {self.tier1_blocks}")
        _require(self.tier2_blocks >= 1, "tier2_blocks", f"must be >= 1, got {self.tier2_blocks}")
        _require(self.cache_index_entries == 0 or (_is_pow2(self.cache_index_entries)
                                                   and self.cache_index_entries >= 4),
                 "cache_index_entries",
                 f"must be 0 (default) or a power of two >= 4, got {self.cache_index_entries}")
        _require(self.axi_data_bits in (64, 128, 256, 512), "axi_data_bits",
                 f"must be 64, 128, 256 or 512, got {self.axi_data_bits}")
        _require(self.axi_addr_bits in (32, 64), "axi_addr_bits",
                 f"must be 32 or 64, got {self.axi_addr_bits}")
        _require((self.head_dim * self.data_bits) % self.axi_data_bits == 0
                 or self.axi_data_bits % (self.head_dim * self.data_bits) == 0,
                 "head_dim", "a token row (head_dim bytes) must pack evenly into AXI beats")
        _require(self.clock_mhz > 0, "clock_mhz", f"must be > 0, got {self.clock_mhz}")
        _require(isinstance(self.sparsity, SparsityConfig), "sparsity",
                 "must be a SparsityConfig")

    # ---- derived sizes -------------------------------------------------
    @property
    def max_blocks(self) -> int:
        """nb at max_seq_len."""
        return self.max_seq_len // self.block

    @property
    def lanes(self) -> int:
        """Query heads computed at once (index-generator MPUs = attention engines)."""
        return self.head_lanes or self.max_group

    def head_passes(self, group: int) -> list[tuple[int, int]]:
        """The passes over a KV group of ``group`` heads: (first head within the group, heads)."""
        if not 1 <= group <= self.max_group:
            raise ConfigError(f"max_group: g={group} outside 1..{self.max_group} of config {self.name!r}")
        return [(h, min(self.lanes, group - h)) for h in range(0, group, self.lanes)]

    def layer_passes(self, heads: int, kv_heads: int) -> list[range]:
        """The top's passes over a layer of H = ``heads`` query heads on Hkv = ``kv_heads``, in run
        order (KV group by KV group): the query heads of each pass."""
        g = self.check_heads(heads, kv_heads)
        return [range(j * g + first, j * g + first + n) for j in range(kv_heads)
                for first, n in self.head_passes(g)]

    def unit_config(self) -> "AcceleratorConfig":
        """The config the top's per-pass units (index generator, pooled rows, attention group) are
        built with: max_group = lanes, since each pass holds at most ``lanes`` heads."""
        return self if self.lanes == self.max_group else self.replace(max_group=self.lanes, head_lanes=0)

    @property
    def block_index_bits(self) -> int:
        return max(1, math.ceil(math.log2(self.max_blocks)))

    @property
    def dsp_rows(self) -> int:
        return self.mpu_rows - self.lut_rows

    @property
    def macs_per_cycle(self) -> int:
        return self.mpu_rows * self.head_dim

    @property
    def kv_block_bytes(self) -> int:
        """Bytes of one K (or V) block of one KV head."""
        return self.block * self.head_dim * self.data_bits // 8

    @property
    def axi_bytes(self) -> int:
        return self.axi_data_bits // 8

    # ---- fixed-point attention widths (golden.fixed_attention; docs/numerics.md) ----
    @property
    def score_bits(self) -> int:
        """Signed width of S = q . k (int8 x int8 over D): |S| <= D * 2**14."""
        return (self.head_dim * (1 << 14)).bit_length() + 1

    @property
    def logit_prod_bits(self) -> int:
        """Signed width of S * mult before the logit shift."""
        return self.score_bits + self.logit_mult_bits

    @property
    def max_bits(self) -> int:
        """Signed width of the integer row maxima m_t and m (ceil of a logit)."""
        return self.logit_bits - self.score_frac_bits + 1

    @property
    def p_max(self) -> int:
        """Largest P (the exp2 table saturates at 2**p_bits - 1)."""
        return (1 << self.p_bits) - 1

    @property
    def tile_o_bits(self) -> int:
        """Signed width of a tile result T = P @ V (|T| <= B * p_max * 128)."""
        return (self.block * self.p_max * 128).bit_length() + 1

    @property
    def tile_l_bits(self) -> int:
        """Unsigned width of a tile row sum of P."""
        return (self.block * self.p_max).bit_length()

    @property
    def acc_o_bits(self) -> int:
        """Signed width of the row accumulator O: |O| <= max_seq_len * p_max * 128 * 2**E."""
        return ((self.max_seq_len * self.p_max * 128) << self.acc_frac_bits).bit_length() + 1

    @property
    def acc_l_bits(self) -> int:
        """Unsigned width of the row accumulator l: l <= max_seq_len * p_max * 2**E."""
        return ((self.max_seq_len * self.p_max) << self.acc_frac_bits).bit_length()

    @property
    def rescale_shift_max(self) -> int:
        """Rescale shift amounts saturate here (any larger shift of O or l gives 0)."""
        return self.acc_o_bits + 1

    @property
    def norm_o_bits(self) -> int:
        """Signed width of O after the normalising shift (|O| < 256 * l, l_n < 2**N)."""
        return self.norm_bits + 10

    @property
    def out_bits(self) -> int:
        """Signed width of the output O / l with o_frac_bits fractional bits (|O/l| <= 128)."""
        return self.o_frac_bits + 9

    def num_blocks(self, seq_len: int) -> int:
        """nb = ceil(L / B), after checking L against this config."""
        self.check_seq_len(seq_len)
        return num_blocks(seq_len, self.block)

    def check_seq_len(self, seq_len: int) -> None:
        if not isinstance(seq_len, int) or seq_len <= 0:
            raise ConfigError(f"seq_len: must be a positive integer, got {seq_len!r}")
        if seq_len > self.max_seq_len:
            raise ConfigError(
                f"seq_len: {seq_len} exceeds max_seq_len={self.max_seq_len} of config {self.name!r}")

    def check_heads(self, heads: int, kv_heads: int) -> int:
        """Validate H and Hkv; returns g = H / Hkv."""
        if kv_heads <= 0 or heads <= 0:
            raise ConfigError(f"heads: H={heads} and Hkv={kv_heads} must be positive")
        if heads % kv_heads:
            raise ConfigError(f"heads: H={heads} is not a multiple of Hkv={kv_heads}")
        g = heads // kv_heads
        if g > self.max_group:
            raise ConfigError(
                f"max_group: g=H/Hkv={g} exceeds max_group={self.max_group} of config {self.name!r}")
        return g

    def replace(self, **changes) -> "AcceleratorConfig":
        return dataclasses.replace(self, **changes)


PRESETS: dict[str, AcceleratorConfig] = {
    # Small and fast: the default suite's benches.
    "ci": AcceleratorConfig(name="ci", block=16, head_dim=16, mpu_rows=16, lut_rows=6,
                            max_group=3, max_seq_len=2048, tier1_blocks=32, tier2_blocks=8),
    # The second synthesis point of the area projection (docs/area.md): ci's sizes but B = D = 32,
    # so the logic beside the MPU array is measured at two sizes and its growth fitted, not assumed.
    "mid": AcceleratorConfig(name="mid", block=32, head_dim=32, mpu_rows=32, lut_rows=4,
                             max_group=3, max_seq_len=2048, tier1_blocks=32, tier2_blocks=8),
    # SmolLM2-135M: H=9, Hkv=3, D=64, 8K context; the main job.  512-bit kernel ports (the width
    # Vitis recommends for HBM kernels at 300 MHz): a D = 64 key row is one beat, so the index
    # generator and the cache deliver a row per cycle (65,327 -> 37,796 cycles at 512 tokens,
    # bit-exact; docs/top.md).  One lane: one 64 x 64 array, shared by the index generator
    # and the engine (three with a lane per head), a group's 3 heads in 3 passes; a third of the
    # Verilog, so the main job builds in minutes (docs/top.md).
    "smollm2": AcceleratorConfig(name="smollm2", block=64, head_dim=64, mpu_rows=64, lut_rows=26,
                                 max_group=3, head_lanes=1, max_seq_len=8192, tier1_blocks=96,
                                 tier2_blocks=32, axi_data_bits=512),
    # U280 scale: Llama-3.1-8B (g=4) and Qwen2.5-7B (g=7), D=128, 128K context.  8 of the 64 MPU
    # rows are LUT rows: a LUT row costs about 50 LUT per MAC more than a DSP row and saves 0.5
    # DSP48E2, so few of them balance the projected LUT and DSP shares (docs/area.md).  One lane: one
    # 64 x 128 array shared by the index generator and the engine (one per head of a group would
    # be 7, several times the device: docs/area.md), a group's heads in g passes.  The cache
    # holds 1920 + 64 of the 2048 blocks of a 128K KV head, so that a group's later passes find
    # what the earlier ones fetched (KV bytes 1.16x / 1.33x compulsory for Llama / Qwen at 128K
    # in golden.cache_sim, 8.8x / 15.9x with 1024 + 64), at 78 % of the on-chip RAM bits; its
    # index memory of 2**18 accesses takes a 128K head's stream (326,614) in two liveness
    # windows, which costs 0.01x of KV bytes against one window of 2**19.
    # 512-bit ports: a cold block's K and V arrive 1.5x faster than on 256 bits (0.75 of a 64-byte
    # beat per cycle on one pseudo-channel), which takes attention at 2048 tokens from 1.135x to
    # 1.081x the array's compute bound (docs/performance.md).
    "u280": AcceleratorConfig(name="u280", block=64, head_dim=128, mpu_rows=64, lut_rows=8,
                              max_group=7, head_lanes=1, max_seq_len=131072, tier1_blocks=1920,
                              tier2_blocks=64, cache_index_entries=1 << 18, axi_data_bits=512,
                              clock_mhz=300.0),
}


def preset(name: str, **overrides) -> AcceleratorConfig:
    """A named preset, optionally with fields replaced."""
    if name not in PRESETS:
        raise ConfigError(f"preset: unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    cfg = PRESETS[name]
    return cfg.replace(**overrides) if overrides else cfg
