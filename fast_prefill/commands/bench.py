"""``fast-prefill bench NAME``: run a benchmark from the registry in tb/benchmarks/."""

from __future__ import annotations


def register(sub) -> None:
    from tb.benchmarks import benchmarks

    p = sub.add_parser("bench", help="run a benchmark and print its table (tb/benchmarks/)")
    names = p.add_subparsers(dest="bench_name", metavar="NAME")
    for name, mod in sorted(benchmarks().items()):
        q = names.add_parser(name, help=getattr(mod, "DESCRIPTION", name))
        if hasattr(mod, "add_arguments"):
            mod.add_arguments(q)
        q.set_defaults(func=mod.run)
    p.set_defaults(func=_missing, _parser=p)


def _missing(args) -> int:
    args._parser.print_help()
    return 2
