"""``fast-prefill demo``: the accelerator RTL on one SmolLM2 attention layer, end to end.

Captures the layer's post-RoPE Q/K/V on the prompt (golden.smollm2), quantises and lays them
out with the host driver (host), builds ``fast_prefill_top`` with Verilator (cached
under build/sim), runs it with the cocotb HBM model (tb/test_top.py), and prints: pattern density
and recall, output error vs dense float attention, cycles per unit, the time projected at the
preset's clock, HBM traffic vs a dense run, cache hit rates and the bit-exact verdict against
the golden fixed-point model.

Default: the smollm2 preset (B = D = 64, the model's real heads; one lane, so each KV group's 3
heads run in 3 passes), layer 3, 1024 tokens: about 3.5 minutes on 2 cores including the first
build (conversion ~70 s, verilate + compile ~50 s, simulation of ~220,000 cycles ~75 s;
docs/top.md, session 4).  ``--preset ci`` (B = D = 16, SmolLM2's heads cut to their first 8
rotary pairs) is the default suite's size.  The report gives the build times when this run built
the RTL, and the simulation speed.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from pathlib import Path

from hdl.errors import UserError
from hdl.config import PRESETS

DEFAULT_TOKENS = 1024
DEFAULT_PRESET = "smollm2"
DEFAULT_LAYER = 3
N_LAYERS = 30


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the accelerator RTL on one SmolLM2 layer and report")
    p.add_argument("--tokens", type=int, default=DEFAULT_TOKENS,
                   help=f"prompt length (default {DEFAULT_TOKENS})")
    p.add_argument("--layer", type=int, default=DEFAULT_LAYER, help=f"SmolLM2 layer 0..29 (default {DEFAULT_LAYER})")
    p.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(PRESETS),
                   help=f"hardware preset (default {DEFAULT_PRESET})")
    p.add_argument("--prompt-file", type=Path, help="your own text file as the prompt (default: the shipped one)")
    p.add_argument("--waves", action="store_true",
                   help="write an FST wave file and a GTKWave save file (smollm2: ~3 MB per 1000 cycles, "
                        "100 MB at --tokens 256, ~0.6 GB at the default length)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--lat", type=int, default=30, help="HBM latency in cycles (default 30)")
    p.set_defaults(func=run)


@contextlib.contextmanager
def _log_to(path: Path, bar: "_Bar"):
    """Send everything written to file descriptors 1 and 2 (Verilator, make, the simulator) to
    ``path``; the progress bar keeps writing to the terminal."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved1, saved2 = os.dup(1), os.dup(2)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    old_out = bar.out
    bar.out = os.fdopen(os.dup(saved2), "w", buffering=1)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved1, 1)
        os.dup2(saved2, 2)
        for f in (fd, saved1, saved2):
            os.close(f)
        bar.out.close()
        bar.out = old_out


class _Bar:
    """A one-line progress bar on stderr (stages, and the simulated cycles during the run)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.t0 = time.perf_counter()
        self.out = sys.stderr

    def show(self, stage: str, frac: float | None = None) -> None:
        if not self.enabled:
            return
        el = time.perf_counter() - self.t0
        bar = ""
        if frac is not None:
            n = int(30 * min(max(frac, 0.0), 1.0))
            bar = f"[{'#' * n}{'.' * (30 - n)}] {100 * min(frac, 1.0):3.0f}% "
        self.out.write(f"\r{bar}{stage:50.50s} {el:6.0f} s")
        self.out.flush()

    def done(self) -> None:
        if self.enabled:
            self.out.write("\n")


def _range(verilog_text: str, name: str) -> str:
    """``[msb:0]`` of a vector declared in the converted Verilog ('' for a single bit)."""
    import re
    m = re.search(rf"^\s*(?:input|output|reg|wire)\s+(?:signed\s+)?\[(\d+):0\]\s+{name}\s*;", verilog_text, re.M)
    return f"[{m.group(1)}:0]" if m else ""


def _gtkw(path: Path, wave: Path | None, verilog: Path) -> Path:
    """A GTKWave save file with the key signals grouped (control, HBM ports, scheduler)."""
    import re
    text = verilog.read_text() if verilog.exists() else ""
    groups = {"control": ["ap_clk", "ap_rst_n", "interrupt", "s_axi_control_awvalid", "s_axi_control_awaddr",
                          "s_axi_control_wdata", "s_axi_control_arvalid", "s_axi_control_araddr",
                          "s_axi_control_rdata"]}
    for b in ("q", "idx", "kv", "o"):
        sigs = [f"m_axi_{b}_arvalid", f"m_axi_{b}_arready", f"m_axi_{b}_araddr", f"m_axi_{b}_rvalid",
                f"m_axi_{b}_rresp"]
        if b == "o":
            sigs = ["m_axi_o_awvalid", "m_axi_o_awaddr", "m_axi_o_wvalid", "m_axi_o_wready", "m_axi_o_bvalid",
                    "m_axi_o_bresp"]
        groups[f"HBM port {b}"] = sigs
    internal = [n for n in ("top_sched0_state", "top_sched0_j", "top_sched0_hp", "top_sched0_gp",
                            "top_sched0_err_code", "sig0_state",
                            "grp_attn0_state") if re.search(rf"\b{n}\b", text)]
    groups["scheduler and units"] = internal
    lines = []
    if wave is not None:
        lines.append(f'[dumpfile] "{wave}"')
    lines.append(f'[savefile] "{path}"')
    for name, sigs in groups.items():
        lines += ["@800200", f"-{name}", "@28"]
        lines += [f"TOP.fast_prefill_top.{s}{_range(text, s)}" for s in sigs]
        lines += ["@1000200", f"-{name}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_top(cfg, layer: int, n_tokens: int, prompt, lat: int = 30, waves: bool = False,
            progress: bool = True) -> dict:
    """Run one layer through the top RTL; returns the report dict (see :func:`format_report`)."""
    import torch

    from host.driver import Accelerator
    from golden.attention import dense_attention, relative_error
    from golden.cache_sim import liveness, simulate_liveness
    from golden.pattern import dense_pattern, recall
    from hdl.convert import unsupported_reason
    from tb.benchmarks.top import compulsory_bytes, golden_for, ideal_cycles, layer_tensors, unit_ideal
    from tb.kit.runner import BenchFailure, build, build_dir_for
    from tb.kit.runner import run as run_bench

    reason = unsupported_reason("fast_prefill_top", cfg)
    if reason:
        raise UserError(f"--preset {cfg.name}: the top cannot be built for it yet ({reason})")
    if not 0 <= layer < N_LAYERS:
        raise UserError(f"--layer must lie in 0..{N_LAYERS - 1}, got {layer}")
    if not 1 <= n_tokens <= cfg.max_seq_len:
        raise UserError(f"--tokens must lie in 1..{cfg.max_seq_len} for preset {cfg.name}, got {n_tokens}")
    bar = _Bar(progress)
    t_start = time.perf_counter()
    bar.show("capturing the layer (SmolLM2 forward, cached)")
    q, k, v = layer_tensors(layer, n_tokens, cfg, prompt)
    H, Hkv = q.shape[0], k.shape[0]
    bar.show("quantising, layout, golden model")
    acc = Accelerator(cfg, None)
    job = acc.plan(q, k, v)
    gold = golden_for(job)
    g = H // Hkv
    pooled = job.sparsity.row_gamma > 0
    ideal = ideal_cycles(gold, cfg, n_tokens, pooled=pooled)
    both = unit_ideal(gold, cfg, n_tokens, pooled=pooled)
    bdir = build_dir_for("fast_prefill_top", cfg, waves)
    bdir.mkdir(parents=True, exist_ok=True)
    cases, out, dump, prog = (bdir / f"demo-{n}" for n in ("cases.pt", "out.json", "o.pt", "progress"))
    for f in (out, dump, prog):
        f.unlink(missing_ok=True)
    torch.save({"cases": [{"name": f"layer{layer}-{n_tokens}", "job": job, "gold": gold, "status": 0,
                           "dump": str(dump)}]}, cases)
    log = bdir / "demo.log"
    setup = time.perf_counter() - t_start
    expect = 1.3 * both["total"] + 4000 * Hkv
    stop = threading.Event()

    def poll():
        while not stop.wait(1.0):
            try:
                c = int(prog.read_text())
            except (OSError, ValueError):
                bar.show("converting and building the RTL (Verilator, cached)")
                continue
            bar.show(f"simulating: {c} cycles", c / expect)
    th = threading.Thread(target=poll, daemon=True)
    th.start()
    t_sim = time.perf_counter()
    verdict, detail = "bit-exact", ""
    build_s: dict = {}
    try:
        with _log_to(log, bar):
            try:
                t_build = time.time()
                times = build("fast_prefill_top", cfg, waves=waves) / "build-times.json"
                if times.exists() and times.stat().st_mtime >= t_build:
                    build_s = json.loads(times.read_text())   # built in this run (not cached)
                res = run_bench("fast_prefill_top", cfg, "tb.test_top", testcase="test_cases", waves=waves,
                                tag="demo", extra_env={"TOP_CASES": str(cases), "TOP_OUT": str(out),
                                                       "TOP_LAT": str(lat), "TOP_PROGRESS": str(prog)})
            finally:
                stop.set()
                th.join()
    except BenchFailure as exc:
        res, verdict, detail = None, "MISMATCH", str(exc)
    sim_wall = time.perf_counter() - t_sim
    bar.show("report", 1.0)
    bar.done()
    if not out.exists():
        raise UserError(f"the simulation produced no results ({detail or 'log: ' + str(log)})")
    r = json.loads(out.read_text())[0]
    cnt = r["counters"]
    o_int = torch.load(dump)["o_int"] if dump.exists() else gold["o_int"]
    fi = job.inputs
    o_float = (o_int.double() * fi.v_scale[torch.arange(H) // g][:, None, :] * 2.0 ** -cfg.o_frac_bits).float()
    dense = dense_attention(q, k, v)
    err = relative_error(o_float, dense)
    pat = gold["pattern"]
    rec = recall(pat, q, k)
    # dense run's KV traffic: the same cache on the full causal pattern, per pass as the top runs it
    dp = dense_pattern(H, n_tokens, cfg.block)
    dense_kv = 0
    dense_tiles_kv = 0
    for hs in cfg.layer_passes(H, Hkv):
        m = dp.mask[hs.start:hs.stop]
        lv = liveness(m, sorted({c for h in hs for c in dp.vertical[h]}))
        st = simulate_liveness(lv, cfg.tier1_blocks, cfg.tier2_blocks, cfg.kv_block_bytes, "liveness")
        dense_kv += st.hbm_bytes
        dense_tiles_kv += lv.accesses * 2 * cfg.kv_block_bytes
    lay = job.layout
    comp = compulsory_bytes(job)
    accesses = cnt["cnt_hit1"] + cnt["cnt_hit2"] + cnt["cnt_miss"]
    clk = cfg.clock_mhz * 1e6
    qo = lay.q_bytes + lay.o_bytes
    rep = {
        "preset": cfg.name, "layer": layer, "tokens": n_tokens, "H": H, "Hkv": Hkv,
        "block": cfg.block, "head_dim": cfg.head_dim, "lanes": cfg.lanes, "passes_per_group": len(cfg.head_passes(g)),
        "clock_mhz": cfg.clock_mhz, "hbm_latency": lat,
        "density": float(pat.mean_density()), "density_per_head": [float(x) for x in pat.density()],
        "recall": float(rec.mean()), "recall_per_head": [float(x) for x in rec],
        "rel_error_vs_dense": float(err.mean()), "rel_error_per_head": [float(x) for x in err],
        "top": cnt, "cycles": {"total": cnt["cnt_cycles"], "index_generator": cnt["cnt_sig_cycles"],
                               "attention": cnt["cnt_attn_cycles"],
                               "other": cnt["cnt_cycles"] - cnt["cnt_sig_cycles"] - cnt["cnt_attn_cycles"]},
        "ideal_cycles": ideal, "unit_ideal": both, "projected_ms": 1e3 * cnt["cnt_cycles"] / clk,
        "hbm": {"read": cnt["cnt_rd_bytes"], "write": cnt["cnt_wr_bytes"], "kv": cnt["cnt_kv_bytes"],
                "dense_kv_cached": dense_kv, "dense_kv_uncached": dense_tiles_kv,
                "dense_total_cached": dense_kv + qo + lay.kv_bytes * 2,
                "sparse_total": cnt["cnt_rd_bytes"] + cnt["cnt_wr_bytes"]},
        "compulsory_bytes": comp,
        "cache": {"accesses": accesses, "hit1": cnt["cnt_hit1"], "hit2": cnt["cnt_hit2"], "miss": cnt["cnt_miss"],
                  "hit_rate": (cnt["cnt_hit1"] + cnt["cnt_hit2"]) / max(accesses, 1)},
        "verdict": verdict, "detail": detail, "sim_wall_s": r["wall_s"], "setup_s": setup,
        "total_wall_s": time.perf_counter() - t_start, "build_s": build_s,
        "sim_cycles_per_s": r["cycles"] / max(r["wall_s"], 1e-9),
        "waves": None, "gtkw": None, "log": str(log),
    }
    if waves and res is not None and res.waves_file is not None:
        rep["waves"] = str(res.waves_file)
        rep["gtkw"] = str(_gtkw(res.waves_file.with_suffix(".gtkw"), res.waves_file,
                                bdir / "verilog" / "fast_prefill_top.v"))
    return rep


def format_report(rep: dict) -> str:
    c, h, ca = rep["cycles"], rep["hbm"], rep["cache"]
    ideal = rep["ideal_cycles"]
    both = rep["unit_ideal"]
    bt = rep["build_s"]
    built = (", ".join(f"{k} {v:.0f} s" for k, v in bt.items())) if bt else "cached"
    lines = [
        f"fast-prefill demo: SmolLM2 layer {rep['layer']}, {rep['tokens']} tokens, {rep['H']} heads / "
        f"{rep['Hkv']} KV heads, preset {rep['preset']} (B={rep['block']}, D={rep['head_dim']}, "
        f"{rep['lanes']} lane(s): {rep['passes_per_group']} pass(es) per KV group)",
        f"  pattern density      {rep['density']:.3f} of the causal tiles (per head "
        + " ".join(f"{x:.2f}" for x in rep["density_per_head"]) + ")",
        f"  recall               {rep['recall']:.4f} of the dense softmax mass",
        f"  output error         {rep['rel_error_vs_dense']:.4f} relative to dense float attention "
        f"(per head max {max(rep['rel_error_per_head']):.4f})",
        f"  cycles               {c['total']} total: index generator {c['index_generator']} "
        f"(ideal {both['sig']:.0f}, {both['bound']['sig']}-bound), attention {c['attention']} "
        f"(ideal {both['attn']:.0f}, {both['bound']['attn']}-bound), codes / index dump / checks {c['other']}",
        f"  projected time       {rep['projected_ms']:.3f} ms at {rep['clock_mhz']:.0f} MHz "
        f"({c['total'] / both['total']:.2f}x the ideal unit cycles, the larger of compute and bus per unit; "
        f"{c['total'] / ideal['total']:.2f}x the compute-only ideal)",
        f"  HBM traffic          read {h['read']} B, written {h['write']} B; KV {h['kv']} B vs a dense run "
        f"{h['dense_kv_cached']} B with the same cache ({h['kv'] / max(h['dense_kv_cached'], 1):.2f}x), "
        f"{h['dense_kv_uncached']} B uncached",
        f"  cache                {ca['accesses']} block accesses: tier-1 hits {ca['hit1']}, tier-2 hits "
        f"{ca['hit2']}, misses {ca['miss']} (hit rate {ca['hit_rate']:.3f})",
        f"  verdict              {rep['verdict']} vs the golden fixed-point model (O of every head, "
        f"index sets, cache counters)" + (f": {rep['detail']}" if rep["detail"] else ""),
        f"  simulation           {c['total']} cycles in {rep['sim_wall_s']:.1f} s "
        f"({rep['sim_cycles_per_s']:.0f} cycles/s); capture and golden {rep['setup_s']:.0f} s; "
        f"RTL build {built}; total {rep['total_wall_s']:.0f} s",
    ]
    if rep.get("waves"):
        lines.append(f"  waves                {rep['waves']} (gtkwave {rep['waves']} {rep['gtkw']})")
    return "\n".join(lines)


def run(args) -> int:
    from hdl.config import preset
    cfg = preset(args.preset)
    prompt = "default"
    if args.prompt_file is not None:
        if not args.prompt_file.is_file():
            raise UserError(f"--prompt-file {args.prompt_file}: no such file")
        prompt = args.prompt_file
    if args.lat < 0:
        raise UserError(f"--lat must be >= 0, got {args.lat}")
    rep = run_top(cfg, args.layer, args.tokens, prompt, lat=args.lat, waves=args.waves,
                  progress=not args.json)
    print(json.dumps(rep, indent=1) if args.json else format_report(rep))
    return 0 if rep["verdict"] == "bit-exact" else 1
