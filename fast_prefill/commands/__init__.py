"""Subcommands of ``fast-prefill``: one module each, with ``register(subparsers)``."""
