"""``fast-prefill evaluate``: the 4K-128K evaluation tables (golden/evaluate.py).

TTFT split into linear / index / attention, energy, KV traffic, rooflines and the comparison
with an A5000 (projected from its datasheet at the efficiency measured by the GPU baseline
data files in golden/data/gpu/, or an assumed one when there are none).  Every number is
labelled measured / calibrated / projected / assumed.
"""

from __future__ import annotations

import json


def register(sub) -> None:
    from golden.evaluate import LENGTHS
    from golden.perf import MODELS

    p = sub.add_parser("evaluate", help="performance model: TTFT, energy, KV traffic vs GPU (4K-128K)")
    p.add_argument("--model", action="append", choices=sorted(MODELS), default=None,
                   help="model shape(s) (default: llama-3.1-8b and qwen2.5-7b)")
    p.add_argument("--length", type=int, action="append", default=None,
                   help=f"context length(s) (default: {', '.join(map(str, LENGTHS))})")
    p.add_argument("--clock-mhz", type=float, default=None, help="kernel clock (default: the u280 preset's)")
    p.add_argument("--lanes", type=int, default=None,
                   help="head lanes of the design (default: the u280 preset's, 1: a group's heads in passes); "
                        "up to 7, one engine per head of a group at 7")
    p.add_argument("--hbm-efficiency", type=float, default=None,
                   help="fraction of the 460 GB/s HBM peak reached (default 425/460)")
    p.add_argument("--fpga-power", type=float, default=None, help="U280 board power in W (default 225)")
    p.add_argument("--no-cache-sim", action="store_true",
                   help="skip the KV cache simulation (KV traffic uncached)")
    p.add_argument("--accuracy", type=int, action="append", default=None, metavar="TOKENS",
                   help="also run SmolLM2 dense vs sparse prefill at TOKENS (2048, 8192; minutes)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--plots", metavar="DIR", default=None, help="write the PNG plots into DIR")
    p.set_defaults(func=run)


def run(args) -> int:
    from hdl.errors import UserError
    from golden import evaluate as ev
    from golden import perf
    from hdl.config import ConfigError, preset

    try:
        over = {"clock_mhz": args.clock_mhz} if args.clock_mhz is not None else {}
        if args.lanes is not None:
            over["head_lanes"] = args.lanes
        cfg = preset(perf.U280_PRESET, **over)
        kw = {}
        if args.hbm_efficiency is not None:
            kw["hbm_efficiency"] = args.hbm_efficiency
        if args.fpga_power is not None:
            kw["board_power_w"] = args.fpga_power
        plat = perf.FpgaPlatform(cfg, **kw)
        res = ev.evaluate(models=args.model or ("llama-3.1-8b", "qwen2.5-7b"),
                          lengths=args.length or ev.LENGTHS, platform=plat,
                          cache=not args.no_cache_sim)
        if args.accuracy:
            res["accuracy"] = [a for n in args.accuracy for a in ev.accuracy(n, sparsity=cfg.sparsity)]
    except (ValueError, ConfigError) as e:
        raise UserError(str(e)) from None
    if args.plots:
        for p in ev.write_plots(res, args.plots):
            print(f"wrote {p}")
    print(json.dumps(res, indent=1) if args.json else ev.format_report(res))
    return 0
