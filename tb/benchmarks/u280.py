"""The u280 preset's top on random Q/K/V: attention cycles against the array's compute bound.

``fast-prefill bench u280 [--tokens N ...] [--heads H] [--lat CYCLES]``
    Builds ``fast_prefill_top`` at the u280 preset (B = 64, D = 128, one lane, one MPU shared by
    the index generator and the engine), runs one layer of H heads on one KV head per length
    (random Q/K/V, K's first channels scaled so the pattern is not uniform), checks the sets, O
    and the cache counters bit-exact in the bench (tb/test_top.py), and prints per length the
    attention phase's cycles (cnt_attn_cycles) over the array's compute bound (kept tiles x 2B:
    B cycles of QK and B of PV per tile; target <= 1.10) and the layer model's figure
    (golden.perf.top_layer_cycles).  SmolLM2's heads are D = 64, hence random data.  Minutes
    per length (the build is cached); the table is in docs/performance.md.
"""

from __future__ import annotations

DESCRIPTION = "u280 top on random data: attention cycles / compute bound, bit-exact, vs the model"

TARGET = 1.10


def add_arguments(p) -> None:
    p.add_argument("--tokens", type=int, action="append", default=None,
                   help="sequence length (repeatable; default 3072)")
    p.add_argument("--heads", type=int, default=1, help="query heads on the one KV head (default 1)")
    p.add_argument("--lat", type=int, default=30, help="HBM latency in cycles (default 30)")


def run(args) -> int:
    import torch

    from golden import perf
    from hdl.config import preset
    from hdl.errors import UserError
    from host.driver import Accelerator
    from tb.benchmarks.top import golden_for, run_top_cases

    cfg = preset("u280")
    lengths = args.tokens or [3072]
    for n in lengths:
        if not cfg.block <= n <= cfg.max_seq_len:
            raise UserError(f"--tokens must lie in {cfg.block}..{cfg.max_seq_len}, got {n}")
    if not 1 <= args.heads <= cfg.max_group:
        raise UserError(f"--heads must lie in 1..{cfg.max_group}, got {args.heads}")
    rows = []
    for L in lengths:
        gen = torch.Generator().manual_seed(7)
        q, k, v = (torch.randn(n, L, cfg.head_dim, generator=gen) for n in (args.heads, 1, 1))
        k[:, :, :8] *= 4.0
        job = Accelerator(cfg, None).plan(q, k, v)
        gold = golden_for(job)
        model = perf.top_layer_cycles(cfg, gold, L, args.heads, 1, args.lat,
                                      job.sparsity.row_gamma > 0)
        res = run_top_cases(cfg, [{"name": f"random-{L}", "job": job, "gold": gold, "status": 0}],
                            f"u280-{L}", args.lat)[0]
        tiles = int(gold["pattern"].mask.sum())
        bound = tiles * 2 * cfg.block
        c = res["counters"]
        rows.append((L, tiles, c["cnt_attn_cycles"], bound, model["cnt_attn_cycles"], c["cnt_cycles"],
                     res["status"]))
    print(f"u280 top, {args.heads} head(s) on 1 KV head, random Q/K/V, HBM latency {args.lat}; "
          f"bit-exact in the bench (sets, O, cache counters)")
    print("| L | kept tiles | attention cycles | compute bound (tiles x 2B) | ratio | model | "
          "model error | layer cycles | status |")
    print("|---|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for L, tiles, att, bound, mod, total, st in rows:
        ratio = att / bound
        worst = max(worst, ratio)
        print(f"| {L} | {tiles} | {att} | {bound} | {ratio:.3f} | {mod} | {(mod - att) / att:+.1%} "
              f"| {total} | {st} |")
    print(f"target: attention <= {TARGET:.2f}x the compute bound; worst {worst:.3f}x "
          f"({'met' if worst <= TARGET else 'NOT met'})")
    return 0
