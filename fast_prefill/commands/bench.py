"""``fast-prefill bench NAME``: run a benchmark from the registry in tb/benchmarks/."""

from __future__ import annotations

from fast_prefill.commands import add_unit_parsers


def register(sub) -> None:
    from tb.benchmarks import benchmarks

    p = sub.add_parser("bench", help="run a benchmark and print its table (tb/benchmarks/)")
    add_unit_parsers(p, "bench_name", benchmarks(), "add_arguments", "run")
