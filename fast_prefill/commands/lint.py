"""``fast-prefill lint``: convert every unit for the presets and lint it with Verilator -Wall.

Fails (exit 1) on any warning or error; ``-Wno-WIDTH`` only (MyHDL's output
always has width warnings).  Each unit is converted as the top builds it
(``hdl.convert.build_config``: the index generator, the pooled rows and the attention group for
the preset's lanes).
"""

from __future__ import annotations

from pathlib import Path

from hdl.config import PRESETS, preset


def register(sub) -> None:
    p = sub.add_parser("lint", help="convert every unit and lint it (verilator --lint-only -Wall)")
    p.add_argument("--preset", action="append", choices=sorted(PRESETS), default=None,
                   help="preset to lint (repeatable; default: every preset)")
    p.add_argument("--out", type=Path, default=Path("build") / "lint",
                   help="folder for the converted files (default build/lint)")
    p.set_defaults(func=run)


def run(args) -> int:
    from hdl.errors import UserError
    from hdl.convert import build_config, convert_unit, lint_file, units, unsupported_reason

    failures = 0
    gaps = 0
    for name in args.preset or sorted(PRESETS):
        for unit in units():
            cfg = build_config(unit, preset(name))       # as the top builds it (lanes)
            reason = unsupported_reason(unit, cfg)
            if reason:
                print(f"{name:8s} {unit:12s} {'not supported':14s} {reason}")
                gaps += 1
                continue
            try:
                path = convert_unit(unit, cfg, args.out / name)
            except UserError as exc:
                print(f"{name:8s} {unit:12s} {'conversion failed':14s}")
                for line in str(exc).splitlines():
                    print(f"    {line}")
                failures += 1
                continue
            problems = lint_file(path, top=unit)
            status = "ok" if not problems else f"{len(problems)} problem(s)"
            print(f"{name:8s} {unit:12s} {status:14s} {path}")
            for line in problems:
                print(f"    {line}")
            failures += bool(problems)
    if gaps:
        print(f"lint: {gaps} unit/preset pair(s) not supported yet (listed above, not linted)")
    if failures:
        print(f"lint: {failures} unit(s) failing (conversion error or lint warning)")
        return 1
    return 0
