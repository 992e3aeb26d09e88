"""Sparse Index Generator benchmark: cycles per KV group vs the ideal, and the on-chip memories.

``fast-prefill bench sig [--tokens N ...] [--layer L] [--lat C]``
    Runs real SmolLM2 KV groups (ci preset) through hdl/index/sig.py with HBM latency C and no
    backpressure, checks them bit-exact (row stats, v, d, the selected vertical / slash sets with
    the preset's sparsity settings) and prints cycles (scoring + selection) over the ideal
    ``2 passes * g*B rows * L keys * D MACs / (MACs per cycle)``, where the unit's MACs per cycle
    are max_group MPUs of B x D (so the ideal is 2L cycles for g = max_group).  Target <= 1.15x
    for L >= 1024.  Then lists every memory (``reg [W] name [0:N-1]``) of the converted design
    with its size, to show that the state is O(nb) per head, not O(B*L).  Then the same at D = 64
    (B = 16, 1024 tokens; a key row is two 256-bit beats), once on the 256-bit port and once with a
    512-bit path, and the pooled per-row estimate (hdl/index/pool.py, ci, 512 tokens): the means
    load and the cycles per row.

Host-side helpers shared with tests/test_sig.py and tests/test_sig_pool.py (torch; no
simulator): make_case, make_pool_case (one KV group's HBM image, scale codes and golden results),
quant, real_qk, random_qk.
"""

from __future__ import annotations

from hdl.config import num_blocks

DESCRIPTION = "index generator: cycles per KV group / ideal (2 passes), memories of the design"

K_ADDR, Q_ADDR = 0x1000, 0x40000


def _ci():
    from hdl.config import preset
    return preset("ci")


def _code(mant: int, exp: int) -> int:
    return (int(mant) & 0xFFFF) | ((int(exp) & 0xFFFF) << 16)


def sel_regs(sp, gamma_bits: int = 16) -> dict:
    """The selection registers of hdl/index/sig.py for a SparsityConfig (host side)."""
    from golden.estimator_fixed import gamma_code
    return {"sel_mode": int(sp.mode == "topk"), "sel_code": gamma_code(sp.gamma, gamma_bits),
            "sel_min": sp.min_budget, "sel_max": sp.max_budget, "sel_topk_v": sp.topk_vertical,
            "sel_topk_s": sp.topk_slash, "sel_win": sp.local_window}


def golden_sets(v, d, sp, nb: int, B: int, L: int) -> tuple[list, list]:
    """Per head the sorted vertical and slash sets as golden.estimator_fixed.estimate_pattern_fixed
    forms them: select_fixed / select_topk_fixed, then the forced entries (assemble_pattern)."""
    from golden.estimator_fixed import EstimatorParams, gamma_code, select_fixed, select_topk_fixed
    from golden.pattern import assemble_pattern
    H = v.shape[0]
    if sp.mode == "topk":
        vert = [select_topk_fixed(v[h], sp.topk_vertical) for h in range(H)]
        sl = [select_topk_fixed(d[h], sp.topk_slash) for h in range(H)]
    else:
        gb = EstimatorParams().gamma_bits
        code = gamma_code(sp.gamma, gb)
        vert = [select_fixed(v[h], code, sp.min_budget, sp.max_budget, gb) for h in range(H)]
        sl = [select_fixed(d[h], code, sp.min_budget, sp.max_budget, gb) for h in range(H)]
    pat = assemble_pattern(vert, sl, nb, B, L, sp)
    return pat.vertical, pat.slash


def _group_image(name: str, qq, kq, cfg, kv: int, g: int | None, err: int):
    """The group (query heads kv*g .. kv*g+g-1 of qq [H, L, D], KV head ``kv`` of kq [Hkv, L, D])
    as QuantTensors, and the case fields both units load: lengths, addresses, the HBM image
    (K at K_ADDR, head i's Q at Q_ADDR + i * q_stride: a head's bytes rounded up to 4 KiB, plus
    a page) and the K codes."""
    import torch

    from golden.quant import QuantTensor
    H, L, D = qq.values.shape
    gg = H // kq.values.shape[0]
    g = gg if g is None else g
    B = cfg.block
    nb = num_blocks(L, B)
    heads = list(range(kv * gg, kv * gg + g))
    qg = QuantTensor(qq.values[heads], qq.scale_mant[heads], qq.scale_exp[heads], B)
    kg = QuantTensor(kq.values[kv:kv + 1], kq.scale_mant[kv:kv + 1], kq.scale_exp[kv:kv + 1], B)
    stride = -(-L * D // 4096) * 4096 + 4096
    mem = [(K_ADDR, kg.values[0].to(torch.int8).numpy().tobytes())]
    for i in range(g):
        mem.append((Q_ADDR + i * stride, qg.values[i].to(torch.int8).numpy().tobytes()))
    case = {"name": name, "L": L, "g": g, "nb": nb, "err": err, "k_addr": K_ADDR, "q_addr": Q_ADDR,
            "q_stride": stride, "mem": mem,
            "kcodes": [_code(kg.scale_mant[0, c], kg.scale_exp[0, c]) for c in range(nb)]}
    return qg, kg, case


def make_case(name: str, qq, kq, cfg=None, kv: int = 0, g: int | None = None,
              err: int = 0, sp=None, **regs) -> dict:
    """One run: the HBM image of KV head ``kv``'s K and its group's Q, codes and golden results
    (row stats, v, d, and the selected sorted sets for the SparsityConfig ``sp``, default
    cfg.sparsity).

    qq [H, L, D], kq [Hkv, L, D]; the group is query heads kv*g .. kv*g+g-1.
    """
    from golden.estimator_fixed import pass1_row_stats, pass2_scores
    cfg = _ci() if cfg is None else cfg
    sp = cfg.sparsity if sp is None else sp
    qg, kg, case = _group_image(name, qq, kq, cfg, kv, g, err)
    L, g, nb, B = case["L"], case["g"], case["nb"], cfg.block
    case["bq"] = L - (nb - 1) * B
    case["qcodes"] = [_code(qg.scale_mant[i, nb - 1], qg.scale_exp[i, nb - 1]) for i in range(g)]
    case.update(sel_regs(sp))
    case.update(regs)
    if err == 0:
        st = pass1_row_stats(qg, kg, cfg)
        v, d = pass2_scores(qg, kg, cfg, st)
        vs, ss = golden_sets(v, d, sp, nb, B, L)
        case.update(m=st.m, l=st.l, v=v, d=d, vsets=vs, ssets=ss)
    return case


def make_pool_case(name: str, qq, kq, cfg=None, kv: int = 0, g: int | None = None, err: int = 0,
                   row_gamma: float | None = None, rows=None, **regs) -> dict:
    """One run of hdl/index/pool.py: the HBM image of KV head ``kv``'s K and every Q row of its
    group, all scale codes, the row_gamma code and the golden per-row mask
    (``golden.estimator_fixed.pooled_row_mask_fixed``, bool [g, nb, nb]) for ``rows`` (default
    every row block, in order)."""
    from golden.estimator_fixed import EstimatorParams, gamma_code, pooled_row_mask_fixed
    cfg = _ci() if cfg is None else cfg
    rg = cfg.sparsity.row_gamma if row_gamma is None else row_gamma
    qg, kg, case = _group_image(name, qq, kq, cfg, kv, g, err)
    g, nb = case["g"], case["nb"]
    code = gamma_code(rg, EstimatorParams().gamma_bits) if rg > 0 else 0
    case.update(pr_code=code, rows=list(range(nb)) if rows is None else list(rows),
                qcodes=[[_code(qg.scale_mant[h, c], qg.scale_exp[h, c]) for c in range(nb)]
                        for h in range(g)])
    case.update(regs)
    if err == 0:
        case["mask"] = pooled_row_mask_fixed(qg, kg, cfg, code)
    return case


def quant(q, k, cfg=None):
    """Host quantisation as the attention engine does it (the estimator reads the same buffers)."""
    from golden.fixed_attention import quantize_attention_inputs
    cfg = _ci() if cfg is None else cfg
    fi = quantize_attention_inputs(q, k, k.clone(), cfg)
    return fi.q, fi.k


def random_qk(L: int, seed: int, g: int = 3, scale: float = 1.0, cfg=None):
    """Quantised random Q [g, L, D] and K [1, L, D] (normal, times ``scale``)."""
    import torch
    cfg = _ci() if cfg is None else cfg
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(g, L, cfg.head_dim, generator=gen) * scale
    k = torch.randn(1, L, cfg.head_dim, generator=gen) * scale
    return quant(q, k, cfg)


def real_qk(layer: int, n_tokens: int, cfg=None):
    """SmolLM2 layer Q/K cut to cfg.head_dim channels (both halves of the rotary pairs)."""
    import torch

    from golden.smollm2 import load_qkv
    cfg = _ci() if cfg is None else cfg
    cap = load_qkv(layer, n_tokens, "default")
    q, k = cap.q, cap.k
    HD, D = q.shape[-1], cfg.head_dim
    if D < HD:
        ch = torch.cat([torch.arange(D // 2), HD // 2 + torch.arange(D // 2)])
        q, k = q[..., ch], k[..., ch]
    return quant(q, k, cfg)




def add_arguments(parser) -> None:
    parser.add_argument("--tokens", type=int, action="append", default=None,
                        help="sequence lengths (repeatable; default 1024 and 2048)")
    parser.add_argument("--layer", type=int, default=3, help="SmolLM2 layer (default 3)")
    parser.add_argument("--lat", type=int, default=30, help="HBM latency in cycles (default 30)")


def memories(verilog_text: str) -> list[tuple[str, int, int]]:
    """(name, words, bits) of every memory declared in a converted Verilog file."""
    import re
    out = []
    pat = re.compile(r"^\s*reg\s+(?:signed\s+)?(?:\[(\d+):0\]\s+)?(\w+)\s*\[0:(\d+)-1\];", re.M)
    for m in pat.finditer(verilog_text):
        out.append((m.group(2), int(m.group(3)), int(m.group(1) or 0) + 1))
    return out


def cfg_d64(axi_data_bits: int = 256):
    """B = 16, D = 64 (SmolLM2's head size), 1024 tokens: the multi-beat-row bench config."""
    from hdl.config import preset
    name = "ci-d64" if axi_data_bits == 256 else f"ci-d64-axi{axi_data_bits}"
    return preset("ci", head_dim=64, max_seq_len=1024, lut_rows=2,
                  axi_data_bits=axi_data_bits).replace(name=name)


def _scorer_table(cfg, tokens: list[int], layer: int, lat: int, tag: str) -> float:
    """Run real SmolLM2 groups through hdl/index/sig.py for ``cfg``; print cycles / ideal; worst ratio
    for L >= 1024."""
    import json

    from tb.kit.runner import run as run_bench, save_inputs
    cases = [make_case(f"L{layer}-kv0-{n}", *real_qk(layer, n, cfg), cfg=cfg, kv=0) for n in tokens]
    path = save_inputs("sig", cfg, f"cases-{tag}.pt", {"cases": cases})
    out = path.with_name(f"{tag}.json")
    run_bench("sig", cfg, "tb.test_sig", tag=tag,
              extra_env={"SIG_CASES": str(path), "SIG_LAT": str(lat), "SIG_AXI_BP": "0",
                         "SIG_OUT": str(out)})
    results = json.loads(out.read_text())
    B, D, G = cfg.block, cfg.head_dim, cfg.max_group
    macs_per_cycle = G * cfg.macs_per_cycle
    bpr = max(1, D * 8 // cfg.axi_data_bits)
    print(f"sig bench: {cfg.name} (B={B}, D={D}, {G} MPUs of {B}x{D}, {cfg.axi_data_bits}-bit AXI: "
          f"{bpr} beat(s) per key row), HBM latency {lat}, no backpressure; bit-exact checked")
    print(f"{'case':>16s} {'L':>6s} {'g':>2s} {'cycles':>8s} {'ideal':>8s} {'ratio':>6s} {'selection':>9s} "
          f"{'share':>6s}")
    worst = 0.0
    for r in results:
        ideal = 2 * r["g"] * B * r["L"] * D / macs_per_cycle
        ratio = r["cycles"] / ideal
        if r["L"] >= 1024:
            worst = max(worst, ratio)
        print(f"{r['name']:>16s} {r['L']:6d} {r['g']:2d} {r['cycles']:8d} {ideal:8.0f} {ratio:6.3f} "
              f"{r['sel_cycles']:9d} {r['sel_cycles'] / r['cycles']:6.3f}")
    return worst


def _pool_table(cfg, n: int, layer: int, lat: int) -> None:
    """Run one real group through hdl/index/pool.py (every row); print load and per-row cycles."""
    import json

    from tb.kit.runner import run as run_bench, save_inputs
    case = make_pool_case(f"L{layer}-kv0-{n}", *real_qk(layer, n, cfg), cfg=cfg, kv=0)
    path = save_inputs("sig_pool", cfg, "cases-bench.pt", {"cases": [case]})
    out = path.with_name("bench.json")
    run_bench("sig_pool", cfg, "tb.test_sig_pool", tag="bench",
              extra_env={"POOL_CASES": str(path), "SIG_LAT": str(lat), "SIG_AXI_BP": "0",
                         "POOL_OUT": str(out), "POOL_LONG_HOLD": "0"})
    r = json.loads(out.read_text())[0]
    cyc = r["row_cycles"]
    nb = len(cyc)
    rows_total = r["rows_total"]
    # one 256-bit port delivers (g + 1) * L * D bytes in (g + 1) * L * D / axi_bytes beats
    beats = (r["g"] + 1) * r["L"] * cfg.head_dim // cfg.axi_bytes
    print(f"sig_pool bench: {cfg.name}, {r['name']} (g={r['g']}, nb={nb}), bit-exact checked")
    print(f"  means load: {r['load']} cycles for {(r['g'] + 1) * r['L']} rows of Q and K "
          f"({beats} AXI beats at the bus limit)")
    print(f"  row latency (pr_start to pr_done): r=0 {cyc[0]}, r={nb // 2} {cyc[nb // 2]}, r={nb - 1} "
          f"{cyc[-1]} cycles; all {nb} rows back to back (first pr_start to last pr_done) "
          f"{rows_total} cycles ({rows_total / nb:.1f} per row); the scorer's 2L = {2 * r['L']}")


def _memory_table(vpath, cfg) -> None:
    """Every memory of a converted design, grouped by kind, with sizes."""
    mems = memories(vpath.read_text())
    kinds: dict[tuple, int] = {}
    for name, words, bits in mems:
        key = (name.split("_")[-1], words, bits)
        kinds[key] = kinds.get(key, 0) + 1
    print(f"memories / register arrays of {vpath.name} ({len(mems)}):")
    total = 0
    for (kind, words, bits), count in sorted(kinds.items(), key=lambda kv: -kv[0][1] * kv[0][2] * kv[1]):
        total += count * words * bits
        print(f"  {kind:>8s}: {count:3d} x [{words:4d} x {bits:3d} bits]  ({count * words * bits / 8192:7.2f} KiB)")
    print(f"  total {total / 8192:.1f} KiB; nb_max = {cfg.max_blocks}, B*L_max would be "
          f"{cfg.block * cfg.max_seq_len} words per head")


def run(args) -> int:
    from hdl.config import preset

    cfg = preset("ci")
    tokens = args.tokens or [1024, 2048]
    worst = _scorer_table(cfg, tokens, args.layer, args.lat, "bench")
    print("selection: cycles after pass 2 (pop of the kept entries + an nb-cycle emission scan; "
          "the sorted insertion runs during pass 2); share = selection / all cycles")
    from tb.kit.runner import build_dir_for
    bdir = build_dir_for("sig", cfg)
    _memory_table(bdir / "verilog" / "sig.v", cfg)
    ok = worst <= 1.15
    print(f"worst ratio for L >= 1024: {worst:.3f} (target <= 1.15): {'met' if ok else 'NOT met'}")
    print()
    # D = 64: a key row is two 256-bit beats; one port feeds the MPUs half a row per cycle
    w256 = _scorer_table(cfg_d64(256), [1024], args.layer, args.lat, "bench-d64")
    print()
    w512 = _scorer_table(cfg_d64(512), [1024], args.layer, args.lat, "bench-d64-512")
    print(f"D=64 ratio to ideal: {w256:.3f} on one 256-bit port (bus-bound: 2 beats per key row), "
          f"{w512:.3f} with a 512-bit path (one row per beat; two 256-bit ports give the same rate)")
    print()
    _pool_table(cfg, 512, args.layer, args.lat)
    _memory_table(build_dir_for("sig_pool", cfg) / "verilog" / "sig_pool.v", cfg)
    return 0 if ok else 1
