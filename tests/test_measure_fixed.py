"""golden.measure's end-to-end modes on real SmolLM2 tensors (short prompt): the fixed-point mode
is the report's fixed-point run, and the fixed modes use one pattern rule."""

import pytest

from golden.measure import ATTENTION_MODES, end_to_end
from golden.report import run_report
from hdl.config import preset

TOKENS = 256


def test_fixed_mode_equals_report_fixed_run():
    """``--attention fixed`` reuses the report's fixed-point layer: same logits, so the same
    perplexity and top-1 agreement as ``fast-prefill report``'s end-to-end fixed-point figures."""
    r = end_to_end(TOKENS, "default", attention="fixed")
    rep = run_report(preset("smollm2"), n_tokens=TOKENS, layers=[0])["end_to_end"]
    assert r["ppl_dense"] == pytest.approx(rep["ppl_dense"], rel=1e-9)
    assert r["ppl_sparse"] == pytest.approx(rep["ppl_sparse_fixed"], rel=1e-9)
    assert r["top1_agreement"] == rep["top1_agreement_fixed"]


def test_fixed_modes_share_the_pattern_rule_and_split_the_loss():
    # 512 tokens: at 256 the default pattern keeps every tile
    rows = {m: end_to_end(512, "default", attention=m) for m in ("fixed-pattern", "fixed-int8")}
    # same estimator on each layer's quantised Q/K; only upstream activations differ
    dens = [rows[m]["mean_density"] for m in rows]
    assert max(dens) < 1.0 and abs(dens[0] - dens[1]) < 0.01
    # int8 inputs change the output: the split is not empty
    assert rows["fixed-int8"]["ppl_sparse"] != rows["fixed-pattern"]["ppl_sparse"]
    assert rows["fixed-int8"]["ppl_sparse"] == pytest.approx(rows["fixed-pattern"]["ppl_dense"], rel=0.05)


def test_bad_mode():
    assert "fixed" in ATTENTION_MODES
    with pytest.raises(ValueError, match="attention must be one of"):
        end_to_end(TOKENS, "default", attention="int4")
