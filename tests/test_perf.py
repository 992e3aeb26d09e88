"""Performance model (golden/perf.py) against RTL cycle counts, and its input checks.

The RTL runs happen here, through the benches' own job builders and runner (no cycle count
is written into this file): the model must predict the attention engine and the MPU within
5 % on the small config.
"""

from __future__ import annotations

import json

import pytest
import torch

from golden import perf
from hdl.config import ConfigError, preset
from tb.benchmarks import calibrate
from tb.benchmarks.attention import build_jobs, pick_rows, real_inputs
from tb.kit.runner import build_dir_for, run

CI = preset("ci")
TOL = 0.05


def _engine_rtl_cycles(cfg, jobs, tag):
    bdir = build_dir_for("attn_engine", cfg)
    bdir.mkdir(parents=True, exist_ok=True)
    path, out = bdir / f"perf-jobs-{tag}.pt", bdir / f"perf-result-{tag}.pt"
    torch.save(jobs, path)
    run("attn_engine", cfg, "tb.test_attention", testcase="test_throughput", tag=f"perf-{tag}",
        extra_env={"ATTN_JOBS": str(path), "ATTN_BENCH_OUT": str(out)})
    res = torch.load(out)
    assert res["tiles"] == sum(len(j["tiles"]) for j in jobs)
    return res["cycles"]


def _mixed_jobs(cfg, layer, seed):
    """Real SmolLM2 rows: random rows plus the first rows (1-3 tiles), so that per-row and
    per-tile costs both weigh in."""
    inputs, mask = real_inputs(cfg, layer, 2048)
    rows = pick_rows(mask, 16, seed=seed) + [(h, r) for h, r in ((0, 0), (1, 1), (2, 2), (3, 0))]
    return build_jobs(inputs, mask, rows)


def test_engine_model_predicts_rtl_ci():
    jobs = _mixed_jobs(CI, 15, seed=11)
    tiles = [len(j["tiles"]) for j in jobs]
    assert min(tiles) <= 3 and max(tiles) >= 10          # the mix is really mixed
    rtl = _engine_rtl_cycles(CI, jobs, "ci")
    model = perf.attention_engine_cycles(CI, tiles)
    ideal = 2 * CI.block * sum(tiles)
    assert abs(model - rtl) <= TOL * rtl, f"model {model} vs RTL {rtl} cycles (ideal {ideal})"


@pytest.mark.slow
def test_engine_model_predicts_rtl_b8():
    cfg = preset("ci", block=8, mpu_rows=8, lut_rows=3, p_bits=8, exp_lut_bits=8)
    jobs = _mixed_jobs(cfg, 3, seed=5)
    rtl = _engine_rtl_cycles(cfg, jobs, "b8")
    model = perf.attention_engine_cycles(cfg, [len(j["tiles"]) for j in jobs])
    assert abs(model - rtl) <= TOL * rtl, f"model {model} vs RTL {rtl} cycles"


def test_mpu_model_predicts_rtl_ci():
    beats = 8 * CI.block
    out = build_dir_for("mpu", CI) / "perf-throughput.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    run("mpu", CI, "tb.test_mpu", testcase="test_throughput", tag="perf",
        extra_env={"MPU_BENCH_OUT": str(out), "MPU_BENCH_BEATS": str(beats),
                   "MPU_MAX_CYCLES": str(20 * beats + 100_000)})
    res = json.loads(out.read_text())
    for mode in ("qk", "qkpv"):
        r = res[mode]
        model = perf.mpu_stream_cycles(CI, r["beats"])
        assert abs(model - r["cycles"]) <= TOL * r["cycles"], (mode, model, r)


# ---------------------------------------------------------------- model consistency
def test_gemm_cycles_bounds():
    cfg = preset("u280")
    M, K, N = 4096, 4096, 14336
    cyc = perf.gemm_cycles(cfg, M, K, N)
    ideal = M * K * N / cfg.macs_per_cycle
    assert ideal <= cyc <= ideal * (1 + cfg.mpu_rows / N) + 1
    # a partial tile costs a whole tile
    assert perf.gemm_cycles(cfg, M + 1, K, N) > cyc


def test_prefill_split_and_scaling():
    plat = perf.FpgaPlatform(preset("u280"))
    shape = perf.MODELS["llama-3.1-8b"]
    a = perf.fpga_prefill(plat, shape, 8192, 0.3)
    b = perf.fpga_prefill(plat, shape, 8192, 0.15)
    assert set(a.parts) == {"linear", "index", "attention"}
    assert a.parts["linear"] == b.parts["linear"]
    # the attention phase follows the KV group's union accesses (one K/V block stream per
    # group, every head's engine fed from it), not the per-head density alone
    ua, ub = (e.cycles["attention_parts"]["accesses"] for e in (a, b))
    assert ua > ub
    # the stream part follows them (a row per cycle out of the cache); the pooled-row wait and
    # the per-pass fixed costs do not, so the whole phase grows less
    sa, sb = (e.cycles["attention_parts"]["stream"] for e in (a, b))
    assert sa / sb == pytest.approx(ua / ub, rel=0.1)
    assert 1 < a.parts["attention"] / b.parts["attention"] < ua / ub
    assert a.energy_j == pytest.approx(a.ttft_s * plat.board_power_w)
    # linear MACs: 2 * params per token, params of Llama-3.1-8B without embeddings ~ 6.98e9
    assert shape.linear_macs_per_token() == pytest.approx(6.98e9, rel=0.01)


def test_rtl_constants_are_the_rtls():
    """The layer model's sizes of the RTL are the RTL's own constants, not copies: equal to
    them, and bound in golden/perf.py by name, never by a literal."""
    import ast
    import inspect

    from hdl.cache import kv_cache
    from hdl.cache.out import WORD_QUEUE_DEPTH, kv_out
    from hdl.group import lane
    from hdl.index import params

    rtl = {"SIG_MAX_OUTSTANDING": params.MAX_OUTSTANDING, "KV_MAX_OUTSTANDING": kv_cache.BURSTS,
           "CACHE_SERVE_DEPTH": kv_cache.SERVE_DEPTH, "CACHE_SEARCH_WIDTH": kv_cache.SEARCH_WIDTH,
           "CACHE_OUT_QUEUE": WORD_QUEUE_DEPTH, "O_FIFO_WORDS": lane.o_fifo_depth,
           "O_BURST": lane.o_max_burst, "Q_FIFO_BLOCKS": lane.Q_FIFO_BLOCKS}
    assert {k: getattr(perf, k) for k in rtl} == rtl
    # the RTL uses them: the cache's output queue and the lane's Q FIFO
    assert inspect.signature(kv_out.func).parameters["qdepth"].default == WORD_QUEUE_DEPTH
    ci = lane.lane_params(CI)
    assert ci["qd"] >= lane.Q_FIFO_BLOCKS * ci["qwb"] and ci["od"] == lane.o_fifo_depth(CI)
    assert ci["omb"] == lane.o_max_burst(CI)
    tree = ast.parse(inspect.getsource(perf))
    literal = [t.id for node in tree.body if isinstance(node, ast.Assign)
               and isinstance(node.value, ast.Constant) for t in node.targets
               if isinstance(t, ast.Name) and t.id in rtl]
    assert not literal, f"golden/perf.py copies RTL constants as literals: {literal}"


def test_calibration_is_a_bench():
    """``fast-prefill bench calibrate`` runs tb/benchmarks/calibrate.py."""
    from tb.benchmarks import benchmarks

    assert benchmarks()["calibrate"] is calibrate


def test_bench_hbm_latency_is_the_models():
    """The benches' HBM latency (tb.kit.hbm) is the one the unit models default to."""
    from tb.kit.hbm import HBM_LATENCY

    assert perf.SIG_HBM_LATENCY == HBM_LATENCY


def test_cache_index_depth_matches_rtl():
    from hdl.cache.kv_cache import index_depth

    for name in ("ci", "smollm2", "u280"):
        assert perf.cache_index_depth(preset(name)) == index_depth(preset(name))
    plat = perf.FpgaPlatform(preset("u280"))
    shape = perf.MODELS["llama-3.1-8b"]
    assert perf.fpga_prefill(plat, shape, 8192, 0.3).cycles["cache_windows"] == 1
    # one lane (the preset): a pass streams one head's tiles, which fit at 64K; with one engine
    # per head of the group the group's merged stream takes several liveness windows
    assert perf.fpga_prefill(plat, shape, 65536, 0.2).cycles["cache_windows"] == 1
    wide = perf.FpgaPlatform(preset("u280", head_lanes=0, cache_index_entries=1 << 17))
    big = perf.fpga_prefill(wide, shape, 65536, 0.2)
    acc, depth = big.cycles["attention_parts"]["accesses"], big.cycles["cache_index_depth"]
    assert acc > depth and big.cycles["cache_windows"] == -(-acc // depth)
    assert "liveness windows" in big.source["attention"]


def test_gpu_dense_attention_quadratic():
    shape = perf.MODELS["qwen2.5-7b"]
    t1 = perf.gpu_prefill(perf.A5000, shape, 16384).parts["attention"]
    t2 = perf.gpu_prefill(perf.A5000, shape, 32768).parts["attention"]
    assert t2 / t1 == pytest.approx(4.0, rel=0.01)


@pytest.mark.parametrize("call,match", [
    (lambda: perf.attention_engine_cycles(CI, []), "tiles_per_row"),
    (lambda: perf.attention_engine_cycles(CI, [3, 0]), r"tiles_per_row\[1\]"),
    (lambda: perf.attention_layer_cycles(CI, 4, 1024, 0.0), "density"),
    (lambda: perf.attention_layer_cycles(CI, 4, 1024, 1.5), "density"),
    (lambda: perf.gemm_cycles(CI, 0, 4, 4), "M"),
    (lambda: perf.FpgaPlatform(CI, hbm_efficiency=1.5), "hbm_efficiency"),
    (lambda: perf.mpu_stream_cycles("ci", 4), "cfg"),
])
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_shape_mismatch_raises():
    plat = perf.FpgaPlatform(preset("smollm2"))
    with pytest.raises(ConfigError, match="head_dim"):
        perf.fpga_prefill(plat, perf.MODELS["llama-3.1-8b"], 4096, 0.5)
    with pytest.raises(ConfigError, match="max_group"):
        perf.fpga_prefill(perf.FpgaPlatform(preset("u280", max_group=4)),
                          perf.MODELS["qwen2.5-7b"], 4096, 0.5)


# ---------------------------------------------------------------- GPU baseline (CPU parts)
@pytest.mark.parametrize("layer", [3, 20])
def test_gpu_estimator_matches_golden_pattern(layer):
    """The vectorised estimator the GPU baseline times is the golden pattern (float64, CPU)."""
    from golden.gpu_baseline import BLOCK, estimate_mask
    from golden.pattern import build_pattern
    from golden.smollm2 import load_qkv
    from hdl.config import SparsityConfig

    cap = load_qkv(layer, 1024)
    sp = SparsityConfig()
    want = build_pattern(cap.q, cap.k, BLOCK, sp, layer=layer).mask
    got = estimate_mask(cap.q, cap.k, BLOCK, sp, dtype=torch.float64)
    assert torch.equal(got, want)


def test_gpu_baseline_skips_without_cuda(tmp_path, capsys):
    from golden import gpu_baseline

    if torch.cuda.is_available():
        pytest.skip("CUDA present: the skip path is not taken")
    assert gpu_baseline.main(["--length", "4096", "--out", str(tmp_path)]) == 0
    assert "no CUDA device" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_gpu_efficiency_from_data_files(tmp_path):
    from golden.evaluate import gpu_efficiency, load_gpu_results

    assert gpu_efficiency(load_gpu_results(tmp_path)).source.startswith("assumed")
    rows = [{"seq_len": 4096, "dense_eff": 0.4, "sparse_eff": 0.2, "gemm_eff": 0.6,
             "index_mem_eff": 0.3}]
    (tmp_path / "x.json").write_text(json.dumps({"gpu": "Test GPU", "peak_flops": 1e14,
                                                 "results": rows}))
    eff = gpu_efficiency(load_gpu_results(tmp_path))
    assert (eff.attn_dense, eff.attn_sparse, eff.gemm, eff.index) == (0.4, 0.2, 0.6, 0.3)
    assert "Test GPU" in eff.source
    (tmp_path / "y.json").write_text(json.dumps({"gpu": "No results"}))
    with pytest.raises(ValueError, match="missing field"):
        load_gpu_results(tmp_path)


def test_density_model_labels():
    from golden.evaluate import DensityModel

    dm = DensityModel.fit({2048: 0.5, 8192: 0.25})
    assert dm.alpha == pytest.approx(0.5)
    d, label = dm(8192)
    assert d == 0.25 and label.startswith("measured")
    d, label = dm(32768)
    assert d == pytest.approx(0.125) and label.startswith("projected")
    with pytest.raises(ValueError, match="two lengths"):
        DensityModel.fit({8192: 0.25})


# ---------------------------------------------------------------- index generator
def test_index_generator_model_predicts_rtl_ci():
    """hdl/index/sig.py on real SmolLM2 groups of several lengths and group sizes, and the model
    given the same kept-set sizes (the selection's data-dependent part)."""
    from tb.benchmarks.sig import make_case, real_qk
    lat = 30
    cases = []
    for layer, n, kv, g in ((3, 512, 0, 3), (15, 384, 1, 1), (22, 256, 2, 2)):
        qq, kq = real_qk(layer, n, CI)
        cases.append(make_case(f"perf-L{layer}-{n}-g{g}", qq, kq, cfg=CI, kv=kv, g=g))
    bdir = build_dir_for("sig", CI)
    bdir.mkdir(parents=True, exist_ok=True)
    path, out = bdir / "perf-cases.pt", bdir / "perf-cycles.json"
    torch.save({"cases": cases}, path)
    run("sig", CI, "tb.test_sig", tag="perf",
        extra_env={"SIG_CASES": str(path), "SIG_LAT": str(lat), "SIG_AXI_BP": "0", "SIG_OUT": str(out)})
    results = {r["name"]: r for r in json.loads(out.read_text())}
    assert len(results) == len(cases)
    for case in cases:
        kept = max(len(s) for s in case["vsets"] + case["ssets"])
        model = perf.index_generator_cycles(CI, case["L"], case["g"], kept=kept, hbm_latency=lat)
        rtl = results[case["name"]]["cycles"]
        assert abs(model - rtl) <= TOL * rtl, (case["name"], model, rtl)


# ---------------------------------------------------------------- the accelerator top, one layer
def _check_top_runs(runs):
    for r in runs:
        for k in ("cnt_cycles", "cnt_sig_cycles", "cnt_attn_cycles"):
            model, rtl = r["model"][k], r["rtl"][k]
            assert abs(model - rtl) <= TOL * rtl, (r["name"], r["latency"], k, model, rtl)


def test_top_layer_model_predicts_rtl_ci():
    """The whole top (hdl/top/fast_prefill_top.py) on real SmolLM2 layers at ci, run here through
    the bench's job builders: a pooled (row_gamma on) and a row_gamma 0 layer, 256 tokens,
    HBM latency 30.  The model gets only the golden pattern and the run's settings."""
    runs = calibrate.rtl_top_runs(CI, calibrate.QUICK_CASES, 30, tag="perf-top")
    assert {r["pooled"] for r in runs} == {True, False}
    _check_top_runs(runs)


def test_top_layer_model_predicts_rtl_ci_lanes():
    """Time-shared lanes (ci, head_lanes = 2: groups of 3 heads in passes of 2 and 1): the model
    per pass against the RTL, the same cases (the build is tests/test_top.py's lanes build)."""
    runs = calibrate.rtl_top_runs(CI.replace(head_lanes=2), calibrate.QUICK_CASES, 30, tag="perf-top-lanes")
    _check_top_runs(runs)


@pytest.mark.slow
@pytest.mark.parametrize("lat", [30, 100])
def test_top_layer_model_predicts_rtl_ci_all(lat):
    """Every calibration case (3 layers x 256 / 512 tokens x row_gamma on / off) at latency
    30 and 100 (docs/performance.md, the calibration table)."""
    _check_top_runs(calibrate.rtl_top_runs(CI, calibrate.CALIBRATION_CASES, lat, tag="perf-top-all"))


@pytest.mark.slow
def test_top_layer_model_predicts_rtl_ci_long():
    """1024 tokens at ci: 64 blocks over 40 cache slots (evictions)."""
    _check_top_runs(calibrate.rtl_top_runs(CI, calibrate.LONG_CASES, 30, tag="perf-top-long"))


def test_top_layer_model_structure():
    """Model-only checks: the counters add up, a longer HBM latency costs cycles, the pooled
    rows cost cycles, and bad inputs raise."""
    from golden.pattern import dense_pattern

    L, H, Hkv = 128, 6, 2
    gold = {"pattern": dense_pattern(H, L, CI.block)}
    a = perf.top_layer_cycles(CI, gold, L, H, Hkv, 30, pooled=False)
    assert a["cnt_cycles"] == a["cnt_sig_cycles"] + a["cnt_attn_cycles"] + a["other"]
    nb = L // CI.block
    assert a["cnt_attn_cycles"] >= Hkv * nb * (nb + 1) // 2 * 2 * CI.block   # ideal: 2B per access
    b = perf.top_layer_cycles(CI, gold, L, H, Hkv, 200, pooled=False)
    assert b["cnt_cycles"] > a["cnt_cycles"] and b["cnt_sig_cycles"] > a["cnt_sig_cycles"]
    c = perf.top_layer_cycles(CI, gold, L, H, Hkv, 30, pooled=True)
    assert c["cnt_sig_cycles"] > a["cnt_sig_cycles"] and c["cnt_attn_cycles"] > a["cnt_attn_cycles"]
    with pytest.raises(ValueError, match="heads"):
        perf.top_layer_cycles(CI, gold, L, 5, Hkv)
    with pytest.raises(ValueError, match="pattern mask"):
        perf.top_layer_cycles(CI, gold, 2 * L, H, Hkv)
    with pytest.raises(ValueError, match="golden"):
        perf.top_layer_cycles(CI, {}, L, H, Hkv)
    with pytest.raises(ValueError, match="hbm_latency"):
        perf.top_layer_cycles(CI, gold, L, H, Hkv, -1)


@pytest.mark.slow
def test_top_layer_model_predicts_rtl_u280():
    """The u280 preset's top (one lane, D = 128: two 512-bit beats per K/V row) on random
    Q/K/V (SmolLM2's heads are D = 64): 4 heads on one KV head at 512 tokens, so 4 passes;
    O, sets and counters bit-exact in the bench, the model within 5 % (measured: -1.3 %)."""
    from host.driver import Accelerator
    from tb.benchmarks.top import golden_for, run_top_cases

    cfg = preset("u280")
    L, H, Hkv = 512, 4, 1
    gen = torch.Generator().manual_seed(7)
    q, k, v = (torch.randn(n, L, cfg.head_dim, generator=gen) for n in (H, Hkv, Hkv))
    k[:, :, :8] *= 4.0
    job = Accelerator(cfg, None).plan(q, k, v)
    gold = golden_for(job)
    model = perf.top_layer_cycles(cfg, gold, L, H, Hkv, 30, job.sparsity.row_gamma > 0)
    res = run_top_cases(cfg, [{"name": f"random-{L}", "job": job, "gold": gold, "status": 0}],
                        "u280", 30)[0]
    assert res["status"] == 0
    _check_top_runs([{"name": res["name"], "latency": 30, "model": model, "rtl": res["counters"]}])
