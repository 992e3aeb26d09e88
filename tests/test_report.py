"""The pattern report (golden/report.py, ``fast-prefill report``) on real SmolLM2 tensors."""

import json

import pytest

from fast_prefill.cli import main
from golden.report import format_report, run_report
from hdl.config import preset

TOKENS = 256


@pytest.fixture(scope="module")
def report():
    return run_report(preset("smollm2"), n_tokens=TOKENS, layers=[0, 15])


def test_report_keys_and_ranges(report):
    assert report["n_tokens"] == TOKENS
    assert [row["layer"] for row in report["layers"]] == [0, 15]
    for row in report["layers"]:
        assert len(row["heads"]) == 9
        for h in row["heads"]:
            for key in ("density", "recall", "rel_err_float", "rel_err_fixed"):
                assert key in h
            assert 0.0 < h["density"] <= 1.0 and 0.0 < h["recall"] <= 1.0 + 1e-5
            assert h["rel_err_float"] >= 0.0 and h["rel_err_fixed"] >= 0.0
        t = row["kv_traffic_bytes"]
        assert t["compulsory"] <= t["liveness"] <= t["lru"] <= t["none"]
    densities = [h["density_fixed"] for row in report["layers"] for h in row["heads"]]
    assert report["mean_density"] == pytest.approx(sum(densities) / len(densities))
    e2e = report["end_to_end"]
    for key in ("ppl_dense", "ppl_sparse_float", "ppl_sparse_fixed",
                "top1_agreement_float", "top1_agreement_fixed"):
        assert key in e2e
    # sparse prefill in every layer at 256 tokens stays close to dense
    assert e2e["ppl_sparse_fixed"] == pytest.approx(e2e["ppl_dense"], rel=0.05)
    assert e2e["top1_agreement_fixed"] > 0.85
    text = format_report(report)
    assert "perplexity dense" in text and "KV traffic" in text


def test_all_dense_report_equals_dense():
    """With every layer dense the float path is the dense model: same perplexity, full agreement."""
    cfg = preset("smollm2")
    cfg = cfg.replace(sparsity=cfg.sparsity.replace(dense_below=TOKENS + 1))
    rep = run_report(cfg, n_tokens=TOKENS, layers=[3])
    assert rep["mean_density"] == 1.0
    e2e = rep["end_to_end"]
    assert e2e["ppl_sparse_float"] == pytest.approx(e2e["ppl_dense"], rel=1e-4)
    assert e2e["top1_agreement_float"] == 1.0
    assert all(h["rel_err_float"] < 1e-4 for h in rep["layers"][0]["heads"])


def test_cli_json(capsys):
    assert main(["report", "--tokens", "128", "--layer", "1", "--no-end-to-end", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["layers"][0]["layer"] == 1 and "end_to_end" not in data


@pytest.mark.parametrize("argv, message", [
    (["report", "--tokens", "0"], "--tokens"),
    (["report", "--tokens", "9000"], "--tokens"),
    (["report", "--gamma", "1.5"], "gamma"),
    (["report", "--tokens", "128", "--layer", "99", "--no-end-to-end"], "layer 99"),
    (["report", "--prompt-file", "/nonexistent/prompt.txt"], "no such file"),
    (["report", "--tokens", "128", "--prompt", "nope", "--no-end-to-end"], "nope"),
])
def test_cli_bad_arguments_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err and len(err.splitlines()) == 1
