"""Converter: one Verilog file per hardware unit for a configuration.

A *unit* is a module ``hdl/<name>.py`` that defines ``UNIT_NAME`` (the Verilog
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
import pkgutil
import tempfile
from pathlib import Path

import hdl
from hdl.config import AcceleratorConfig, ConfigError


def _unit_modules() -> dict:
    found = {}
    for info in pkgutil.iter_modules(hdl.__path__):
        if info.name in ("config", "convert", "synth") or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"hdl.{info.name}")
        name = getattr(module, "UNIT_NAME", None)
        if name and callable(getattr(module, "top", None)):
            found[name] = module
    return found


def units() -> list[str]:
    """Names of every convertible unit."""
    return sorted(_unit_modules())


def config_hash(cfg: AcceleratorConfig) -> str:
    """A short hash of every field of ``cfg`` (sparsity included)."""
    text = json.dumps(dataclasses.asdict(cfg), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def convert_unit(name: str, cfg: AcceleratorConfig, out_dir: str | Path) -> Path:
    """Convert unit ``name`` for ``cfg`` into ``out_dir/<name>.v``; returns the path.

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
    inst = mods[name].top(cfg)
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        inst.convert(hdl="Verilog", path=tmp, name=name, testbench=False)
        text = (Path(tmp) / f"{name}.v").read_text()
    # Drop the date line so that equal designs give equal files.
    text = "".join(line for line in text.splitlines(keepends=True)
                   if not line.startswith("// Date:"))
    target = out_dir / f"{name}.v"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return target


def convert_all(cfg: AcceleratorConfig, out_dir: str | Path,
                names: list[str] | None = None) -> dict[str, Path]:
    """Convert every unit (or ``names``) for ``cfg`` into ``out_dir``."""
    return {n: convert_unit(n, cfg, out_dir) for n in (names or units())}
