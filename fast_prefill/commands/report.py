"""``fast-prefill report``: the dynamic sparse pattern measured on SmolLM2."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hdl.errors import UserError
from hdl.config import PRESETS, preset


def register(sub) -> None:
    p = sub.add_parser("report", help="pattern density, recall, accuracy and KV traffic on SmolLM2")
    p.add_argument("--tokens", type=int, default=2048, help="prompt length (<= 8192, default 2048)")
    p.add_argument("--layer", type=int, action="append",
                   help="layer to report (repeatable; default: all). End-to-end metrics always "
                        "run sparse prefill in every layer")
    p.add_argument("--prompt", default="default", help="shipped prompt name (see golden/prompts.py)")
    p.add_argument("--prompt-file", type=Path, help="your own text file as the prompt")
    p.add_argument("--gamma", type=float, help="coverage of the vertical/slash estimate, in (0, 1]")
    p.add_argument("--preset", default="smollm2", choices=sorted(PRESETS))
    p.add_argument("--no-end-to-end", action="store_true", help="skip perplexity/agreement runs")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.set_defaults(func=run)


def run(args) -> int:
    from tqdm import tqdm

    from golden.report import format_report, run_report

    cfg = preset(args.preset)
    if args.gamma is not None:
        cfg = cfg.replace(sparsity=cfg.sparsity.replace(gamma=args.gamma))
    if args.tokens <= 0 or args.tokens > 8192:
        raise UserError(f"--tokens must lie in 1..8192, got {args.tokens}")
    prompt = args.prompt
    if args.prompt_file is not None:
        if not args.prompt_file.is_file():
            raise UserError(f"--prompt-file {args.prompt_file}: no such file")
        prompt = args.prompt_file

    def progress(it, **kw):
        return tqdm(it, file=sys.stderr, leave=False, disable=args.json and not sys.stderr.isatty(), **kw)

    report = run_report(cfg, n_tokens=args.tokens, prompt=prompt, layers=args.layer,
                        end_to_end=not args.no_end_to_end, progress=progress)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0
