"""The 4K-128K evaluation: TTFT, energy, KV traffic, rooflines and the GPU comparison.

Every number carries a label:

``measured``    read from a run (RTL simulation, SmolLM2 tensors, a GPU data file);
``calibrated``  a model whose constants were measured on the RTL (attention engine, MPU, the
                accelerator top's layer: golden.perf.top_layer_cycles);
``projected``   a model or extrapolation with no measurement behind this point;
``assumed``     an input taken from a datasheet or a stated assumption.

Public API
    measured_density(lengths, block=BLOCK, sparsity=None, prompt="default") -> dict[int, dict]
    DensityModel.fit(measured) -> DensityModel;  model(L) -> (density, label)
    kv_traffic(cfg, shape, seq_len, density, seed=0) -> dict  (bytes per layer, per policy)
    load_gpu_results(folder=GPU_DATA) -> list[dict];  gpu_efficiency(results) -> GpuEfficiency
    evaluate(models, lengths, platform=None, ...) -> dict   (the JSON of ``fast-prefill evaluate``)
    format_report(result) -> str;  write_plots(result, folder) -> list[Path]
    accuracy(n_tokens) -> dict  (SmolLM2 dense vs sparse prefill, float and fixed-point pattern)
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from golden import perf
from hdl.config import AcceleratorConfig, SparsityConfig, num_blocks, preset

REPO = Path(__file__).resolve().parents[1]
GPU_DATA = REPO / "golden" / "data" / "gpu"
CACHE = REPO / "build" / "perf"
LENGTHS = (4096, 8192, 16384, 32768, 65536, 131072)
DENSITY_LENGTHS = (1024, 2048, 8192)   # SmolLM2 captures that exist or are cheap to reuse
PAPER = {"ttft_speedup": 2.5, "energy_efficiency": 4.5, "gpu": "NVIDIA RTX A5000"}
#: the tiles of the config the evaluation projects (golden.perf.U280_PRESET): the block of the
#: density measurements
BLOCK = preset(perf.U280_PRESET).block


# ---------------------------------------------------------------- density
def measured_density(lengths: Sequence[int] = DENSITY_LENGTHS, block: int = BLOCK,
                     sparsity: SparsityConfig | None = None, prompt: str = "default") -> dict:
    """Mean tile density of the float pattern over all SmolLM2 layers and heads, per length.

    Returns {L: {"mean": d, "per_layer": [...], "label": "measured"}}; cached on disk under
    build/perf (keyed by lengths, block, sparsity and prompt); captures come from
    golden.smollm2.load_qkv (an uncached length runs one forward, minutes at 8192).
    """
    from golden.pattern import build_pattern
    from golden.smollm2 import load_qkv

    sparsity = SparsityConfig() if sparsity is None else sparsity
    for L in lengths:
        if not isinstance(L, int) or L < block:
            raise ValueError(f"lengths: each must be an integer >= block {block}, got {L!r}")
    key = hashlib.sha256(json.dumps([sorted(lengths), block, asdict(sparsity), str(prompt)],
                                    sort_keys=True).encode()).hexdigest()[:16]
    path = CACHE / f"density-{key}.json"
    if path.is_file():
        return {int(k): v for k, v in json.loads(path.read_text()).items()}
    n_layers = perf.MODELS["smollm2-135m"].layers
    out = {}
    for L in sorted(lengths):
        per_layer = []
        for layer in range(n_layers):
            cap = load_qkv(layer, L, prompt)
            pat = build_pattern(cap.q, cap.k, block, sparsity, layer=layer)
            per_layer.append(pat.mean_density())
        out[L] = {"mean": sum(per_layer) / len(per_layer), "per_layer": per_layer,
                  "label": "measured (SmolLM2-135M, float pattern, all layers and heads)"}
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1))
    return out


@dataclass(frozen=True)
class DensityModel:
    """Density vs length: measured points as they are; elsewhere a power law
    ``d(L) = d_ref * (L / L_ref) ** -alpha`` fitted (least squares in log-log) on the
    measured points at ``fit_from`` tokens and above, floored at the forced tiles
    (sink column + local window diagonals) and capped at 1."""

    points: tuple[tuple[int, float], ...]
    alpha: float
    ref_len: int
    ref_density: float
    local_window: int = 2

    @classmethod
    def fit(cls, measured: dict, fit_from: int = 2048, local_window: int = 2) -> "DensityModel":
        pts = sorted((int(L), float(v["mean"] if isinstance(v, dict) else v))
                     for L, v in measured.items())
        use = [(L, d) for L, d in pts if L >= fit_from]
        if len(use) < 2:
            raise ValueError(f"measured: need two lengths >= {fit_from} to fit, got {[L for L, _ in pts]}")
        xs = [math.log(L) for L, _ in use]
        ys = [math.log(d) for _, d in use]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
        ref_len, ref_d = use[-1]
        return cls(points=tuple(pts), alpha=-slope, ref_len=ref_len, ref_density=ref_d,
                   local_window=local_window)

    def floor(self, seq_len: int, block: int = BLOCK) -> float:
        nb = num_blocks(seq_len, block)
        forced = nb + sum(nb - k for k in range(1, min(self.local_window, nb)))   # diagonals
        forced += nb - 1 if nb > 1 else 0                                          # sink column
        return min(1.0, (forced + nb) / (nb * (nb + 1) / 2)) if nb > 1 else 1.0

    def __call__(self, seq_len: int, block: int = BLOCK) -> tuple[float, str]:
        for L, d in self.points:
            if L == seq_len:
                return d, "measured (SmolLM2-135M)"
        d = self.ref_density * (seq_len / self.ref_len) ** (-self.alpha)
        d = min(1.0, max(d, self.floor(seq_len, block)))
        return d, f"projected (power law alpha={self.alpha:.2f} from SmolLM2 >= 2K)"


# ---------------------------------------------------------------- KV traffic
def _synthetic_group(nb: int, g: int, density: float, seed: int):
    """(mask, vertical sets, density) of :func:`golden.perf.synthetic_group`."""
    m, v, _, got = perf.synthetic_group(nb, g, density, seed)
    return m, v, got


def kv_traffic(cfg: AcceleratorConfig, shape: perf.ModelShape, seq_len: int, density: float,
               seed: int = 0, group=None) -> dict:
    """HBM K/V bytes of one layer (all KV groups) under no cache, LRU and the liveness cache.

    One synthetic vertical-slash group at ``density`` (or ``group``, as
    :func:`golden.perf.synthetic_group` returns it) is simulated (golden.cache_sim), per pass of
    ``cfg.lanes`` heads when the group runs in several (the liveness cache keeping its blocks
    between the passes; ``compulsory`` stays the group's distinct blocks), and scaled by the layer's KV heads.  Returns {"compulsory", "none", "lru", "liveness": bytes per layer,
    "<policy>_ratio", "synthetic_density", "label"}.
    """
    from golden.cache_sim import index_window, simulate_passes, traffic_table

    nb = cfg.num_blocks(seq_len)
    if group is None:
        group = perf.synthetic_group(nb, shape.group, density, seed)
    mask, vert, got = group[0], group[1], group[3]
    union = sorted(set().union(*map(set, vert)))
    tab = traffic_table(mask, union, cfg)
    passes = cfg.head_passes(shape.group)
    if len(passes) > 1:
        # the top runs the group in passes of cfg.lanes heads: no cache and LRU start cold in
        # each pass, the liveness cache keeps its blocks from one pass to the next (kv_cache
        # resident / group_end); the compulsory bytes stay the group's
        per_pass = [(mask[h:h + n], sorted(set().union(*map(set, vert[h:h + n])))) for h, n in passes]
        parts = [traffic_table(m, v, cfg) for m, v in per_pass]
        for k in ("none", "lru"):
            tab[k] = sum(t[k] for t in parts)
        tab["liveness"] = sum(s.hbm_bytes for s in simulate_passes(
            per_pass, cfg.tier1_blocks, cfg.tier2_blocks, cfg.kv_block_bytes, index_window(cfg)))
        for k in ("none", "lru", "liveness"):
            tab[f"{k}_ratio"] = tab[k] / max(tab["compulsory"], 1)
    out = {k: (v * shape.kv_heads if not k.endswith("_ratio") else v) for k, v in tab.items()}
    out["synthetic_density"] = got
    out["label"] = ("projected (golden.cache_sim on a synthetic vertical-slash group at the "
                    f"density, tiers {cfg.tier1_blocks}+{cfg.tier2_blocks} blocks)")
    return out


# ---------------------------------------------------------------- GPU data
def load_gpu_results(folder: Path = GPU_DATA) -> list[dict]:
    """Every GPU baseline data file (``*.json`` written by golden/gpu_baseline.py)."""
    folder = Path(folder)
    out = []
    for p in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(p.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{p}: not valid JSON ({e})") from None
        for k in ("gpu", "results", "peak_flops"):
            if k not in data:
                raise ValueError(f"{p}: missing field {k!r} (not a gpu_baseline data file)")
        data["file"] = str(p.relative_to(REPO) if p.is_relative_to(REPO) else p)
        out.append(data)
    return out


def gpu_efficiency(results: list[dict]) -> perf.GpuEfficiency:
    """Fractions of roofline measured by the GPU runs (median over lengths and files);
    the assumed defaults where nothing was measured."""
    if not results:
        return perf.GpuEfficiency()
    base = perf.GpuEfficiency()

    def median(key):
        vals = sorted(r[key] for d in results for r in d["results"] if r.get(key))
        return vals[len(vals) // 2] if vals else None

    dense, sparse, idx = median("dense_eff"), median("sparse_eff"), median("index_mem_eff")
    gemm = median("gemm_eff")
    names = ", ".join(sorted({d["gpu"] for d in results}))
    return perf.GpuEfficiency(gemm=gemm or base.gemm, attn_dense=dense or base.attn_dense,
                              attn_sparse=sparse or base.attn_sparse, index=idx or base.index,
                              source=f"measured on {names} ({len(results)} data file(s))")


# ---------------------------------------------------------------- the evaluation
def _roofline_fpga(plat: perf.FpgaPlatform, est: perf.PrefillEstimate, kv_compulsory: float) -> dict:
    macs = sum(est.macs.values())
    nbytes = est.hbm_bytes["linear"] + est.hbm_bytes["index"] + est.hbm_bytes["attention_qo"] \
        + kv_compulsory
    t_mac = macs / plat.roofline_mac_rate
    t_mem = nbytes / plat.hbm_peak_bytes_s
    t_design = macs / plat.mac_rate
    return {"roofline_s": max(t_mac, t_mem), "bound": "compute" if t_mac >= t_mem else "memory",
            "fraction": max(t_mac, t_mem) / est.ttft_s,
            "fraction_of_design_peak": t_design / est.ttft_s,
            "attention_fraction_of_design_peak":
                est.macs["attention"] / plat.mac_rate / est.parts["attention"]}


def evaluate(models: Sequence[str] = ("llama-3.1-8b", "qwen2.5-7b"),
             lengths: Sequence[int] = LENGTHS, platform: perf.FpgaPlatform | None = None,
             density_model: DensityModel | None = None, gpu: perf.GpuSpec = perf.A5000,
             gpu_folder: Path = GPU_DATA, cache: bool = True) -> dict:
    """The evaluation tables as one JSON-able dict (see docs/performance.md)."""
    plat = platform or perf.FpgaPlatform(preset(perf.U280_PRESET))
    cfg = plat.cfg
    for m in models:
        if m not in perf.MODELS:
            raise ValueError(f"models: unknown model {m!r}; choose from {sorted(perf.MODELS)}")
    for L in lengths:
        cfg.check_seq_len(L)
    if density_model is None:
        density_model = DensityModel.fit(measured_density(block=cfg.block, sparsity=cfg.sparsity),
                                         local_window=cfg.sparsity.local_window)
    gpu_runs = load_gpu_results(gpu_folder)
    eff = gpu_efficiency(gpu_runs)
    eff_label = "measured" if gpu_runs else "assumed"
    rows = []
    for name in models:
        shape = perf.MODELS[name]
        for L in lengths:
            d, d_label = density_model(L, cfg.block)
            group = perf.synthetic_group(cfg.num_blocks(L), shape.group, d)
            kv = kv_traffic(cfg, shape, L, d, group=group) if cache else None
            f = perf.fpga_prefill(plat, shape, L, d, group=group,
                                  kv_bytes_per_layer=kv["liveness"] if kv else None)
            gd = perf.gpu_prefill(gpu, shape, L, eff=eff)
            gs = perf.gpu_prefill(gpu, shape, L, d, eff=eff, sparse=True, block=cfg.block)
            kv_comp = kv["compulsory"] * shape.layers if kv else f.hbm_bytes["kv"]
            rows.append({
                "model": shape.name, "seq_len": L, "density": d, "density_label": d_label,
                "fpga": f.as_dict(), "gpu_dense": gd.as_dict(), "gpu_sparse": gs.as_dict(),
                "speedup_vs_gpu_dense": gd.ttft_s / f.ttft_s,
                "speedup_vs_gpu_sparse": gs.ttft_s / f.ttft_s,
                "attention_speedup_vs_gpu_dense": gd.parts["attention"] / f.parts["attention"],
                "attention_speedup_vs_gpu_sparse":
                    (gs.parts["attention"] + gs.parts["index"])
                    / (f.parts["attention"] + f.parts["index"]),
                "energy_efficiency_vs_gpu_dense": gd.energy_j / f.energy_j,
                "energy_efficiency_vs_gpu_sparse": gs.energy_j / f.energy_j,
                "kv": ({k: v * shape.layers if isinstance(v, (int, float)) and not k.endswith(
                    ("_ratio", "density")) else v for k, v in kv.items()} if kv else None),
                "fpga_roofline": _roofline_fpga(plat, f, kv_comp),
                "gpu_roofline": {"fraction_dense": eff.attn_dense, "fraction_sparse": eff.attn_sparse,
                                 "fraction_gemm": eff.gemm, "label": eff_label},
                "labels": {"fpga_ttft": "projected (index and attention phases: the layer model "
                                        "of the top, calibrated on the RTL top at ci; linear "
                                        "layers projected)",
                           "gpu": f"projected from {gpu.name} datasheet peaks at {eff_label} "
                                  f"efficiency ({eff.source})",
                           "kv": kv["label"] if kv else "projected (uncached)",
                           "density": d_label},
            })
    return {
        "platform": {"config": cfg.name, "clock_mhz": cfg.clock_mhz, "block": cfg.block,
                     "mpu": f"{cfg.mpu_rows}x{cfg.head_dim}", "macs_per_cycle": cfg.macs_per_cycle,
                     "hbm_peak_gb_s": plat.hbm_peak_bytes_s / 1e9, "hbm_efficiency": plat.hbm_efficiency,
                     "board_power_w": plat.board_power_w,
                     "board_power_source": "Alveo U280 data sheet DS963, card maximum (assumed "
                                           "drawn for the whole run)",
                     "design_tmac_s": plat.mac_rate / 1e12,
                     "roofline_tmac_s": plat.roofline_mac_rate / 1e12,
                     "tiers": [cfg.tier1_blocks, cfg.tier2_blocks],
                     "sparsity": asdict(cfg.sparsity)},
        "gpu": {"name": gpu.name, "fp16_tensor_tflops": gpu.fp16_tensor_flops / 1e12,
                "mem_gb_s": gpu.mem_bytes_s / 1e9, "board_power_w": gpu.board_power_w,
                "source": gpu.source, "efficiency": asdict(eff), "efficiency_label": eff_label,
                "data_files": [r["file"] for r in gpu_runs]},
        "density": {"points": [{"seq_len": L, "density": dd} for L, dd in density_model.points],
                    "alpha": density_model.alpha, "ref_len": density_model.ref_len,
                    "ref_density": density_model.ref_density,
                    "label": "measured points from SmolLM2-135M; other lengths projected"},
        "rows": rows,
        "paper": paper_comparison(rows, plat, gpu),
    }


def paper_comparison(rows: list[dict], plat: perf.FpgaPlatform, gpu: perf.GpuSpec) -> dict:
    """What the model gives against the paper's claims, and what the claims would require."""
    best = max(rows, key=lambda r: r["speedup_vs_gpu_dense"])
    best_e = max(rows, key=lambda r: r["energy_efficiency_vs_gpu_dense"])
    t_fpga, t_gpu = best["fpga"]["ttft_s"], best["gpu_dense"]["ttft_s"]
    # all FPGA phases are compute-bound in this model: time scales as 1 / MAC rate
    need = PAPER["ttft_speedup"] * t_fpga / t_gpu
    p_need = gpu.board_power_w * best_e["gpu_dense"]["ttft_s"] / (
        PAPER["energy_efficiency"] * best_e["fpga"]["ttft_s"])
    return {
        "claims": PAPER,
        "model_best_ttft_speedup_vs_dense": best["speedup_vs_gpu_dense"],
        "at": {"model": best["model"], "seq_len": best["seq_len"]},
        "model_best_attention_speedup_vs_dense": max(r["attention_speedup_vs_gpu_dense"] for r in rows),
        "model_best_ttft_speedup_vs_sparse": max(r["speedup_vs_gpu_sparse"] for r in rows),
        "model_best_energy_efficiency_vs_dense": best_e["energy_efficiency_vs_gpu_dense"],
        "mac_rate_factor_needed_for_ttft_claim": need,
        "mac_rate_factor_device_allows": plat.roofline_mac_rate / plat.mac_rate,
        "fpga_power_w_needed_for_energy_claim_at_model_speed": p_need,
        "label": "projected",
    }


# ---------------------------------------------------------------- text and plots
def _fmt_s(t: float) -> str:
    return f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.2f} s"


def format_report(res: dict) -> str:
    p, g = res["platform"], res["gpu"]
    out = [f"FAST-Prefill evaluation: U280 {p['config']} ({p['mpu']} MPU = "
           f"{p['design_tmac_s']:.2f} TMAC/s at {p['clock_mhz']:g} MHz, device roofline "
           f"{p['roofline_tmac_s']:.2f} TMAC/s; HBM {p['hbm_peak_gb_s']:.0f} GB/s x "
           f"{p['hbm_efficiency']:.3f}; {p['board_power_w']:g} W [assumed: {p['board_power_source']}])",
           f"GPU: {g['name']} {g['fp16_tensor_tflops']:.1f} TFLOPS FP16 dense, {g['mem_gb_s']:.0f} GB/s, "
           f"{g['board_power_w']:g} W [assumed: {g['source']}]; efficiencies "
           f"gemm {g['efficiency']['gemm']:.2f}, dense attention {g['efficiency']['attn_dense']:.2f}, "
           f"sparse {g['efficiency']['attn_sparse']:.2f} [{g['efficiency_label']}: "
           f"{g['efficiency']['source']}]",
           "Labels: M measured, C calibrated on RTL, P projected, A assumed.", ""]
    dens = res["density"]
    out.append("Density vs length (mean over layers and heads, SmolLM2-135M, B=%d):" % p["block"])
    out.append("  measured: " + ", ".join(f"{q['seq_len']}: {q['density']:.3f} [M]" for q in dens["points"]))
    out.append(f"  beyond: d(L) = {dens['ref_density']:.3f} * (L/{dens['ref_len']})^-{dens['alpha']:.2f} [P]")
    out.append("")
    head = (f"{'model':<13}{'L':>7} {'dens':>10} | {'FPGA TTFT':>10} {'lin':>9} {'idx':>9} {'attn':>9}"
            f" | {'GPU dense':>10} {'GPU sparse':>10} | {'x dense':>7} {'x sparse':>8} {'attn x':>7}"
            f" | {'E FPGA':>8} {'E GPU':>8} {'E x':>6} | {'roof':>5}")
    out.append("TTFT (projected; FPGA index and attention phases from the layer model calibrated on "
               "the RTL top at ci [C], projected to the u280 config; GPU [P] at "
               f"{g['efficiency_label']} efficiency), energy = board power x TTFT:")
    out.append(head)
    out.append("-" * len(head))
    for r in res["rows"]:
        f, gd, gs = r["fpga"], r["gpu_dense"], r["gpu_sparse"]
        dl = "M" if r["density_label"].startswith("measured") else "P"
        out.append(
            f"{r['model']:<13}{r['seq_len']:>7} {r['density']:>7.3f} [{dl}] | {_fmt_s(f['ttft_s']):>10} "
            f"{_fmt_s(f['parts']['linear']):>9} {_fmt_s(f['parts']['index']):>9} "
            f"{_fmt_s(f['parts']['attention']):>9} | {_fmt_s(gd['ttft_s']):>10} {_fmt_s(gs['ttft_s']):>10} | "
            f"{r['speedup_vs_gpu_dense']:>7.3f} {r['speedup_vs_gpu_sparse']:>8.3f} "
            f"{r['attention_speedup_vs_gpu_dense']:>7.2f} | {f['energy_j']:>7.0f}J {gd['energy_j']:>7.0f}J "
            f"{r['energy_efficiency_vs_gpu_dense']:>6.3f} | {r['fpga_roofline']['fraction']:>5.2f}"
            + ("" if f["cycles"].get("cache_windows", 1) == 1 else f"  w{f['cycles']['cache_windows']}"))
    out.append("  x dense / x sparse: GPU TTFT / FPGA TTFT; attn x: attention only vs dense SDPA; "
               "E x: GPU energy / FPGA energy (dense GPU); roof: U280 roofline time / FPGA time.")
    over = [r for r in res["rows"] if r["fpga"]["cycles"].get("cache_windows", 1) > 1]
    if over:
        c = over[0]["fpga"]["cycles"]
        out.append(f"  wN: a KV group's stream ({', '.join(str(r['fpga']['cycles']['attention_parts']['accesses']) for r in over)} "
                   f"accesses) is longer than the cache's index memory ({c['cache_index_depth']} entries, "
                   "hdl.cache.kv_cache.index_depth): the liveness pass takes it in N windows.")
    out.append("")
    out.append("KV traffic per prompt (all layers) [P: cache_sim on synthetic vertical-slash groups]:")
    out.append(f"{'model':<13}{'L':>7} | {'compulsory':>11} {'no cache':>11} {'LRU':>11} {'liveness':>11} | "
               f"{'live/comp':>9} {'LRU/live':>8}")
    for r in res["rows"]:
        kv = r["kv"]
        if not kv:
            continue
        gb = lambda x: f"{x / 1e9:.2f} GB"  # noqa: E731
        out.append(f"{r['model']:<13}{r['seq_len']:>7} | {gb(kv['compulsory']):>11} {gb(kv['none']):>11} "
                   f"{gb(kv['lru']):>11} {gb(kv['liveness']):>11} | {kv['liveness_ratio']:>9.2f} "
                   f"{kv['lru'] / max(kv['liveness'], 1):>8.2f}")
    out.append("")
    pc = res["paper"]
    out.append("Against the paper's claims (up to 2.5x TTFT, 4.5x energy efficiency vs an A5000) [P]:")
    out.append(f"  model's best TTFT speedup vs dense GPU: {pc['model_best_ttft_speedup_vs_dense']:.3f}x "
               f"({pc['at']['model']}, L={pc['at']['seq_len']}); vs sparse GPU: "
               f"{pc['model_best_ttft_speedup_vs_sparse']:.3f}x; attention only vs dense: "
               f"{pc['model_best_attention_speedup_vs_dense']:.2f}x")
    out.append(f"  model's best energy efficiency vs dense GPU: {pc['model_best_energy_efficiency_vs_dense']:.3f}x")
    out.append(f"  2.5x TTFT would need {pc['mac_rate_factor_needed_for_ttft_claim']:.1f}x the design's MAC "
               f"rate (the whole device allows {pc['mac_rate_factor_device_allows']:.2f}x); 4.5x energy at "
               f"the modelled speed would need a {pc['fpga_power_w_needed_for_energy_claim_at_model_speed']:.1f} W board.")
    if "accuracy" in res:
        out.append("")
        out.append("Accuracy end to end (SmolLM2-135M, sparse prefill in every layer vs dense) [M]:")
        for a in res["accuracy"]:
            out.append(f"  {a['n_tokens']:>5} tokens, {a['pattern']:<14} ppl dense {a['ppl_dense']:.3f} "
                       f"sparse {a['ppl_sparse']:.3f} ({100 * (a['ppl_sparse'] / a['ppl_dense'] - 1):+.2f}%), "
                       f"top-1 {100 * a['top1_agreement']:.1f}%, density {a['mean_density']:.3f}")
    return "\n".join(out)


def write_plots(res: dict, folder: Path) -> list[Path]:
    """PNGs: TTFT vs length, speedup vs GPU, density vs length, KV traffic."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    models = sorted({r["model"] for r in res["rows"]})
    by = {m: [r for r in res["rows"] if r["model"] == m] for m in models}
    paths = []

    def plot(name, title, ylabel, curves, hlines=(), **legend):
        """One log-log plot over the context length: ``curves`` (x, y, style, label), then the
        horizontal lines ``hlines`` (y, line keywords)."""
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for x, y, style, label in curves:
            ax.plot(x, y, style, label=label)
        for y, kw in hlines:
            ax.axhline(y, **kw)
        ax.set(xscale="log", yscale="log", xlabel="context length (tokens)", ylabel=ylabel, title=title)
        ax.legend(**legend)
        p = folder / name
        fig.tight_layout()
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)

    def per_model(series, rows=lambda m: by[m]):
        """Curves of every model: ``series`` (row value, style, label suffix)."""
        return [([r["seq_len"] for r in rows(m)], [value(r) for r in rows(m)], style, f"{m} {label}")
                for m in models for value, style, label in series]

    plot("ttft_vs_length.png", "Time to first token", "TTFT (s)", per_model([
        (lambda r: r["fpga"]["ttft_s"], "o-", "U280 (projected)"),
        (lambda r: r["gpu_dense"]["ttft_s"], "s--", "A5000 dense (projected)"),
        (lambda r: r["gpu_sparse"]["ttft_s"], "^:", "A5000 sparse (projected)")]), fontsize=7)
    plot("speedup_vs_gpu.png", "U280 vs A5000 (projected)", "speedup (GPU time / FPGA time)", per_model([
        (lambda r: r["speedup_vs_gpu_dense"], "o-", "TTFT vs dense"),
        (lambda r: r["speedup_vs_gpu_sparse"], "^:", "TTFT vs sparse"),
        (lambda r: r["attention_speedup_vs_gpu_dense"], "s--", "attention only vs dense")]),
        hlines=[(1.0, dict(color="k", lw=0.8)),
                (res["paper"]["claims"]["ttft_speedup"], dict(color="r", lw=0.8, ls="--",
                                                             label="paper claim 2.5x"))], fontsize=7)
    pts = res["density"]["points"]
    L = sorted({r["seq_len"] for r in res["rows"]} | {q["seq_len"] for q in pts})
    a, Lr, dr = res["density"]["alpha"], res["density"]["ref_len"], res["density"]["ref_density"]
    plot("density_vs_length.png", "Kept tiles / causal tiles", "mean tile density", [
        ([q["seq_len"] for q in pts], [q["density"] for q in pts], "ko", "measured (SmolLM2)"),
        (L, [min(1.0, dr * (x / Lr) ** -a) for x in L], "b--", f"power law alpha={a:.2f} (projected)")],
        fontsize=8)
    plot("cache_traffic.png", "KV cache traffic (projected, synthetic patterns)",
         "HBM K/V bytes per prompt (GB)",
         per_model([(lambda r, key=key: r["kv"][key] / 1e9, style, key)
                    for key, style in (("none", "x:"), ("lru", "s--"), ("liveness", "o-"), ("compulsory", "k."))],
                   rows=lambda m: [r for r in by[m] if r["kv"]]), fontsize=6, ncol=2)
    return paths


def accuracy(n_tokens: int, prompt: str = "default", sparsity: SparsityConfig | None = None) -> list[dict]:
    """SmolLM2 dense vs sparse prefill in every layer: float pattern and the fixed-point
    estimator's pattern (attention itself in float), golden.measure.end_to_end."""
    from golden.measure import end_to_end

    out = []
    for pattern in ("float", "fixed-pattern"):
        r = end_to_end(n_tokens, prompt, sparsity, attention=pattern)
        out.append({"n_tokens": n_tokens, "pattern": pattern, **r, "label": "measured"})
    return out
