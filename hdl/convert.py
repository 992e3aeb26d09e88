"""Converter: one Verilog file per hardware unit for a configuration.

A *unit* is a module under ``hdl/`` (``hdl/<package>/<name>.py``) that defines ``UNIT_NAME`` (the Verilog
module and file name) and ``top(cfg)`` (the MyHDL instance to convert).  Units
are discovered, so a new unit needs no edit here.

Public API
    units()                                -> sorted list of unit names
    convert_unit(name, cfg, out_dir)       -> Path of ``<out_dir>/<name>.v``
    convert_all(cfg, out_dir, names=None)  -> {name: Path}
    config_hash(cfg)                       -> short stable hash of a config

The files are deterministic (MyHDL's date line is dropped), so a file's hash
tells whether a cached simulator build is still valid.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
import pkgutil
import subprocess
import sys
import tempfile
from pathlib import Path

import hdl
from hdl.errors import UserError
from hdl.config import AcceleratorConfig, ConfigError, SparsityConfig


def _unit_modules() -> dict:
    found = {}
    for info in pkgutil.walk_packages(hdl.__path__, prefix="hdl."):
        if info.ispkg or info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        module = importlib.import_module(info.name)
        name = getattr(module, "UNIT_NAME", None)
        if name and callable(getattr(module, "top", None)):
            found[name] = module
    return found


def units() -> list[str]:
    """Names of every convertible unit."""
    return sorted(_unit_modules())


def unsupported_reason(name: str, cfg: AcceleratorConfig) -> str | None:
    """Why unit ``name`` cannot be built for ``cfg`` yet (None when it can).

    A unit declares the sizes it does not support by defining ``unsupported(cfg)``;
    lint and convert report it as a known gap instead of a conversion failure.
    """
    check = getattr(_unit_modules()[name], "unsupported", None)
    return check(cfg) if callable(check) else None


def config_hash(cfg: AcceleratorConfig) -> str:
    """A short hash of every field of ``cfg`` (sparsity included)."""
    text = json.dumps(dataclasses.asdict(cfg), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# Converted files by content key (see _source_key); FAST_PREFILL_CONVERT_CACHE overrides.
CONVERT_CACHE = Path(os.environ.get("FAST_PREFILL_CONVERT_CACHE",
                                    Path(__file__).resolve().parents[1] / "build" / "convert-cache"))

def _sources() -> list[Path]:
    """Every source file of hdl/, its subpackages included."""
    return sorted(Path(__file__).resolve().parent.glob("**/*.py"))


def _source_key(name: str, cfg: AcceleratorConfig) -> str:
    """Hash of everything a conversion depends on: unit, config, MyHDL version and the sources
    of hdl/ (which imports nothing outside itself: tests/test_layering.py)."""
    import myhdl

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(json.dumps([name, dataclasses.asdict(cfg), myhdl.__version__]).encode())
    for path in _sources():
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def convert_unit(name: str, cfg: AcceleratorConfig, out_dir: str | Path) -> Path:
    """Convert unit ``name`` for ``cfg`` into ``out_dir/<name>.v``; returns the path.

    A conversion is reused from ``CONVERT_CACHE`` while its inputs are unchanged (unit, config,
    MyHDL version, the sources of hdl/).

    The file is rewritten only when its content changes (its mtime then
    tells a build system nothing new happened).
    """
    mods = _unit_modules()
    if name not in mods:
        raise ConfigError(f"unit: unknown unit {name!r}; choose one of {sorted(mods)}")
    if not isinstance(cfg, AcceleratorConfig):
        raise ConfigError(f"cfg: expected an AcceleratorConfig, got {type(cfg).__name__}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}.v"
    # Conversion is deterministic in (unit, config, MyHDL sources): a file converted from the
    # same inputs is reused (large units take minutes to convert).
    cached = CONVERT_CACHE / f"{name}-{_source_key(name, cfg)}.v"
    if cached.exists():
        text = cached.read_text()
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
        return target
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        # A fresh interpreter per conversion: MyHDL keeps process-wide instance
        # name counters, so a second conversion in one process renames signals.
        cfg_json = json.dumps(dataclasses.asdict(cfg))
        proc = subprocess.run([sys.executable, "-m", "hdl.convert", name, cfg_json, tmp],
                              capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1],
                              env={**os.environ, "PYTHONHASHSEED": "0"})  # set order in sensitivity lists
        if proc.returncode != 0:
            # The converter's own message (the last lines) names the file, line and problem.
            tail = "\n".join(proc.stderr.strip().splitlines()[-3:])
            raise UserError(f"convert: unit {name!r} (config {cfg.name!r}) does not convert:\n{tail}")
        text = (Path(tmp) / f"{name}.v").read_text()
    # Drop the date and temporary-path lines so that equal designs give equal files.
    text = "".join(line for line in text.splitlines(keepends=True)
                   if not line.startswith(("// Date:", "// File:")))
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    CONVERT_CACHE.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(text)
    partial.replace(cached)          # atomic: a parallel reader sees all of it or nothing
    return target


#: Units that hold one MPU / engine per head: the top builds them for ``cfg.lanes`` heads.
PER_LANE_UNITS = ("sig", "sig_pool", "grp_attn")


def build_config(name: str, cfg: AcceleratorConfig) -> AcceleratorConfig:
    """The config unit ``name`` is built with inside the top at ``cfg`` (``cfg.unit_config()`` for
    the per-lane units, ``cfg`` for the others)."""
    return cfg.unit_config() if name in PER_LANE_UNITS else cfg


def convert_all(cfg: AcceleratorConfig, out_dir: str | Path,
                names: list[str] | None = None) -> dict[str, Path]:
    """Convert every unit (or ``names``) for ``cfg`` into ``out_dir``."""
    return {n: convert_unit(n, cfg, out_dir) for n in (names or units())}


def lint_file(path: str | Path, top: str | None = None) -> list[str]:
    """``verilator --lint-only -Wall -Wno-WIDTH`` on one file; returns its warning/error lines.

    An empty list means the file is clean.
    """
    import subprocess

    from hdl.toolchain import verilator_exe

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"lint: no such file: {path}")
    cmd = [verilator_exe(), "--lint-only", "-Wall", "-Wno-WIDTH", str(path)]
    if top:
        cmd += ["--top-module", top]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines()
             if ln.startswith(("%Warning", "%Error"))]
    if proc.returncode != 0 and not lines:
        lines = [f"%Error: verilator exited with {proc.returncode}: {proc.stderr.strip()[:500]}"]
    return lines


def _convert_here(name: str, cfg_json: str, out_dir: str) -> None:
    data = json.loads(cfg_json)
    sp = data.pop("sparsity", None) or {}
    if "dense_layers" in sp:
        sp["dense_layers"] = tuple(sp["dense_layers"])
    cfg = AcceleratorConfig(**data, sparsity=SparsityConfig(**sp))
    _unit_modules()[name].top(cfg).convert(hdl="Verilog", path=out_dir, name=name, testbench=False)


if __name__ == "__main__":
    _convert_here(*sys.argv[1:4])
