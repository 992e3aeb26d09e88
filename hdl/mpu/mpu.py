"""Hybrid Matrix Processing Unit (MPU): an R x D int8 array, QK and PV modes, valid/ready.

Sizes come from :class:`hdl.config.AcceleratorConfig`: ``R = mpu_rows``,
``D = head_dim``, ``p_bits``; rows ``0 .. R-lut_rows-1`` use DSP multipliers
(pairs of rows share one packed 27x18 multiply per column when
``p_bits <= 8``), rows ``R-lut_rows .. R-1`` use LUT bit-plane multipliers.
Widths (signed): ``SW = score_bits(D)``, ``TW = tile_bits(block, p_bits)``
(see :mod:`golden.mpu`, the bit-exact model).

Ports (``clk`` rising edge; ``rst`` synchronous, active high, a ``ResetSignal``)
    in_valid, in_ready  input beat handshake (a beat moves when both are high)
    in_mode             0 = QK (key row), 1 = PV (p column + v row)
    in_last             QK: carried to ``s_last``; PV: last beat of the tile
    in_x [8D]           key row (QK) or value row (PV): int8 element d at bits [8d+7:8d]
    in_p [p_bits*R]     PV: unsigned p of row i at bits [p_bits*(i+1)-1 : p_bits*i]; ignored in QK
    ld_valid            write the resident Q row ``ld_row`` with ``ld_data`` (always accepted)
    ld_row [max(1, log2 R)], ld_data [8D]   (element d at bits [8d+7:8d])
    s_valid, s_ready    QK score column handshake
    s_data [SW*R]       score of row i at bits [SW*(i+1)-1 : SW*i]
    s_last              the key beat's ``in_last``
    t_valid, t_ready    PV tile drain handshake (one tile row per beat, rows 0..R-1)
    t_data [TW*D]       tile element (row t_row, column d) at bits [TW*(d+1)-1 : TW*d]
    t_row [log2 R]      the row being drained
    t_last              high on the tile's last row (R-1)
    idle                no beat in the pipeline and no tile draining (safe to load Q)

Parameters: ``cfg`` (AcceleratorConfig).

Pipeline and latency: stage 0 registers the beat, stage 1 the products,
stage 2 the score column (QK) or the accumulators (PV).  A QK beat accepted
in cycle c (``in_valid`` and ``in_ready`` high) has its score column on
``s_data`` with ``s_valid`` in cycle c+3 (latency 3).  A PV tile whose last
beat is accepted in cycle c drains its row 0 in cycle c+3 and its R rows on
the following ``t_ready`` cycles.  One beat per cycle in steady state in
either mode, and the modes may be mixed beat by beat.

Handshake: the pipeline advances as a whole (``ce``); it stalls while a
score column waits on ``s_ready``, or while the last beat of a PV tile
is about to enter stage 2 and the previous tile has not finished draining.
``in_ready`` is that advance signal, so it depends combinationally on
``s_ready``/``t_ready``.  A tile of at most ``block`` beats cannot overflow
``TW`` bits.  Accumulators restart from zero after each tile and after reset;
a reset in the middle of a stream drops everything in flight (a partial
tile, a pending drain, a waiting score column) and clears Q.  Load Q only
while no QK beat is in stages 0-1 (they read Q), e.g. while ``idle``.
"""

from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, always_seq, block, intbv

from hdl.numerics import product_bits, score_bits, tile_bits
from hdl.common.reset import sync_reset
from hdl.config import AcceleratorConfig
from hdl.mpu.pe_dsp import mpu_pe_dsp, packable
from hdl.mpu.pe_lut import mpu_pe_lut
from hdl.mpu.row import mpu_row

UNIT_NAME = "mpu"


def row_bits(rows: int) -> int:
    return max(1, (rows - 1).bit_length())


def widths(cfg: AcceleratorConfig) -> dict:
    """Port and datapath widths of the MPU for ``cfg``."""
    return {
        "R": cfg.mpu_rows, "D": cfg.head_dim, "p_bits": cfg.p_bits,
        "SW": score_bits(cfg.head_dim), "TW": tile_bits(cfg.block, cfg.p_bits),
        "PW": product_bits(cfg.p_bits), "RB": row_bits(cfg.mpu_rows),
        "lut_rows": cfg.lut_rows, "dsp_rows": cfg.dsp_rows, "packed": packable(cfg.p_bits),
    }


def dsp_groups(cfg: AcceleratorConfig) -> list[list[int]]:
    """Row groups of the DSP rows: pairs that share a packed multiplier, else singles."""
    rows = list(range(cfg.dsp_rows))
    if not packable(cfg.p_bits):
        return [[r] for r in rows]
    return [rows[i:i + 2] for i in range(0, len(rows), 2)]


@block
def mpu(clk, rst, in_valid, in_ready, in_mode, in_last, in_x, in_p,
        ld_valid, ld_row, ld_data,
        s_valid, s_ready, s_data, s_last,
        t_valid, t_ready, t_data, t_row, t_last, idle, cfg):
    w = widths(cfg)
    R, D, p_bits = w["R"], w["D"], w["p_bits"]
    score_width, tile_width, prod_width = w["SW"], w["TW"], w["PW"]

    ce = Signal(bool(0))
    v0, m0, l0 = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    v1, m1, l1 = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    sv, sl = Signal(bool(0)), Signal(bool(0))
    qk_load, pv_acc, pv_last, t_shift = (Signal(bool(0)) for _ in range(4))
    drain_left = Signal(intbv(0, min=0, max=R + 1))
    x0 = [Signal(intbv(0)[8:]) for _ in range(D)]

    prods = [[Signal(intbv(0, min=-2 ** (prod_width - 1), max=2 ** (prod_width - 1))) for _ in range(D)]
             for _ in range(R)]
    drains = [Signal(intbv(0)[D * tile_width:]) for _ in range(R)]
    scores = [Signal(intbv(0, min=-2 ** (score_width - 1), max=2 ** (score_width - 1))) for _ in range(R)]
    p_slices = [in_p((i + 1) * p_bits, i * p_bits) for i in range(R)]
    score_cat = ConcatSignal(*reversed(scores)) if R > 1 else scores[0]
    drain0 = drains[0]

    insts = []
    for group in dsp_groups(cfg):
        insts.append(mpu_pe_dsp(clk, rst, ce, m0, x0, [p_slices[r] for r in group],
                                ld_valid, ld_row, ld_data, [prods[r] for r in group],
                                rows=group, head_dim=D, p_bits=p_bits))
    for r in range(cfg.dsp_rows, R):
        insts.append(mpu_pe_lut(clk, rst, ce, m0, x0, p_slices[r], ld_valid, ld_row, ld_data,
                                prods[r], row=r, head_dim=D, p_bits=p_bits))
    for r in range(R):
        insts.append(mpu_row(clk, rst, qk_load, pv_acc, pv_last, t_shift, prods[r],
                             drains[r + 1] if r + 1 < R else None, drains[r], scores[r],
                             head_dim=D, tile_width=tile_width, score_width=score_width))

    @always_comb
    def control():
        # The whole pipeline advances together; it holds while a score column
        # is refused, or while a tile's last beat must wait for the drain buffer.
        hold_qk = sv and not s_ready
        drain_free = drain_left == 0 or (drain_left == 1 and t_ready)
        hold_pv = v1 and m1 and l1 and not drain_free
        adv = not (hold_qk or hold_pv)
        ce.next = adv
        in_ready.next = adv
        qk_load.next = adv and v1 and not m1
        pv_acc.next = adv and v1 and m1
        pv_last.next = l1
        t_shift.next = drain_left != 0 and t_ready

    @always_seq(clk.posedge, reset=rst)
    def stages():
        if ce:
            v0.next = in_valid
            v1.next = v0
            sv.next = v1 and not m1
        elif s_ready:
            sv.next = 0
        if ce and v1 and m1 and l1:
            drain_left.next = R
        elif drain_left != 0 and t_ready:
            drain_left.next = drain_left - 1

    @always(clk.posedge)
    def beat_regs():
        if ce:
            m0.next = in_mode
            l0.next = in_last
            m1.next = m0
            l1.next = l0
            sl.next = l1
            for d in range(D):
                x0[d].next = (in_x >> (8 * d)) & 0xFF

    @always_comb
    def outputs():
        s_valid.next = sv
        s_last.next = sl
        s_data.next = score_cat
        t_valid.next = drain_left != 0
        t_last.next = drain_left == 1
        t_row.next = (R - drain_left) % R
        t_data.next = drain0
        idle.next = not (v0 or v1 or sv) and drain_left == 0

    return insts, control, stages, beat_regs, outputs


def ports(cfg: AcceleratorConfig) -> dict:
    """Fresh signals for every MPU port (for conversion)."""
    w = widths(cfg)
    R, D = w["R"], w["D"]
    b = lambda: Signal(bool(0))  # noqa: E731
    return dict(
        clk=b(), rst=sync_reset(), in_valid=b(), in_ready=b(), in_mode=b(), in_last=b(),
        in_x=Signal(intbv(0)[8 * D:]), in_p=Signal(intbv(0)[w["p_bits"] * R:]),
        ld_valid=b(), ld_row=Signal(intbv(0)[w["RB"]:]), ld_data=Signal(intbv(0)[8 * D:]),
        s_valid=b(), s_ready=b(), s_data=Signal(intbv(0)[w["SW"] * R:]), s_last=b(),
        t_valid=b(), t_ready=b(), t_data=Signal(intbv(0)[w["TW"] * D:]),
        t_row=Signal(intbv(0)[w["RB"]:]), t_last=b(), idle=b())


def top(cfg: AcceleratorConfig):
    """The MPU instance to convert for ``cfg`` (used by :mod:`hdl.convert`)."""
    return mpu(**ports(cfg), cfg=cfg)
