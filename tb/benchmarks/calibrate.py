"""Calibration of the layer model (golden.perf.top_layer_cycles) against the RTL top.

``fast-prefill bench calibrate [--lat N ...] [--quick] [--no-long] [--preset P] [--lanes N]``
(also ``python -m tb.benchmarks.calibrate`` with the same options)
    Runs SmolLM2 layers through ``hdl/top/fast_prefill_top.py`` (Verilator, cached build) and
    the layer model side by side and prints a markdown table of the top's counters, RTL vs
    model, with the relative error of each (docs/performance.md).  At the ci preset: the
    CALIBRATION_CASES at every latency of CALIBRATION_LATENCIES, then the LONG_CASES at latency
    30; ``--quick`` only the QUICK_CASES of tests/test_perf.py.  At another preset the
    VALIDATION_CASES at latency 30 (smollm2: minutes of simulation).

``rtl_top_runs(cfg, cases, hbm_latency=30, tag="perf") -> list[dict]`` is the measurement
itself; tests/test_perf.py checks its errors against the 5 % bound.
"""

from __future__ import annotations

DESCRIPTION = "layer model vs RTL top: cnt_cycles, sig and attention cycles, RTL vs golden.perf"

#: (SmolLM2 layer, tokens, row_gamma on) at the ci preset; each latency runs all of them in one
#: simulation.
CALIBRATION_CASES = ((3, 256, True), (3, 256, False), (12, 256, True), (12, 256, False),
                     (25, 256, True), (25, 256, False), (3, 512, True), (3, 512, False),
                     (12, 512, True), (12, 512, False), (25, 512, True), (25, 512, False))
CALIBRATION_LATENCIES = (30, 100)
#: Longer layers at ci (64 blocks over 40 cache slots: evictions, fetches that wait for the
#: victim's last read), latency 30 only.
LONG_CASES = ((3, 1024, False), (3, 1024, True), (20, 1024, False))
#: The default-suite test's cases (tests/test_perf.py): a pooled and a row_gamma 0 layer.
QUICK_CASES = ((3, 256, True), (12, 256, False))
#: A check at another preset (smollm2: B = D = 64, a K/V row every 2 cycles on 256 bits).
VALIDATION_CASES = ((3, 512, True),)
#: the counters compared; "other" is the rest of cnt_cycles (codes, index dump, checks)
COUNTERS = ("cnt_cycles", "cnt_sig_cycles", "cnt_attn_cycles")


def rtl_top_runs(cfg, cases, hbm_latency: int | None = None, tag: str = "perf") -> list[dict]:
    """Run SmolLM2 layers through the RTL top and the layer model, side by side.

    cases   iterable of (layer, tokens, row_gamma_on); every case runs in one simulation of
            ``hdl/top/fast_prefill_top.py`` through the bench's own job builders:
            ``tb.benchmarks.top.layer_tensors`` / ``golden_for``, the host driver's
            ``Accelerator.plan`` (row_gamma 0 when off, else the preset's sparsity) and
            ``tb/test_top.py`` (which checks O, the sets and the cache counters bit-exact).
    hbm_latency  the HBM model's latency (default golden.perf.SIG_HBM_LATENCY).
    Returns one dict per case: name, layer, tokens, pooled, latency, ``rtl`` and ``model``
    (cnt_cycles, cnt_sig_cycles, cnt_attn_cycles, other) and the relative ``error`` of each.
    """
    from golden import perf
    from hdl.config import AcceleratorConfig
    from host.driver import Accelerator
    from tb.benchmarks.top import golden_for, layer_tensors, run_top_cases

    if not isinstance(cfg, AcceleratorConfig):
        raise ValueError(f"cfg: must be an AcceleratorConfig, got {type(cfg).__name__}")
    lat = perf.SIG_HBM_LATENCY if hbm_latency is None else hbm_latency
    if isinstance(lat, bool) or not isinstance(lat, int) or lat < 0:
        raise ValueError(f"hbm_latency: must be an integer >= 0, got {lat!r}")
    runs, jobs = [], []
    for layer, n, pooled in cases:
        q, k, v = layer_tensors(layer, n, cfg)
        sp = cfg.sparsity if pooled else cfg.sparsity.replace(row_gamma=0.0)
        job = Accelerator(cfg, None).plan(q, k, v, sp)
        gold = golden_for(job)
        name = f"L{layer}-{n}-{'pooled' if pooled else 'rg0'}"
        jobs.append({"name": name, "job": job, "gold": gold, "status": 0})
        model = perf.top_layer_cycles(cfg, gold, n, q.shape[0], k.shape[0], lat, pooled)
        runs.append({"name": name, "layer": layer, "tokens": n, "pooled": bool(pooled),
                     "latency": lat, "model": {c: model[c] for c in COUNTERS + ("other",)}})
    res = {r["name"]: r for r in run_top_cases(cfg, jobs, f"{tag}-lat{lat}", lat)}
    for r in runs:
        got = res[r["name"]]
        if got["status"] != 0:
            raise RuntimeError(f"{r['name']}: the RTL run ended with status {got['status']}")
        c = got["counters"]
        r["rtl"] = {k: c[k] for k in COUNTERS}
        r["rtl"]["other"] = c["cnt_cycles"] - c["cnt_sig_cycles"] - c["cnt_attn_cycles"]
        r["error"] = {k: (r["model"][k] - v) / v for k, v in r["rtl"].items()}
    return runs


def format_calibration(runs: list[dict]) -> str:
    """A markdown table of :func:`rtl_top_runs` results (docs/performance.md)."""
    out = ["| case | HBM latency | RTL cnt_cycles | model | error | RTL sig | model | error "
           "| RTL attn | model | error |", "|---" * 11 + "|"]
    for r in runs:
        cells = [r["name"], str(r["latency"])]
        for k in COUNTERS:
            cells += [str(r["rtl"][k]), str(r["model"][k]), f"{100 * r['error'][k]:+.1f} %"]
        out.append("| " + " | ".join(cells) + " |")
    worst = max(abs(e) for r in runs for k, e in r["error"].items() if k != "other")
    out.append(f"\nworst |error| over total, sig and attn: {100 * worst:.1f} % ({len(runs)} runs)")
    return "\n".join(out)


def add_arguments(parser) -> None:
    parser.add_argument("--lat", type=int, action="append",
                        help="HBM latency (repeatable; default 30 and 100)")
    parser.add_argument("--quick", action="store_true", help="only the cases of tests/test_perf.py")
    parser.add_argument("--no-long", action="store_true", help="leave out the 1024-token cases")
    parser.add_argument("--preset", default="ci",
                        help="hardware preset (default ci; smollm2 runs layer 3 at 512 tokens, "
                             "pooled, latency 30: minutes of simulation)")
    parser.add_argument("--lanes", type=int, default=None,
                        help="head_lanes of the build (default: the preset's; e.g. 1 or 2 at ci: passes)")


def run(args) -> int:
    """The RTL top vs the layer model, as a markdown table (docs/performance.md)."""
    from golden.perf import SIG_HBM_LATENCY
    from hdl.config import preset

    cfg = preset(args.preset)
    if args.lanes is not None:
        cfg = cfg.replace(head_lanes=args.lanes)
    long_cases = ()
    if cfg.name == "ci":
        cases = QUICK_CASES if args.quick else CALIBRATION_CASES
        lats = args.lat or CALIBRATION_LATENCIES
        long_cases = () if args.quick or args.no_long else LONG_CASES
    else:
        cases, lats = VALIDATION_CASES, args.lat or (SIG_HBM_LATENCY,)
    runs = []
    for lat in lats:
        runs += rtl_top_runs(cfg, cases, lat, tag="calibrate")
    if long_cases:
        runs += rtl_top_runs(cfg, long_cases, SIG_HBM_LATENCY, tag="calibrate-long")
    print(format_calibration(runs), flush=True)
    return 0


def main(argv=None) -> int:
    """``python -m tb.benchmarks.calibrate``: the options of ``fast-prefill bench calibrate``."""
    import argparse

    from hdl.config import ConfigError

    ap = argparse.ArgumentParser(prog="python -m tb.benchmarks.calibrate",
                                 description="run the RTL top and print RTL vs model cycles")
    add_arguments(ap)
    args = ap.parse_args(argv)
    try:
        return run(args)
    except ConfigError as e:
        ap.error(str(e))


if __name__ == "__main__":
    raise SystemExit(main())
