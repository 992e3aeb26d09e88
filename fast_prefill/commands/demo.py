"""``fast-prefill demo``: the accelerator RTL on one SmolLM2 attention layer, end to end.

The layer job (``tb.benchmarks.top.run_top``) captures the layer's post-RoPE Q/K/V on the
prompt (golden.smollm2), quantises and lays them out with the host driver (host), builds
``fast_prefill_top`` with Verilator (cached under build/sim) and runs it with the cocotb HBM
model (tb/test_top.py); this command prints its report: pattern density and recall, output
error vs dense float attention, cycles per unit, the time projected at the preset's clock, HBM
traffic vs a dense run, cache hit rates and the bit-exact verdict against the golden
fixed-point model.

Default: the smollm2 preset (B = D = 64, the model's real heads; one lane, so each KV group's 3
heads run in 3 passes), layer 3, 1024 tokens: about 3.5 minutes on 2 cores including the first
build (conversion ~70 s, verilate + compile ~50 s, simulation of ~220,000 cycles ~75 s;
docs/top.md).  ``--preset ci`` (B = D = 16, SmolLM2's heads cut to their first 8
rotary pairs) is the default suite's size.  The report gives the build times when this run built
the RTL, and the simulation speed.
"""

from __future__ import annotations

import json
from pathlib import Path

from hdl.config import PRESETS
from hdl.errors import UserError
from tb.benchmarks.top import N_LAYERS, run_top

DEFAULT_TOKENS = 1024
DEFAULT_PRESET = "smollm2"
DEFAULT_LAYER = 3


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the accelerator RTL on one SmolLM2 layer and report")
    p.add_argument("--tokens", type=int, default=DEFAULT_TOKENS,
                   help=f"prompt length (default {DEFAULT_TOKENS})")
    p.add_argument("--layer", type=int, default=DEFAULT_LAYER, help=f"SmolLM2 layer 0..{N_LAYERS - 1} (default {DEFAULT_LAYER})")
    p.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(PRESETS),
                   help=f"hardware preset (default {DEFAULT_PRESET})")
    p.add_argument("--prompt-file", type=Path, help="your own text file as the prompt (default: the shipped one)")
    p.add_argument("--waves", action="store_true",
                   help="write an FST wave file and a GTKWave save file (smollm2: ~3 MB per 1000 cycles, "
                        "100 MB at --tokens 256, ~0.6 GB at the default length)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--lat", type=int, default=30, help="HBM latency in cycles (default 30)")
    p.set_defaults(func=run)


def format_report(rep: dict) -> str:
    c, h, ca = rep["cycles"], rep["hbm"], rep["cache"]
    ideal = rep["ideal_cycles"]
    both = rep["unit_ideal"]
    bt = rep["build_s"]
    built = (", ".join(f"{k} {v:.0f} s" for k, v in bt.items())) if bt else "cached"
    lines = [
        f"fast-prefill demo: SmolLM2 layer {rep['layer']}, {rep['tokens']} tokens, {rep['H']} heads / "
        f"{rep['Hkv']} KV heads, preset {rep['preset']} (B={rep['block']}, D={rep['head_dim']}, "
        f"{rep['lanes']} lane(s): {rep['passes_per_group']} pass(es) per KV group)",
        f"  pattern density      {rep['density']:.3f} of the causal tiles (per head "
        + " ".join(f"{x:.2f}" for x in rep["density_per_head"]) + ")",
        f"  recall               {rep['recall']:.4f} of the dense softmax mass",
        f"  output error         {rep['rel_error_vs_dense']:.4f} relative to dense float attention "
        f"(per head max {max(rep['rel_error_per_head']):.4f})",
        f"  cycles               {c['total']} total: index generator {c['index_generator']} "
        f"(ideal {both['sig']:.0f}, {both['bound']['sig']}-bound), attention {c['attention']} "
        f"(ideal {both['attn']:.0f}, {both['bound']['attn']}-bound), codes / index dump / checks {c['other']}",
        f"  projected time       {rep['projected_ms']:.3f} ms at {rep['clock_mhz']:.0f} MHz "
        f"({c['total'] / both['total']:.2f}x the ideal unit cycles, the larger of compute and bus per unit; "
        f"{c['total'] / ideal['total']:.2f}x the compute-only ideal)",
        f"  HBM traffic          read {h['read']} B, written {h['write']} B; KV {h['kv']} B vs a dense run "
        f"{h['dense_kv_cached']} B with the same cache ({h['kv'] / max(h['dense_kv_cached'], 1):.2f}x), "
        f"{h['dense_kv_uncached']} B uncached",
        f"  cache                {ca['accesses']} block accesses: tier-1 hits {ca['hit1']}, tier-2 hits "
        f"{ca['hit2']}, misses {ca['miss']} (hit rate {ca['hit_rate']:.3f})",
        f"  verdict              {rep['verdict']} vs the golden fixed-point model (O of every head, "
        f"index sets, cache counters)" + (f": {rep['detail']}" if rep["detail"] else ""),
        f"  simulation           {c['total']} cycles in {rep['sim_wall_s']:.1f} s "
        f"({rep['sim_cycles_per_s']:.0f} cycles/s); capture and golden {rep['setup_s']:.0f} s; "
        f"RTL build {built}; total {rep['total_wall_s']:.0f} s",
    ]
    if rep.get("waves"):
        lines.append(f"  waves                {rep['waves']} (gtkwave {rep['waves']} {rep['gtkw']})")
    return "\n".join(lines)


def run(args) -> int:
    from hdl.config import preset
    cfg = preset(args.preset)
    prompt = "default"
    if args.prompt_file is not None:
        if not args.prompt_file.is_file():
            raise UserError(f"--prompt-file {args.prompt_file}: no such file")
        prompt = args.prompt_file
    if args.lat < 0:
        raise UserError(f"--lat must be >= 0, got {args.lat}")
    rep = run_top(cfg, args.layer, args.tokens, prompt, lat=args.lat, waves=args.waves,
                  progress=not args.json)
    print(json.dumps(rep, indent=1) if args.json else format_report(rep))
    return 0 if rep["verdict"] == "bit-exact" else 1
