"""Accelerator top benchmark: end-to-end cycles vs the ideal unit cycles, HBM bytes vs
compulsory, simulation speed.

``fast-prefill bench top [--tokens N] [--layer L] [--preset P] [--lat C]``
    Runs one full SmolLM2 layer (all heads, every KV group) through hdl/top/fast_prefill_top.py with
    the host driver (host) and the HBM model of tb.kit.host_sim, checks the
    index sets (and O when the attention datapath is built) bit-exact against the golden model,
    and prints:
    * cycles: total (cnt_cycles) vs the sum of the ideal unit cycles.  Per unit two bounds, and
      the unit's ideal is the larger: *compute*, per KV group the index generator's ``2 passes x
      g*B rows x L keys x D MACs / (max_group MPUs x B x D MACs per cycle)`` (tb/benchmarks/sig.py)
      and the attention's union accesses x 2B (one K and one V row per cycle over the group's
      merged key-block stream); *bus*, the bytes the unit must move through its busiest port
      divided by that port's bytes per cycle (the HBM pseudo-channel model of
      tb.kit.host_sim: ``min(axi bytes, 14.375 GB/s / clock)``), see :func:`bus_cycles`.
      The split per unit (cnt_sig_cycles, cnt_attn_cycles) and the rest (codes, index dump,
      checks);
    * HBM bytes read / written vs compulsory (Q, K, V, codes read once by the attention phase,
      K twice and Q_last by the index generator; O and the index sets written once);
    * simulated cycles per second of wall time.

The layer job, shared with ``fast-prefill demo`` (fast_prefill/commands/demo.py prints its report):
    run_top(cfg, layer, n_tokens, prompt, lat=30, waves=False, progress=True) -> dict

Host-side helpers shared with tests/test_top.py, tests/test_perf.py and the calibration
(tb/benchmarks/calibrate.py) (torch, no simulator):
    layer_tensors(layer, n_tokens, cfg, prompt) -> (q, k, v) float, cut to cfg.head_dim
    golden_for(job) -> dict (pattern, vertical, slash, o_int, o_float, cache stats per group)
    ideal_cycles(golden, cfg, L, pooled=False) -> dict   (compute bound per unit)
    bus_cycles(golden, cfg, L, pooled=False) -> dict     (bus bound per unit)
    unit_ideal(golden, cfg, L, pooled=False) -> dict     (per unit the larger of the two)
    compulsory_bytes(job) -> dict                        (HBM bytes every run moves)
    run_top_cases(cfg, cases, tag, lat=30) -> list[dict] (cases through tb/test_top.py)
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from pathlib import Path

from hdl.config import num_blocks
from hdl.errors import UserError

DESCRIPTION = "accelerator top: end-to-end cycles vs ideal unit cycles, HBM bytes vs compulsory, sim speed"
#: SmolLM2-135M's layers (golden.smollm2)
N_LAYERS = 30


def layer_tensors(layer: int, n_tokens: int, cfg, prompt: str = "default"):
    """One SmolLM2 layer's post-RoPE q [H, L, D], k, v [Hkv, L, D] on a prompt.  When
    cfg.head_dim is smaller than the model's 64, the channels are cut to both halves of the
    first rotary pairs (Q/K) and the first channels (V), as the unit benches do."""
    import torch

    from golden.smollm2 import load_qkv
    cap = load_qkv(layer, n_tokens, prompt)
    q, k, v = cap.q, cap.k, cap.v
    HD, D = q.shape[-1], cfg.head_dim
    if D > HD:
        raise ValueError(f"head_dim: the preset's D = {D} exceeds SmolLM2's {HD}")
    if D < HD:
        ch = torch.cat([torch.arange(D // 2), HD // 2 + torch.arange(D // 2)])
        q, k, v = q[..., ch], k[..., ch], v[..., :D]
    return q.contiguous(), k.contiguous(), v.contiguous()


def golden_for(job) -> dict:
    """The golden results of a planned run: the fixed-point pattern of the job's sparsity (the
    pooled per-row estimate included when row_gamma > 0), the fixed-point attention output, and
    the cache simulator per pass of the top (``cfg.head_passes``: per KV group when lanes >= g);
    ``groups`` lists the passes in the order the top runs them."""
    from golden import cache_sim
    from golden.estimator_fixed import estimate_pattern_fixed
    from golden.fixed_attention import fixed_sparse_attention
    fi, sp = job.inputs, job.sparsity
    cfg = fi.cfg
    pat = estimate_pattern_fixed(fi.q, fi.k, cfg, sp)
    res = fixed_sparse_attention(fi, pat.mask)
    H, Hkv, L, D = fi.shape
    g = H // Hkv
    groups = []
    residency = None
    for hs in cfg.layer_passes(H, Hkv):
        m = pat.mask[hs.start:hs.stop]
        vert = sorted({c for h in hs for c in pat.vertical[h]})
        lv, st, residency = cache_sim.simulate_pass(cfg, m, vert, hs, g, residency)
        groups.append({"stats": st, "union": lv.accesses, "tiles": int(m.sum()), "group": hs.start // g,
                       "heads": hs})
    return {"pattern": pat, "vertical": pat.vertical, "slash": pat.slash, "o_int": res.o_int,
            "o_float": res.o_float, "groups": groups}


def ideal_cycles(gold: dict, cfg, L: int, pooled: bool = False) -> dict:
    """Ideal unit cycles of a layer, per unit counter of the top.

    Per pass of the top (``gold["groups"]``: n of a group's g heads at ``cfg.lanes`` lanes):
    sig:  the index generator's 2 passes over K at ``lanes`` MPUs, one key row per cycle; with the
          pooled per-row estimate (``pooled``) also its block-means load, (n + 1) L rows at
          sig_pool's one row per cycle (``cnt_sig_cycles`` counts both; the bytes are
          :func:`bus_cycles`' part).
    attn: one K/V row per cycle over every group's union of kept tiles (2 x B rows per tile);
          with ``pooled`` also the pooled rows' candidates, one per cycle (nb (nb + 1) / 2 per
          group: the row stream needs every row's pooled bits before the cache starts).
    """
    B, D = cfg.block, cfg.head_dim
    nb = num_blocks(L, B)
    passes = gold["groups"]
    sig = sum(2 * len(gr["heads"]) * B * L * D / (cfg.lanes * cfg.macs_per_cycle) for gr in passes)
    attn = sum(2 * B * gr["union"] for gr in passes)
    if pooled:
        sig += sum((len(gr["heads"]) + 1) * L for gr in passes)
        attn += len(passes) * nb * (nb + 1) / 2
    return {"sig": sig, "attn": attn, "total": sig + attn}


def port_bytes_per_cycle(cfg, write: bool = False) -> float:
    """Bytes one m_axi port moves per kernel cycle in the simulation's HBM model: one beat per
    cycle, the read data capped at one HBM pseudo-channel (tb.kit.host_sim.beat_rate: 48
    bytes per cycle at 512 bits and 300 MHz); the model does not throttle writes."""
    from tb.kit.host_sim import beat_rate
    return cfg.axi_bytes * (1.0 if write else beat_rate(cfg))


def bus_cycles(gold: dict, cfg, L: int, pooled: bool = False) -> dict:
    """Bus-bound cycles of a layer per unit counter of the top (the passes, ``gold["groups"]``,
    run one after the other; within a pass the ports run in parallel, so a pass costs its busiest
    port).  n = the pass's heads.

    sig:  m_axi_idx carries K twice (nb*B rows of D bytes) and the n heads' Q_last block; with
          ``pooled`` also sig_pool's means load (K and the n heads' Q once more).  Bytes /
          port bytes per cycle.
    attn: the largest of m_axi_kv (the cache's misses, golden.cache_sim bytes), m_axi_q (the n
          heads' Q), m_axi_o (the n heads' O, int32: 4 bytes an element, at the write rate) and the cache's own
          output: its slot words are one bus word wide, so a row of D bytes takes
          ``ceil(D / axi bytes)`` cycles, ``union x 2B`` rows per group.
    Returns the per-unit cycles and, under ``ports``, the attention's per-port totals.
    """
    B, D = cfg.block, cfg.head_dim
    nb = num_blocks(L, B)
    rows = nb * B
    bpc, bpc_w = port_bytes_per_cycle(cfg), port_bytes_per_cycle(cfg, write=True)
    sig = sum((2 * rows * D + n * B * D + ((n + 1) * rows * D if pooled else 0)) / bpc
              for n in (len(gr["heads"]) for gr in gold["groups"]))
    per_row = -(-D // cfg.axi_bytes)
    attn = 0.0
    ports = {"kv": 0.0, "q": 0.0, "o": 0.0, "cache_rows": 0.0}
    for gr in gold["groups"]:
        n = len(gr["heads"])
        p = {"kv": gr["stats"].hbm_bytes / bpc, "q": n * rows * D / bpc, "o": 4 * n * rows * D / bpc_w,
             "cache_rows": 2 * B * gr["union"] * per_row}
        for kk, x in p.items():
            ports[kk] += x
        attn += max(p.values())
    return {"sig": sig, "attn": attn, "total": sig + attn, "ports": ports, "port_bytes_per_cycle": bpc}


def unit_ideal(gold: dict, cfg, L: int, pooled: bool = False) -> dict:
    """Per unit the larger of the compute and the bus bound; ``bound`` names which."""
    comp = ideal_cycles(gold, cfg, L, pooled)
    bus = bus_cycles(gold, cfg, L, pooled)
    out = {u: max(comp[u], bus[u]) for u in ("sig", "attn")}
    out["total"] = out["sig"] + out["attn"]
    out["bound"] = {u: ("bus" if bus[u] > comp[u] else "compute") for u in ("sig", "attn")}
    out["compute"], out["bus"] = comp, bus
    return out


def compulsory_bytes(job) -> dict:
    """Bytes every run must move: Q, K, V and the codes once, K again and Q_last per group for
    the index generator's second pass; O and the used part of the index sets once."""
    lay = job.layout
    B, D = job.inputs.cfg.block, job.inputs.cfg.head_dim
    rd = lay.q_bytes + 2 * lay.kv_bytes + lay.scale_bytes + lay.kv_bytes + lay.n_heads * B * D
    wr = lay.o_bytes
    return {"read": rd, "write": wr}


def run_top_cases(cfg, cases: list[dict], tag: str, lat: int = 30) -> list[dict]:
    """Run ``cases`` (tb/test_top.py's case dicts: name, job, gold, status, ...) in one simulation
    of the top at HBM latency ``lat``; the bench checks each against its gold and this returns
    its results in order (name, status, counters, cycles, wall_s).  Files under the build
    folder are named after ``tag`` (also the run's tag)."""
    import torch

    from tb.kit.runner import build_dir_for, run

    bdir = build_dir_for("fast_prefill_top", cfg)
    bdir.mkdir(parents=True, exist_ok=True)
    path, out = bdir / f"{tag}-cases.pt", bdir / f"{tag}-out.json"
    out.unlink(missing_ok=True)
    torch.save({"cases": cases}, path)
    run("fast_prefill_top", cfg, "tb.test_top", testcase="test_cases", tag=tag,
        extra_env={"TOP_CASES": str(path), "TOP_LAT": str(lat), "TOP_OUT": str(out)})
    return json.loads(out.read_text())


# ---------------------------------------------------------------- the layer job
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
    """The layer job: SmolLM2 ``layer`` at ``n_tokens`` tokens of ``prompt`` through the top RTL.

    Captures the layer (:func:`layer_tensors`), plans it with the host driver, computes the
    golden results (:func:`golden_for`) and the ideals, builds the top with Verilator (cached;
    the build times when this call built it), runs tb/test_top.py at HBM latency ``lat``
    (``waves``: FST waves and a GTKWave save file) with a progress bar on stderr
    (``progress``) and the tools' output in a log, and measures the dense run's KV traffic
    with the same cache.  Returns the report dict that ``fast-prefill demo`` prints (pattern
    density and recall, error vs dense attention, counters, cycles vs ideal, HBM bytes, cache
    hits, the bit-exact verdict, wall times); ``fast-prefill bench top`` prints its table.
    """
    import torch

    from host.driver import Accelerator
    from golden.attention import dense_attention, relative_error
    from golden.cache_sim import simulate_pass
    from golden.pattern import dense_pattern, recall
    from hdl.convert import unsupported_reason
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
    residency = None
    for hs in cfg.layer_passes(H, Hkv):
        m = dp.mask[hs.start:hs.stop]
        lv, st, residency = simulate_pass(cfg, m, sorted({c for h in hs for c in dp.vertical[h]}),
                                          hs, g, residency)
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


# ---------------------------------------------------------------- fast-prefill bench top
def add_arguments(parser) -> None:
    parser.add_argument("--tokens", type=int, default=None, help="sequence length (default: 512 ci, 2048 smollm2)")
    parser.add_argument("--layer", type=int, default=3, help="SmolLM2 layer (default 3)")
    parser.add_argument("--preset", default="ci", help="hardware preset (default ci)")
    parser.add_argument("--lat", type=int, default=30, help="HBM latency in cycles (default 30)")


def run(args) -> int:
    from hdl.config import ConfigError, preset
    try:
        cfg = preset(args.preset)
    except ConfigError as e:
        raise UserError(str(e)) from None
    n = args.tokens or (512 if cfg.name == "ci" else 2048)
    rep = run_top(cfg, args.layer, n, "default", lat=args.lat, waves=False, progress=False)
    t = rep["top"]
    ideal = rep["unit_ideal"]
    comp, bus = ideal["compute"], ideal["bus"]
    print(f"top bench: preset {cfg.name} (B={cfg.block}, D={cfg.head_dim}, {cfg.axi_data_bits}-bit ports), "
          f"SmolLM2 layer {args.layer}, L={n}, H={rep['H']}, Hkv={rep['Hkv']}, HBM latency {args.lat}; "
          f"bit-exact: {rep['verdict']}")
    print(f"{'':26s} {'cycles':>10s} {'compute':>10s} {'bus':>10s} {'ideal':>10s} {'bound':>8s} {'ratio':>6s}")
    rows = [("index generator", "sig", t["cnt_sig_cycles"])]
    if t["cnt_attn_cycles"]:
        rows.append(("attention", "attn", t["cnt_attn_cycles"]))
    for label, u, got in rows:
        print(f"{label:26s} {got:10d} {comp[u]:10.0f} {bus[u]:10.0f} {ideal[u]:10.0f} "
              f"{ideal['bound'][u]:>8s} {got / ideal[u]:6.3f}")
    other = t["cnt_cycles"] - t["cnt_sig_cycles"] - t["cnt_attn_cycles"]
    print(f"{'codes, index dump, checks':26s} {other:10d}")
    total_ideal = ideal["sig"] + (ideal["attn"] if t["cnt_attn_cycles"] else 0)
    total_comp = comp["sig"] + (comp["attn"] if t["cnt_attn_cycles"] else 0)
    ratio = t["cnt_cycles"] / total_ideal
    print(f"{'total':26s} {t['cnt_cycles']:10d} {total_comp:10.0f} {'':10s} {total_ideal:10.0f} {'':8s} "
          f"{ratio:6.3f}  (target <= 1.2; {t['cnt_cycles'] / total_comp:.3f}x the compute ideal)")
    pt = bus["ports"]
    print(f"attention bus cycles per port ({bus['port_bytes_per_cycle']:.1f} B/cycle read, "
          f"{cfg.axi_bytes} B/cycle write): "
          f"kv {pt['kv']:.0f}, q {pt['q']:.0f}, o {pt['o']:.0f} (int32), cache rows {pt['cache_rows']:.0f}")
    comp_b = rep["compulsory_bytes"]
    print(f"HBM read  {t['cnt_rd_bytes']:10d} B  (compulsory {comp_b['read']} B, "
          f"{t['cnt_rd_bytes'] / comp_b['read']:.3f}x); KV cache misses {t['cnt_kv_bytes']} B")
    print(f"HBM write {t['cnt_wr_bytes']:10d} B  (O {comp_b['write']} B + index sets)")
    bt = rep.get("build_s") or {}
    built = (", ".join(f"{k} {v:.0f} s" for k, v in bt.items()) + " in this run") if bt else "build cached"
    print(f"simulation: {t['cnt_cycles']} cycles in {rep['sim_wall_s']:.1f} s = "
          f"{t['cnt_cycles'] / max(rep['sim_wall_s'], 1e-9):.0f} cycles/s (capture + golden {rep['setup_s']:.0f} s; "
          f"{built}; total {rep['total_wall_s']:.0f} s)")
    return 0 if rep["verdict"] == "bit-exact" and ratio <= 1.2 else 1
