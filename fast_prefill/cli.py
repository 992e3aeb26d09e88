"""The ``fast-prefill`` command.

Each subcommand lives in its own module under ``fast_prefill/commands``; a
module defines ``register(subparsers)`` which adds its parser and sets
``func`` (called with the parsed arguments, returning an exit code).  Modules
are discovered, so adding a subcommand touches no other file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from fast_prefill import __version__, commands
from hdl.errors import UserError
from hdl.toolchain import ToolchainError
from hdl.config import ConfigError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fast-prefill",
        description="FAST-Prefill: FPGA accelerator for long-context prefill with dynamic sparse attention")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (UserError, ConfigError, ToolchainError, FileNotFoundError) as exc:
        print(f"fast-prefill {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
