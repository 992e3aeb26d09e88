"""Hybrid Matrix Processing Unit (MPU): an R x D int8 array, QK and PV modes, valid/ready.

Sizes come from :class:`hdl.config.AcceleratorConfig`: ``R = mpu_rows = B``, ``D = head_dim``,
``p_bits``; rows ``0 .. R-lut_rows-1`` use DSP multipliers (pairs of rows share one packed
27x18 multiply per column when ``p_bits <= 10``), rows ``R-lut_rows .. R-1`` use LUT Booth
multipliers.  Widths (signed): ``SW = score_bits(D)``, ``TW = tile_bits(B, p_bits)`` (see
:mod:`golden.mpu`, the bit-exact model).

Both modes are row dot products of resident operands and a broadcast beat
(hdl/mpu/layout.py): in QK mode the resident Q row times a key row gives a score column, in PV
mode the resident V tile (two banks, loaded a row at a time) times a P row gives a tile row.
Q has two banks too, so the next query block loads while the current one's key beats run.
No cell accumulates, so there is no accumulator and no drain register.

Ports (``clk`` rising edge; ``rst`` synchronous, active high, a ``ResetSignal``)
    in_valid, in_ready  input beat handshake (a beat moves when both are high)
    in_mode             0 = QK (key row), 1 = PV (P row)
    in_last             carried to ``s_last`` (QK) or ``t_last`` (PV)
    in_x [8D]           QK: key row, int8 element d at bits [8d+7:8d]; ignored in PV
    in_p [p_bits*R]     PV: one row of P, unsigned p of key j at bits [p_bits*(j+1)-1 : p_bits*j]
                        (keys a tile does not have must be 0); ignored in QK
    in_bank             the bank the beat multiplies: the Q bank in QK, the V bank in PV
    ld_valid            write row ``ld_row`` of Q bank ``ld_bank`` with ``ld_data`` (always accepted)
    ld_bank, ld_row [max(1, log2 R)], ld_data [8D]   (element d at bits [8d+7:8d])
    vl_valid            write row ``vl_row`` (key 0..B-1) of the V tile in bank ``vl_bank``
    vl_bank, vl_row [max(1, log2 R)], vl_data [8D]   (always accepted)
    s_valid, s_ready    QK score column handshake
    s_data [SW*R]       score of row i at bits [SW*(i+1)-1 : SW*i]
    s_last              the key beat's ``in_last``
    t_valid, t_ready    PV tile row handshake (one tile row per P row beat)
    t_data [TW*D]       tile element (row t_row, column d) at bits [TW*(d+1)-1 : TW*d]
    t_row [log2 R]      PV beats since the last ``t_last`` (0 after reset)
    t_last              the P row beat's ``in_last``
    v_busy [2]          bit b: a PV beat of V bank b is in stage 0 (it reads V this cycle)
    idle                no beat in the pipeline (safe to load Q)

Parameters: ``cfg`` (AcceleratorConfig).

Pipeline and latency: stage 0 registers the beat's column operands, stage 1 the products,
stage 2 the row sums (the score column or the tile row).  A beat accepted in cycle c has its
result on ``s_data`` / ``t_data`` in cycle c+3 (latency 3), one beat per cycle in steady state
in either mode, and the modes may be mixed beat by beat.

Handshake: the pipeline advances as a whole (``ce``); it stalls while a result waits on
``s_ready`` / ``t_ready``.  ``in_ready`` is that advance signal, so it depends
combinationally on ``s_ready`` / ``t_ready``.  A reset drops everything in flight and clears
Q and V.  Load a Q bank only while no QK beat of that bank is in stage 0-1; load a V bank
only while no PV beat of that bank is in stage 0: after the bank's last beat was accepted,
from the first cycle ``v_busy`` shows the bank free.
"""

from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, always_seq, block, concat, intbv

from hdl.common.wires import wire
from hdl.common.reset import sync_reset
from hdl.config import AcceleratorConfig
from hdl.mpu.columns import mpu_columns
from hdl.mpu.layout import groups, key_offset, out_parts
from hdl.mpu.pe_dsp import mpu_pe_dsp, packable
from hdl.mpu.pe_lut import lut_bias, lut_product_bits, mpu_pe_lut
from hdl.mpu.resident import mpu_resident
from hdl.mpu.row import mpu_row
from hdl.numerics import operand_bits, product_bits, score_bits, tile_bits

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
def mpu(clk, rst, in_valid, in_ready, in_mode, in_last, in_x, in_p, in_bank,
        ld_valid, ld_bank, ld_row, ld_data, vl_valid, vl_bank, vl_row, vl_data,
        s_valid, s_ready, s_data, s_last,
        t_valid, t_ready, t_data, t_row, t_last, v_busy, idle, cfg):
    w = widths(cfg)
    R, D, p_bits = w["R"], w["D"], w["p_bits"]
    B = cfg.block
    score_width, tile_width, prod_width = w["SW"], w["TW"], w["PW"]
    op_bits = operand_bits(p_bits)
    NG = groups(B, D)
    key_groups = 1 if D >= B else B // D       # rows sharing one set of column operands

    ce = Signal(bool(0))
    v0, m0, l0, vb0 = Signal(bool(0)), Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    v1, m1, l1 = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    sv, tv, ol = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    qk_load, pv_load = Signal(bool(0)), Signal(bool(0))
    trow = Signal(intbv(0)[w["RB"]:])

    cols = [[Signal(intbv(0, min=-2 ** (op_bits - 1), max=2 ** (op_bits - 1))) for _ in range(D)]
            for _ in range(key_groups)]
    a_ops = [[Signal(intbv(0)[8:]) for _ in range(D)] for _ in range(R)]
    prods = [[Signal(intbv(0, min=-2 ** (prod_width - 1), max=2 ** (prod_width - 1))) for _ in range(D)]
             for _ in range(R)]
    scores = [Signal(intbv(0, min=-2 ** (score_width - 1), max=2 ** (score_width - 1))) for _ in range(R)]
    parts = [Signal(intbv(0)[NG * tile_width:]) for _ in range(R)]
    score_cat = ConcatSignal(*reversed(scores)) if R > 1 else scores[0]

    def cols_of(r: int) -> list:
        return cols[0] if D >= B else cols[r // D]

    insts = [mpu_columns(clk, ce, in_mode, in_x, in_p, cols[t], key_offset(t * D, B, D), B, p_bits)
             for t in range(key_groups)]
    insts += [mpu_resident(clk, rst, ld_valid, ld_bank, ld_row, ld_data, vl_valid, vl_bank, vl_row,
                           vl_data, m0, vb0, a_ops[r], row=r, block=B) for r in range(R)]
    borrows = [None] * R
    for group in dsp_groups(cfg):
        if len(group) == 2 and packable(p_bits):
            borrows[group[0]] = [Signal(bool(0)) for _ in range(D)]
        insts.append(mpu_pe_dsp(clk, ce, [a_ops[r] for r in group], cols_of(group[0]),
                                [prods[r] for r in group], borrows[group[0]], p_bits=p_bits))
    bias = [0] * R
    for r in range(cfg.dsp_rows, R):
        # LUT rows hand biased unsigned products and their top digits' +1 to the row
        prods[r] = [Signal(intbv(0)[lut_product_bits(p_bits):]) for _ in range(D)]
        borrows[r] = [Signal(bool(0)) for _ in range(D)]
        bias[r] = lut_bias(p_bits)
        insts.append(mpu_pe_lut(clk, ce, a_ops[r], cols_of(r), prods[r], borrows[r], p_bits=p_bits))
    for r in range(R):
        insts.append(mpu_row(clk, qk_load, pv_load, prods[r], borrows[r], scores[r], parts[r],
                             block=B, tile_width=tile_width, score_width=score_width, p_bits=p_bits,
                             lut_bias=bias[r]))

    # tile column d is the sum of the row partials layout.out_parts lists
    if D >= B:
        tcols = [parts[r]((k + 1) * tile_width, k * tile_width) if NG > 1 else parts[r]
                 for d in range(D) for (r, k) in out_parts(d, B, D)]
        tile_cat = ConcatSignal(*reversed(tcols)) if D > 1 else tcols[0]
        insts.append(wire(tile_cat, t_data))
    else:
        insts.append(_column_sums(parts, t_data, B, D, tile_width))

    @always_comb
    def control():
        # The whole pipeline advances together; it holds while a result is refused.
        adv = not ((sv and not s_ready) or (tv and not t_ready))
        ce.next = adv
        in_ready.next = adv
        qk_load.next = adv and v1 and not m1
        pv_load.next = adv and v1 and m1

    @always_seq(clk.posedge, reset=rst)
    def stages():
        if ce:
            v0.next = in_valid
            v1.next = v0
            sv.next = v1 and not m1
            tv.next = v1 and m1
        else:
            if s_ready:
                sv.next = 0
            if t_ready:
                tv.next = 0
        if tv and t_ready:
            if ol:
                trow.next = 0
            else:
                trow.next = trow + 1

    @always(clk.posedge)
    def beat_regs():
        if ce:
            m0.next = in_mode
            l0.next = in_last
            vb0.next = in_bank
            m1.next = m0
            l1.next = l0
            ol.next = l1

    @always_comb
    def outputs():
        s_valid.next = sv
        s_last.next = ol
        s_data.next = score_cat
        t_valid.next = tv
        t_last.next = ol
        t_row.next = trow
        idle.next = not (v0 or v1 or sv or tv)
        v_busy.next = concat(v0 and m0 and vb0, v0 and m0 and not vb0)

    return insts, control, stages, beat_regs, outputs


@block
def _column_sums(row_parts, t_data, block, head_dim, tile_width):
    """``D < B``: tile column d = the sum of the partials of rows d, d + D, ..."""
    B, D, TW = block, head_dim, tile_width
    cat = ConcatSignal(*reversed(row_parts))
    mask = (1 << TW) - 1

    @always_comb
    def sums():
        e = intbv(0)[TW:]
        acc = intbv(0, min=-2 ** (TW - 1), max=2 ** (TW - 1))
        v = intbv(0)[D * TW:]
        for d in range(D):
            acc[:] = 0
            for t in range(B // D):
                e[:] = (cat >> (TW * (d + t * D))) & mask
                acc[:] = acc + e.signed()
            v[:] = (v >> TW) | (acc[TW:] << ((D - 1) * TW))
        t_data.next = v

    return sums


def ports(cfg: AcceleratorConfig) -> dict:
    """Fresh signals for every MPU port (for conversion)."""
    w = widths(cfg)
    R, D = w["R"], w["D"]
    b = lambda: Signal(bool(0))  # noqa: E731
    return dict(
        clk=b(), rst=sync_reset(), in_valid=b(), in_ready=b(), in_mode=b(), in_last=b(),
        in_x=Signal(intbv(0)[8 * D:]), in_p=Signal(intbv(0)[w["p_bits"] * R:]), in_bank=b(),
        ld_valid=b(), ld_bank=b(), ld_row=Signal(intbv(0)[w["RB"]:]), ld_data=Signal(intbv(0)[8 * D:]),
        vl_valid=b(), vl_bank=b(), vl_row=Signal(intbv(0)[w["RB"]:]), vl_data=Signal(intbv(0)[8 * D:]),
        s_valid=b(), s_ready=b(), s_data=Signal(intbv(0)[w["SW"] * R:]), s_last=b(),
        t_valid=b(), t_ready=b(), t_data=Signal(intbv(0)[w["TW"] * D:]),
        t_row=Signal(intbv(0)[w["RB"]:]), t_last=b(), v_busy=Signal(intbv(0)[2:]), idle=b())


def top(cfg: AcceleratorConfig):
    """The MPU instance to convert for ``cfg`` (used by :mod:`hdl.convert`)."""
    return mpu(**ports(cfg), cfg=cfg)
