"""Conversion and lint: every unit converts for the ci preset and lints clean with -Wall."""

from __future__ import annotations

import pytest

from fast_prefill.cli import main
from hdl.config import ConfigError, preset
from hdl.convert import convert_unit, lint_file, units


def test_lint_ci_preset_clean(tmp_path, capsys):
    rc = main(["lint", "--preset", "ci", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0, out
    for unit in units():
        assert (tmp_path / "ci" / f"{unit}.v").exists()
        assert f" {unit} " in out


def test_lint_catches_a_bad_file(tmp_path):
    bad = tmp_path / "bad.v"
    bad.write_text("module bad(input clk, input a, output y);\n"
                   "  wire unused_w;\n  assign y = a;\nendmodule\n")
    problems = lint_file(bad, top="bad")
    assert problems and any("UNUSED" in p for p in problems), problems


def test_convert_is_deterministic(tmp_path):
    cfg = preset("ci")
    a = convert_unit("mpu", cfg, tmp_path / "a").read_text()
    b = convert_unit("mpu", cfg, tmp_path / "b").read_text()
    assert a == b and "module mpu" in a and "// Date:" not in a


def test_convert_cli_and_errors(tmp_path, capsys):
    assert main(["convert", "--preset", "ci", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "mpu.v").exists()
    assert main(["convert", "--preset", "ci", "--out", str(tmp_path), "--unit", "nope"]) == 2
    assert "unknown unit" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="unit"):
        convert_unit("nope", preset("ci"), tmp_path)


def test_lut_rows_have_no_multiplier(tmp_path):
    """An all-LUT MPU multiplies no data: its only '*' are constant loop-index offsets."""
    import re

    # an operand made of literals and one-letter loop indices (c, d, k) is a constant once the
    # loop is unrolled: such groups fold to 0, and a '*' left after folding multiplies data
    const_group = re.compile(r"\((?:\s*(?:\d+|\b[a-z]\b)\s*[-+*/%]?)+\)")
    const_product = re.compile(r"(?<![\w'])(?:\d+|\b[a-z]\b)\s*\*\s*(?:\d+|\b[a-z]\b)(?![\w'])")

    def folded(line):
        while True:
            shorter = const_product.sub("0", const_group.sub("0", line))
            if shorter == line:
                return line
            line = shorter

    def data_products(text):
        return [ln for ln in text.splitlines() if "*" in folded(ln)]

    assert data_products(convert_unit("mpu", preset("ci", lut_rows=16), tmp_path).read_text()) == []
    dsp = data_products(convert_unit("mpu", preset("ci", lut_rows=0), tmp_path / "d").read_text())
    # the DSP rows' multiplies: two resident operands packed in one port, times the column's operand
    assert dsp and all(re.search(r"\bpk \* mpu_columns\d+_ops\[c\]", ln) for ln in dsp), dsp


def test_area_flow_keeps_the_lut_cells_partial_sums(tmp_path):
    """The synthesis script's keep (hdl.synth.KEEP_PARTIAL_SUMS) names signals that the LUT
    rows' cells declare, two per cell, and nothing in an MPU without LUT rows."""
    import fnmatch
    import re

    from hdl.synth import KEEP_PARTIAL_SUMS

    pattern = KEEP_PARTIAL_SUMS.split()[-1]
    assert pattern.startswith("w:")

    def kept(cfg, folder):
        text = convert_unit("mpu", cfg, tmp_path / folder).read_text()
        names = set(re.findall(r"^\s*(?:wire|reg)\s*(?:signed\s*)?(?:\[[^]]+\]\s*)?(\w+)\s*;", text, re.M))
        return {n for n in names if fnmatch.fnmatchcase(n, pattern[2:])}

    cfg = preset("ci")
    assert len(kept(cfg, "mixed")) == 2 * cfg.lut_rows * cfg.head_dim
    assert kept(preset("ci", lut_rows=0), "dsp") == set()


def test_conversion_cache_key_covers_every_hdl_source():
    """The conversion cache key (hdl.convert._source_key) hashes every file of hdl/, the
    subpackages and the torch-free numerics included; hdl/ imports nothing outside itself
    (tests/test_layering.py), so that is everything a conversion reads."""
    from pathlib import Path

    from hdl import convert
    hdl_dir = Path(convert.__file__).resolve().parent
    hashed = set(convert._sources())
    assert hashed == set(hdl_dir.rglob("*.py"))
    assert {hdl_dir / "numerics.py", hdl_dir / "mpu" / "pe_lut.py", hdl_dir / "top" / "sched.py"} <= hashed


def test_conversion_reused_until_inputs_change(tmp_path, monkeypatch):
    from hdl import convert
    monkeypatch.setattr(convert, "CONVERT_CACHE", tmp_path / "cache")
    cfg = preset("ci")
    first = convert_unit("mpu", cfg, tmp_path / "a")
    assert len(list((tmp_path / "cache").glob("mpu-*.v"))) == 1
    again = convert_unit("mpu", cfg, tmp_path / "b")              # another folder: from the cache
    assert again.read_text() == first.read_text()
    convert_unit("mpu", preset("ci", lut_rows=0), tmp_path / "c")  # another config: converted anew
    assert len(list((tmp_path / "cache").glob("mpu-*.v"))) == 2
    first.write_text("// edited\n")                                # a touched output is restored
    assert convert_unit("mpu", cfg, tmp_path / "a").read_text() == again.read_text()


def test_lint_top_single_lane(tmp_path):
    """The top with one lane (head_lanes = 1, as the smollm2 preset): its units are built for one
    head (max_group 1: 1-bit head vectors), and the Verilog still lints clean."""
    cfg = preset("ci", head_lanes=1)
    path = convert_unit("fast_prefill_top", cfg, tmp_path)
    assert lint_file(path, top="fast_prefill_top") == []
