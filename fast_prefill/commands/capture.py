"""``fast-prefill capture``: run SmolLM2 on a prompt and cache one layer's post-RoPE Q/K/V.

One forward writes every layer's capture to the disk cache (``$FAST_PREFILL_CACHE``
or ``~/.cache/fast-prefill``); later benches read them without running the model.
Prints the cache file and the tensor shapes.
"""

from __future__ import annotations

import time
from pathlib import Path

from golden.prompts import PROMPTS
from golden.smollm2 import MAX_TOKENS, cache_path, load_qkv


def register(sub) -> None:
    p = sub.add_parser("capture", help="capture real SmolLM2 Q/K/V of a layer into the disk cache")
    p.add_argument("--tokens", type=int, default=2048, metavar="N",
                   help=f"prompt length in tokens, 1..{MAX_TOKENS} (default 2048)")
    p.add_argument("--layer", type=int, default=0, metavar="L", help="layer index, 0..29 (default 0)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--prompt", default="default", choices=sorted(PROMPTS),
                     help="shipped prompt name (default: default)")
    src.add_argument("--prompt-file", type=Path, metavar="PATH", help="your own UTF-8 text file")
    p.set_defaults(func=run)


def run(args) -> int:
    prompt = args.prompt_file if args.prompt_file is not None else args.prompt
    path = cache_path(args.layer, args.tokens, prompt)
    hit = path.is_file()
    start = time.perf_counter()
    cap = load_qkv(args.layer, args.tokens, prompt)
    took = time.perf_counter() - start
    print(f"prompt   {cap.prompt_id}  ({cap.n_tokens} tokens, sha256 {cap.token_sha256[:16]})")
    print(f"layer    {cap.layer}")
    print(f"cache    {path}  ({'hit' if hit else 'captured all layers'}, {took:.1f} s)")
    print(f"layers   {path.parent}/layer*.pt")
    for name in ("q", "k", "v", "o"):
        t = getattr(cap, name)
        print(f"{name}        {list(t.shape)} {str(t.dtype).replace('torch.', '')}")
    return 0
