"""``fast-prefill convert``: write one Verilog file per hardware unit for a preset."""

from __future__ import annotations

from pathlib import Path

from hdl.config import PRESETS, preset


def register(sub) -> None:
    p = sub.add_parser("convert", help="convert every hardware unit of a preset to Verilog")
    p.add_argument("--preset", default="ci", choices=sorted(PRESETS))
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default build/verilog/<preset>)")
    p.add_argument("--unit", action="append", default=None,
                   help="convert only this unit (repeatable)")
    p.set_defaults(func=run)


def run(args) -> int:
    from hdl.convert import convert_all, units, unsupported_reason

    cfg = preset(args.preset)
    names = args.unit or units()
    unknown = sorted(set(names) - set(units()))
    if unknown:
        from hdl.errors import UserError
        raise UserError(f"unknown unit(s) {unknown}; units: {units()}")
    out = args.out or Path("build") / "verilog" / args.preset
    skipped = {n: unsupported_reason(n, cfg) for n in names}
    skipped = {n: why for n, why in skipped.items() if why}
    for name, why in skipped.items():
        print(f"{name:12s} not supported at preset {args.preset!r}: {why}")
    names = [n for n in names if n not in skipped]
    for name, path in convert_all(cfg, out, names).items():
        print(f"{name:12s} {path}")
    return 0
