"""Sparse Index Generator benchmark: cycles per KV group vs the ideal, and the on-chip memories.

``fast-prefill bench sig [--tokens N ...] [--layer L] [--lat C]``
    Runs real SmolLM2 KV groups (ci preset) through hdl/sig.py with HBM latency C and no
    backpressure, checks them bit-exact (row stats, v, d) and prints cycles over the ideal
    ``2 passes * g*B rows * L keys * D MACs / (MACs per cycle)``, where the unit's MACs per cycle
    are max_group MPUs of B x D (so the ideal is 2L cycles for g = max_group).  Target <= 1.15x
    for L >= 1024.  Then lists every memory (``reg [W] name [0:N-1]``) of the converted design
    with its size, to show that the state is O(nb) per head, not O(B*L).
"""

from __future__ import annotations

DESCRIPTION = "index generator: cycles per KV group / ideal (2 passes), memories of the design"


def add_arguments(parser) -> None:
    parser.add_argument("--tokens", type=int, action="append", default=None,
                        help="sequence lengths (repeatable; default 1024 and 2048)")
    parser.add_argument("--layer", type=int, default=3, help="SmolLM2 layer (default 3)")
    parser.add_argument("--lat", type=int, default=30, help="HBM latency in cycles (default 30)")


def memories(verilog_text: str) -> list[tuple[str, int, int]]:
    """(name, words, bits) of every memory declared in a converted Verilog file."""
    import re
    out = []
    pat = re.compile(r"^\s*reg\s+(?:signed\s+)?\[(\d+)-1:0\]\s+(\w+)\s*\[0:(\d+)-1\];", re.M)
    for m in pat.finditer(verilog_text):
        out.append((m.group(2), int(m.group(3)), int(m.group(1))))
    return out


def run(args) -> int:
    import json

    from hdl.config import preset
    from tb.kit.runner import build_dir_for, run as run_bench
    from tests.test_sig import make_case, real_qk

    import torch

    cfg = preset("ci")
    tokens = args.tokens or [1024, 2048]
    cases = [make_case(f"L{args.layer}-kv0-{n}", *real_qk(args.layer, n, cfg), cfg=cfg, kv=0) for n in tokens]
    bdir = build_dir_for("sig", cfg)
    bdir.mkdir(parents=True, exist_ok=True)
    path, out = bdir / "cases-bench.pt", bdir / "bench.json"
    torch.save({"cases": cases}, path)
    run_bench("sig", cfg, "tb.test_sig", tag="bench",
              extra_env={"SIG_CASES": str(path), "SIG_LAT": str(args.lat), "SIG_AXI_BP": "0",
                         "SIG_OUT": str(out)})
    results = json.loads(out.read_text())
    B, D, G = cfg.block, cfg.head_dim, cfg.max_group
    macs_per_cycle = G * cfg.macs_per_cycle
    print(f"sig bench: preset ci (B={B}, D={D}, {G} MPUs of {B}x{D}), HBM latency {args.lat}, "
          f"no backpressure; bit-exact checked")
    print(f"{'case':>16s} {'L':>6s} {'g':>2s} {'cycles':>8s} {'ideal':>8s} {'ratio':>6s} {'selection':>9s}")
    worst = 0.0
    for r in results:
        ideal = 2 * r["g"] * B * r["L"] * D / macs_per_cycle
        ratio = r["cycles"] / ideal
        if r["L"] >= 1024:
            worst = max(worst, ratio)
        print(f"{r['name']:>16s} {r['L']:6d} {r['g']:2d} {r['cycles']:8d} {ideal:8.0f} {ratio:6.3f} "
              f"{'n/a':>9s}")
    print("selection: not in this layer yet (share 0 of the measured cycles)")
    vtext = (bdir / "verilog" / "sig.v").read_text()
    mems = memories(vtext)
    kinds: dict[str, list] = {}
    for name, words, bits in mems:
        kinds.setdefault(name.split("_")[-1], []).append((words, bits))
    print(f"memories of the converted design ({len(mems)}):")
    total = 0
    for kind, lst in sorted(kinds.items()):
        words, bits = lst[0]
        total += sum(wd * bt for wd, bt in lst)
        print(f"  {kind:>8s}: {len(lst):3d} x [{words} x {bits} bits]  ({len(lst) * words * bits / 8192:.1f} KiB)")
    print(f"  total {total / 8192:.1f} KiB; nb_max = {cfg.max_blocks}, B*L_max would be "
          f"{B * cfg.max_seq_len} words per head")
    ok = worst <= 1.15
    print(f"worst ratio for L >= 1024: {worst:.3f} (target <= 1.15): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1
