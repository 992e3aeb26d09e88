"""Attention engine: stimulus jobs from the golden model, and the cycles-per-tile benchmark.

``fast-prefill bench attention [--preset ci] [--rows N] [--layer L ...]``
    Streams N (head, query block) rows of real SmolLM2 tensors (2048 tokens, the preset's
    default sparsity pattern) through hdl/attention/engine.py with no idle and no backpressure,
    checks every output bit-exact, and prints cycles per kept tile over the ideal 2*B MPU
    beats per tile (target <= 1.10).

Host-side helpers shared with tests/test_attention_engine.py (torch; no simulator):
    build_jobs(inputs, mask, rows, garbage_seed=None) -> list[dict]
    real_inputs(cfg, layer, n_tokens=2048, prompt="default") -> (FixedAttentionInputs, mask)
    pick_rows(mask, count, seed=0, sink_heavy=None) -> list[(head, row)]
"""

from __future__ import annotations

DESCRIPTION = "attention engine: cycles per kept tile / ideal (2B) on SmolLM2 rows, bit-exact"

EXP_MIN, EXP_MAX = -128, 127


def build_jobs(inputs, mask, rows, garbage_seed: int | None = None) -> list[dict]:
    """One job per (head, query block) row: the engine's input streams and the golden results.

    inputs   golden.fixed_attention.FixedAttentionInputs; mask bool [H, nb, nb];
    rows     list of (head, row) pairs.
    garbage_seed  when given, K/V rows past the sequence end are random (they are don't-care
             for the engine; the golden model uses zeros).
    Each job: q [B, D] (rows past L zero), q_mant, q_exp, nq, and tiles: col, diag, nk, last,
    k_mant, k_exp, k [B, D], v [B, D], with the golden P [B, B] and m_t [B] per tile; the
    expected o [nq, D], m [B], l [B].  Raises ValueError for scale exponents outside the
    engine's 8-bit signed port range.
    """
    import torch

    from golden.fixed_attention import fixed_attention_tile_reference

    cfg = inputs.cfg
    B, D = cfg.block, cfg.head_dim
    H, Hkv, L, _ = inputs.shape
    g = H // Hkv
    gen = torch.Generator().manual_seed(garbage_seed) if garbage_seed is not None else None
    jobs = []
    for head, row in rows:
        ref = fixed_attention_tile_reference(inputs, mask, int(head), int(row))
        hk = head // g
        nq = min(B, L - row * B)
        q = torch.zeros(B, D, dtype=torch.int64)
        q[:nq] = inputs.q.values[head, row * B:row * B + nq].long()
        qe = int(inputs.q.scale_exp[head, row])
        tiles = []
        for n, (c, t) in enumerate(zip(ref["cols"], ref["tiles"])):
            nk = min(B, L - c * B)
            k = torch.zeros(B, D, dtype=torch.int64)
            v = torch.zeros(B, D, dtype=torch.int64)
            if gen is not None:
                k = torch.randint(-128, 128, (B, D), generator=gen)
                v = torch.randint(-128, 128, (B, D), generator=gen)
            k[:nk] = inputs.k.values[hk, c * B:c * B + nk].long()
            v[:nk] = inputs.v[hk, c * B:c * B + nk].long()
            ke = int(inputs.k.scale_exp[hk, c])
            for e, what in ((qe, "q"), (ke, "k")):
                if not EXP_MIN <= e <= EXP_MAX:
                    raise ValueError(f"{what} scale exponent {e} (head {head}, block "
                                     f"{row if what == 'q' else c}) is outside the engine's "
                                     f"port range [{EXP_MIN}, {EXP_MAX}]")
            tiles.append(dict(col=c, diag=int(c == row), nk=nk, last=int(n == len(ref["cols"]) - 1),
                              k_mant=int(inputs.k.scale_mant[hk, c]), k_exp=ke, k=k, v=v,
                              P=t["P"], m_t=t["m_t"]))
        jobs.append(dict(head=int(head), row=int(row), nq=nq, q=q,
                         q_mant=int(inputs.q.scale_mant[head, row]), q_exp=qe, tiles=tiles,
                         o=ref["o"], m=ref["m"], l=ref["l"]))
    return jobs


def real_inputs(cfg, layer: int, n_tokens: int = 2048, prompt: str = "default"):
    """SmolLM2 layer ``layer`` quantised for ``cfg`` and its pattern at cfg.block.

    When cfg.head_dim is below SmolLM2's 64, the head keeps channels [0, D/2) and
    [32, 32 + D/2): both halves of the same rotary pairs, so the dot products keep the real
    rotary structure.  The pattern comes from the full heads (golden.pattern).
    """
    import torch

    from golden.fixed_attention import quantize_attention_inputs
    from golden.pattern import build_pattern
    from golden.smollm2 import load_qkv

    cap = load_qkv(layer, n_tokens, prompt)
    q, k, v = cap.q, cap.k, cap.v
    mask = build_pattern(q, k, cfg.block, cfg.sparsity, layer=layer).mask
    HD, D = q.shape[-1], cfg.head_dim
    if D < HD:
        half = HD // 2
        ch = torch.cat([torch.arange(D // 2), half + torch.arange(D // 2)])
        q, k, v = q[..., ch], k[..., ch], v[..., ch]
    elif D != HD:
        raise ValueError(f"head_dim {D} is larger than SmolLM2's {HD}")
    return quantize_attention_inputs(q, k, v, cfg), mask


def pick_rows(mask, count: int, seed: int = 0, min_row: int = 0) -> list[tuple[int, int]]:
    """``count`` (head, row) pairs: every head in turn, rows drawn at random >= min_row."""
    import random

    H, nb, _ = mask.shape
    rng = random.Random(seed)
    return [(i % H, rng.randrange(min(min_row, nb - 1), nb)) for i in range(count)]


def sink_heavy_heads(inputs, mask, top: int = 2) -> list[int]:
    """Heads whose final rows put the most softmax mass on key block 0 (attention sinks)."""
    import torch

    qf = inputs.q.dequantize().double()
    kf = inputs.k.dequantize().double()
    H, Hkv = qf.shape[0], kf.shape[0]
    B = inputs.cfg.block
    L = qf.shape[1]
    last = qf[:, L - B:]
    ke = kf.repeat_interleave(H // Hkv, 0)
    s = torch.einsum("hid,hjd->hij", last, ke)
    p = torch.softmax(s, dim=-1)
    mass = p[..., :B].sum(-1).mean(-1)
    return [int(h) for h in torch.argsort(mass, descending=True)[:top]]


def add_arguments(p) -> None:
    from hdl.config import PRESETS
    p.add_argument("--preset", choices=sorted(PRESETS), default="ci", help="config (default ci)")
    p.add_argument("--rows", type=int, default=48, help="(head, row) pairs per layer (default 48)")
    p.add_argument("--layer", type=int, action="append", default=None,
                   help="SmolLM2 layer(s) (default 3 and 15)")
    p.add_argument("--tokens", type=int, default=2048, help="prompt length (default 2048)")
    p.add_argument("--grid", action="store_true",
                   help="the calibration grid instead: runs of n rows of t kept tiles (layer 3), "
                        "RTL cycles against golden.perf.attention_engine_cycles")


#: (tiles per row, rows) of the engine's calibration grid (docs/performance.md section 1)
GRID = ((1, 8), (2, 8), (4, 8), (8, 8), (16, 8), (8, 1), (8, 2), (8, 16), (32, 4))


def grid_jobs(inputs, mask_shape, tiles: int, rows: int) -> list[dict]:
    """``rows`` rows of exactly ``tiles`` kept tiles each (the diagonal and the blocks before it),
    heads in turn, from query block ``tiles + 8`` on."""
    import torch

    H, nb, _ = mask_shape
    first = tiles + 8
    if first + rows > nb:
        raise ValueError(f"grid: {rows} rows of {tiles} tiles need {first + rows} blocks, have {nb}")
    mask = torch.eye(nb, dtype=torch.bool).expand(H, nb, nb).clone()
    picked = []
    for i in range(rows):
        h, r = i % H, first + i
        mask[h, r, r - tiles + 1:r + 1] = True
        picked.append((h, r))
    return build_jobs(inputs, mask, picked)


def _throughput(cfg, jobs, tag: str) -> int:
    import torch

    from tb.kit.runner import run as run_bench, save_inputs

    path = save_inputs("attn_engine", cfg, f"bench-jobs-{tag}.pt", jobs)
    out = path.with_name(f"bench-result-{tag}.pt")
    run_bench("attn_engine", cfg, "tb.test_attention", testcase="test_throughput",
              tag=f"bench-{tag}", extra_env={"ATTN_JOBS": str(path), "ATTN_BENCH_OUT": str(out)})
    return int(torch.load(out)["cycles"])


def run_grid(cfg) -> int:
    from golden import perf

    inputs, mask = real_inputs(cfg, 3, 2048)
    print(f"Attention engine calibration grid, RTL simulation (Verilator), preset {cfg.name}: "
          f"B={cfg.block}, D={cfg.head_dim}, no idle, no backpressure, every output bit-exact")
    print(f"{'t x n':>6} | {'RTL':>6} | {'model':>6} | {'error':>7}")
    worst = 0.0
    for t, n in GRID:
        rtl = _throughput(cfg, grid_jobs(inputs, mask.shape, t, n), f"grid-{t}x{n}")
        model = perf.attention_engine_cycles(cfg, [t] * n)
        err = (model - rtl) / rtl
        worst = max(worst, abs(err))
        print(f"{f'{t}x{n}':>6} | {rtl:>6} | {model:>6} | {100 * err:>+6.1f}%")
    print(f"worst model error {100 * worst:.1f} %")
    return 0


def run(args) -> int:
    from hdl.errors import UserError
    from hdl.config import preset

    cfg = preset(args.preset)
    if args.grid:
        return run_grid(cfg)
    if args.rows < 1:
        raise UserError(f"--rows must be >= 1, got {args.rows}")
    rows_out = []
    for layer in args.layer or [3, 15]:
        inputs, mask = real_inputs(cfg, layer, args.tokens)
        jobs = build_jobs(inputs, mask, pick_rows(mask, args.rows, seed=layer))
        cycles = _throughput(cfg, jobs, str(layer))
        tiles = sum(len(j["tiles"]) for j in jobs)
        rows_out.append((layer, len(jobs), tiles, cycles, cycles / (tiles * 2 * cfg.block)))
    print(f"Attention engine, RTL simulation (Verilator), preset {cfg.name}: B={cfg.block}, "
          f"D={cfg.head_dim}, no idle, no backpressure; ideal = 2*B MPU beats per kept tile")
    print(f"{'layer':>6} | {'rows':>5} | {'tiles':>6} | {'cycles':>8} | {'cyc/tile':>8} | {'ratio':>6}")
    worst = 0.0
    for layer, n, tiles, cyc, ratio in rows_out:
        print(f"{layer:>6} | {n:>5} | {tiles:>6} | {cyc:>8} | {cyc / tiles:>8.1f} | {ratio:>6.3f}")
        worst = max(worst, ratio)
    print(f"worst ratio {worst:.3f} (target <= 1.10); every output bit-exact")
    return 0 if worst <= 1.10 else 1
