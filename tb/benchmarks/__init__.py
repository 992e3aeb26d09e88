"""Benchmark and synthesis registry: one module per unit, discovered by name.

A module ``tb/benchmarks/<name>.py`` takes part by defining any of:

``DESCRIPTION``                one line for the help text
``add_arguments(parser)``      options of ``fast-prefill bench <name>``
``run(args) -> int``           the benchmark (prints a table; exit code)
``add_synth_arguments(parser)``  options of ``fast-prefill synth <name>``
``synth(args) -> int``         the open-source synthesis table

Adding a unit's benchmark means adding its module; nothing here changes.
Modules must import lightly at top level (the CLI imports them to build its
parsers); heavy imports go inside ``run``/``synth``.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def _modules() -> dict[str, ModuleType]:
    out = {}
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            out[info.name] = importlib.import_module(f"{__name__}.{info.name}")
    return out


def benchmarks() -> dict[str, ModuleType]:
    """Modules with a ``run(args)``: ``fast-prefill bench NAME``."""
    return {n: m for n, m in _modules().items() if callable(getattr(m, "run", None))}


def synth_targets() -> dict[str, ModuleType]:
    """Modules with a ``synth(args)``: ``fast-prefill synth NAME``."""
    return {n: m for n, m in _modules().items() if callable(getattr(m, "synth", None))}
