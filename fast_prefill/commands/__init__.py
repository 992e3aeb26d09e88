"""Subcommands of ``fast-prefill``: one module each, with ``register(subparsers)``."""

from __future__ import annotations


def add_unit_parsers(parser, dest: str, modules: dict, add_arguments: str, entry: str):
    """One sub-parser of ``parser`` per module of the registry (tb/benchmarks/): its help is
    the module's ``DESCRIPTION``, its options come from the module's ``add_arguments`` hook (the
    attribute named so, when the module has it), and it runs the module's ``entry``.  Without a
    name the command prints its help (exit 2).  Returns the sub-parsers' action."""
    names = parser.add_subparsers(dest=dest, metavar="NAME")
    for name, mod in sorted(modules.items()):
        sub = names.add_parser(name, help=getattr(mod, "DESCRIPTION", name))
        if hasattr(mod, add_arguments):
            getattr(mod, add_arguments)(sub)
        sub.set_defaults(func=getattr(mod, entry))
    parser.set_defaults(func=_print_help, _parser=parser)
    return names


def _print_help(args) -> int:
    args._parser.print_help()
    return 2
