"""``fast-prefill config``: print a preset's configuration and its derived sizes."""

from __future__ import annotations

import dataclasses
import json

from hdl.config import PRESETS, preset


def register(sub) -> None:
    p = sub.add_parser("config", help="print a preset's configuration")
    p.add_argument("--preset", default="smollm2", choices=sorted(PRESETS))
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args) -> int:
    cfg = preset(args.preset)
    data = dataclasses.asdict(cfg)
    data["derived"] = {k: getattr(cfg, k) for k in
                       ("lanes", "max_blocks", "block_index_bits", "dsp_rows", "macs_per_cycle",
                        "kv_block_bytes", "axi_bytes")}
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        for key, value in data.items():
            print(f"{key:16s} {value}")
    return 0
