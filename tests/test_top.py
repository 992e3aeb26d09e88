"""Accelerator top (hdl/top/fast_prefill_top.py) end to end through the host driver.

Cases (ci preset, one simulator run, tb/test_top.py), built on the host with the driver's
``Accelerator.plan`` and the golden model (tb/benchmarks/top.py ``golden_for``):

* a full SmolLM2 layer (layer 3: 9 heads, 3 KV groups) of the shipped prompt at 256 tokens,
  the preset's default sparsity (row_gamma 0.99: the pooled per-row estimate on, sig_pool in
  the top): every head's vertical / slash sets and O bit-exact against
  ``estimate_pattern_fixed`` with that sparsity, the cache counters and the tile count equal
  golden.cache_sim's; the same at layer 5, 100 tokens, with row_gamma 0 (row_gamma_code 0: no
  pooled rows);
* bad programming, each refused with its documented status and no HBM traffic: L = 0,
  L > max_seq_len, H not a multiple of Hkv, H / Hkv > max_group, an unaligned base, O over Q,
  the index buffer over K, gamma code 0 and 2**16 + 1, row_gamma_code 2**16 + 1, window 0,
  top-k 0;
* AXI error responses on every bundle (SLVERR / DECERR on an R beat or a B response, during
  the code load, the index generator, the pooled rows' means load, the index dump and the
  attention phase): status 7-10;
* after each refused or failed run, a correct run (layer 5 at 100 tokens: a partial last block)
  is exact again; one of them polls ap_done instead of the interrupt; one gets a second
  ap_start while busy (ignored, status bit 31).
"""

from __future__ import annotations

import pytest
import torch

from hdl.config import preset
from tb.kit.runner import build_dir_for, run

CFG = preset("ci")
SLVERR, DECERR = 2, 3


@pytest.fixture(scope="module")
def have_smollm2():
    try:
        from golden.smollm2 import model_path
        model_path()
    except Exception as exc:  # noqa: BLE001  the model package is optional
        pytest.skip(f"SmolLM2 model not available: {exc}")


def _job(layer: int, n_tokens: int, sp=None, gold: bool = True, cfg=CFG):
    from host.driver import Accelerator
    from tb.benchmarks.top import golden_for, layer_tensors
    q, k, v = layer_tensors(layer, n_tokens, cfg)
    job = Accelerator(cfg, None).plan(q, k, v, sp)
    return job, (golden_for(job) if gold else None)


def cases() -> list[dict]:
    import copy
    big, big_gold = _job(3, 256)
    small, small_gold = _job(5, 100)
    rg0, rg0_gold = _job(5, 100, sp=CFG.sparsity.replace(row_gamma=0.0))
    assert big.regs["row_gamma_code"] != 0 and rg0.regs["row_gamma_code"] == 0
    out = [{"name": "layer3-256", "job": big, "gold": big_gold, "status": 0},
           {"name": "layer5-100-row-gamma-0", "job": rg0, "gold": rg0_gold, "status": 0}]

    def good(tag: str, **extra) -> dict:
        return {"name": f"good-after-{tag}", "job": copy.deepcopy(small), "gold": small_gold, "status": 0,
                **extra}

    a = small.addrs
    bad = [("L0", {"seq_len": 0}, 1), ("Lbig", {"seq_len": CFG.max_seq_len + 1}, 2),
           ("H-not-multiple", {"n_heads": 8}, 3), ("g-too-big", {"n_heads": 3 * (CFG.max_group + 1)}, 3),
           ("Hkv0", {"n_kv_heads": 0}, 3), ("unaligned", {"q_addr": a["q"] + 8}, 4),
           ("O-over-Q", {"o_addr": a["q"]}, 5), ("idx-over-K", {"idx_addr": a["k"] + 64}, 5),
           ("gamma0", {"gamma_code": 0}, 6), ("gamma-over", {"gamma_code": (1 << 16) + 1}, 6),
           ("row-gamma", {"row_gamma_code": (1 << 16) + 1}, 6), ("window0", {"local_window": 0}, 6),
           ("topk0", {"sel_mode": 1, "topk_vertical": 0}, 6)]
    for i, (tag, regs, st) in enumerate(bad):
        out.append({"name": f"bad-{tag}", "job": copy.deepcopy(small), "gold": None, "regs": regs,
                    "status": st, "max_cycles": 2000})
    out.append(good("bad", irq=False))
    # m_axi_idx beat 250 of the L = 100 run: past the index generator's ~130 beats of group 0,
    # inside sig_pool's means load (K and 3 heads' Q: ~220 beats)
    errs = [("q-code-load-decerr", ("q", DECERR, 1), 7), ("idx-slverr", ("idx", SLVERR, 5), 8),
            ("idx-pool-slverr", ("idx", SLVERR, 250), 8),
            ("idx-dump-b-slverr", ("o", SLVERR, 0), 10), ("q-attn-slverr", ("q", SLVERR, 12), 7),
            ("kv-slverr", ("kv", SLVERR, 3), 9), ("kv-decerr", ("kv", DECERR, 40), 9),
            ("o-attn-b-decerr", ("o", DECERR, 9), 10)]
    for tag, inj, st in errs:
        out.append({"name": f"axi-{tag}", "job": copy.deepcopy(small), "gold": None, "inject": inj,
                    "status": st})
        out.append(good(tag))
    out.append(good("busy-poke", poke=300))
    return out


def _run(tag: str, case_list: list[dict], env: dict | None = None, testcase=None, cfg=CFG):
    bdir = build_dir_for("fast_prefill_top", cfg)
    bdir.mkdir(parents=True, exist_ok=True)
    path = bdir / f"cases-{tag}.pt"
    torch.save({"cases": case_list}, path)
    return run("fast_prefill_top", cfg, "tb.test_top", testcase=testcase,
               extra_env={"TOP_CASES": str(path), **(env or {})}, tag=tag)


def test_top_end_to_end(have_smollm2):
    """Registers, the full layer, bad programming, AXI errors, recovery (see the module doc)."""
    _run("e2e", cases())


def test_top_head_lanes(have_smollm2):
    """Time-shared lanes (``head_lanes`` = 2 at ci: SmolLM2's groups of 3 heads run as passes of 2
    and 1 heads): the full layer 3 at 256 tokens with the pooled rows, sets, O and the per-pass
    cache counters bit-exact; an AXI error on m_axi_kv inside the second pass of group 0, then a
    correct run (layer 5, 100 tokens, row_gamma 0) again."""
    cfg = preset("ci", head_lanes=2)
    assert cfg.head_passes(3) == [(0, 2), (2, 1)]
    job, gold = _job(3, 256, cfg=cfg)
    assert len(gold["groups"]) == 6
    small, small_gold = _job(5, 100, sp=cfg.sparsity.replace(row_gamma=0.0), cfg=cfg)
    _run("lanes2", [{"name": "layer3-256", "job": job, "gold": gold, "status": 0},
                    {"name": "axi-kv-slverr", "job": small, "gold": None, "inject": ("kv", SLVERR, 60),
                     "status": 9},
                    {"name": "layer5-100-row-gamma-0", "job": small, "gold": small_gold, "status": 0}],
         testcase="test_cases", cfg=cfg)


@pytest.mark.slow
def test_top_smollm2_preset(have_smollm2):
    """The smollm2 preset (B = D = 64, SmolLM2's real head size): layer 3 at 1024 tokens, all 9
    heads, sets, O and counters bit-exact; then an AXI error and a correct run again."""
    cfg = preset("smollm2")
    job, gold = _job(3, 1024, cfg=cfg)
    small, small_gold = _job(5, 200, cfg=cfg)
    _run("smollm2", [{"name": "layer3-1024", "job": job, "gold": gold, "status": 0},
                     {"name": "axi-kv-slverr", "job": small, "gold": None, "inject": ("kv", SLVERR, 7),
                      "status": 9},
                     {"name": "good-after-kv", "job": small, "gold": small_gold, "status": 0}],
         testcase="test_cases", cfg=cfg)


def test_top_unsupported_and_ports():
    """The top's port list is exactly hdl.top.shell.top_ports; a preset the units cannot build is
    reported through unsupported(), not by a conversion failure."""
    import inspect

    from hdl.top import fast_prefill_top as top_mod
    from hdl.top.shell import top_ports
    names = [n for n, _, _ in top_ports(CFG)]
    params = list(inspect.signature(top_mod.fast_prefill_top.func).parameters)
    assert params == names + ["cfg"]
    widths = {n: w for n, _, w in top_ports(CFG)}
    assert {n: len(s) for n, s in top_mod.ports(CFG).items()} == widths
    assert top_mod.unsupported(CFG) is None
    assert top_mod.unsupported(preset("smollm2")) is None          # 512-bit ports
    assert top_mod.unsupported(preset("ci", axi_data_bits=512, head_dim=8)) is not None


def test_driver_plan_layout():
    """Host side only: the memory map is 4 KiB aligned and non-overlapping, the register values
    follow hdl.top.shell, the scale table holds the quantiser's codes, bad settings are refused."""
    from host.driver import Accelerator
    from hdl.config import ConfigError
    from hdl.top.shell import layout
    gen = torch.Generator().manual_seed(0)
    H, Hkv, L, D = 6, 2, 70, CFG.head_dim
    q, k, v = (torch.randn(n, L, D, generator=gen) for n in (H, Hkv, Hkv))
    acc = Accelerator(CFG, None)
    job = acc.plan(q, k, v)
    lay = layout(CFG, L, H, Hkv)
    assert job.layout == lay
    spans = sorted((job.addrs[n], job.addrs[n] + s) for n, s in
                   (("q", lay.q_bytes), ("k", lay.kv_bytes), ("v", lay.kv_bytes), ("scale", lay.scale_bytes),
                    ("o", lay.o_bytes), ("idx", lay.idx_bytes)))
    assert all(a % 4096 == 0 for a, _ in spans)
    assert all(e <= s2 for (_, e), (s2, _) in zip(spans, spans[1:]))
    assert job.regs["seq_len"] == L and job.regs["n_heads"] == H and job.regs["n_kv_heads"] == Hkv
    scale = [img for img in job.images if img[1] == job.addrs["scale"]][0][2]
    words = torch.tensor(list(memoryview(scale).cast("I")), dtype=torch.int64)
    fi = job.inputs
    c = lay.q_code_offset(4, 2) // 4
    assert words[c] == (int(fi.q.scale_mant[4, 2]) | ((int(fi.q.scale_exp[4, 2]) & 0xFFFF) << 16))
    c = lay.k_code_offset(1, lay.nb - 1) // 4
    assert words[c] == (int(fi.k.scale_mant[1, -1]) | ((int(fi.k.scale_exp[1, -1]) & 0xFFFF) << 16))
    from golden.estimator_fixed import gamma_code
    assert job.sparsity == CFG.sparsity and CFG.sparsity.row_gamma > 0
    assert job.regs["row_gamma_code"] == gamma_code(CFG.sparsity.row_gamma)
    assert acc.plan(q, k, v, CFG.sparsity.replace(row_gamma=0.0)).regs["row_gamma_code"] == 0
    with pytest.raises(ConfigError, match="row_gamma"):
        acc.plan(q, k, v, CFG.sparsity.replace(row_gamma=1.5))
    with pytest.raises(ValueError, match="base"):
        Accelerator(CFG, None, base=100)


@pytest.mark.parametrize("argv, needle", [
    (["--tokens", "0"], "--tokens must lie in 1..8192 for preset smollm2"),
    (["--tokens", "9000"], "--tokens must lie in 1..8192"),
    (["--layer", "30"], "--layer must lie in 0..29"),
    (["--lat", "-1"], "--lat must be >= 0"),
    (["--prompt-file", "/nonexistent/prompt.txt"], "no such file"),
])
def test_demo_bad_arguments(argv, needle, capsys):
    """The main job's bad arguments: one line on stderr, exit status 2, nothing built (the
    default preset is smollm2)."""
    from fast_prefill.cli import main
    assert main(["demo", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
