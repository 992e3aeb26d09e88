"""The pattern report: density, recall, accuracy and KV traffic of the dynamic sparse pattern on
SmolLM2, per layer and head, and end to end (perplexity and next-token agreement with sparse
prefill in every layer), for the float model and the bit-exact fixed-point model.

``run_report`` returns a plain dict (the ``--json`` output); ``format_report`` turns it into the
table that ``fast-prefill report`` prints.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import torch

from golden import attention as float_attn
from golden import cache_sim
from golden import fixed_attention
from golden.estimator_fixed import estimate_pattern_fixed
from golden.pattern import Pattern, build_pattern, recall
from golden.smollm2 import SmolLM2, prompt_tokens
from hdl.errors import UserError
from hdl.config import AcceleratorConfig

POLICIES = ("liveness", "lru", "none")


def _layer_patterns(cfg: AcceleratorConfig, layer: int, q, k, v):
    """Float and fixed-point patterns and outputs of one layer."""
    sparsity = cfg.sparsity
    block = cfg.block
    float_pattern = build_pattern(q, k, block, sparsity, layer=layer)
    o_float = float_attn.sparse_attention(q, k, v, float_pattern.mask, block)
    inputs = fixed_attention.quantize_attention_inputs(q, k, v, cfg)
    fixed_pattern = estimate_pattern_fixed(inputs.q, inputs.k, cfg, layer=layer)
    o_fixed = fixed_attention.fixed_sparse_attention(inputs, fixed_pattern.mask).o_float
    return float_pattern, o_float, fixed_pattern, o_fixed


def fixed_layer(cfg: AcceleratorConfig, layer: int, q, k, v,
                attention: bool = True) -> tuple[Pattern, torch.Tensor | None]:
    """One layer of the fixed-point model as host and accelerator run it.

    The host quantiser (``quantize_attention_inputs``), the fixed-point estimator's pattern on
    the quantised Q/K (dense for the config's dense layers and short prompts) and, with
    ``attention``, the bit-exact attention on that pattern.  q [H, L, D], k, v [Hkv, L, D]
    post-RoPE floats.  Returns (pattern, o_float [H, L, D], or None without ``attention``).
    """
    inputs = fixed_attention.quantize_attention_inputs(q, k, v, cfg)
    pattern = estimate_pattern_fixed(inputs.q, inputs.k, cfg, layer=layer)
    if not attention:
        return pattern, None
    return pattern, fixed_attention.fixed_sparse_attention(inputs, pattern.mask).o_float


def _traffic(pattern: Pattern, cfg: AcceleratorConfig, kv_heads: int) -> dict[str, int]:
    """HBM KV bytes per cache policy summed over the KV groups, plus compulsory bytes."""
    heads = pattern.mask.shape[0]
    g = heads // kv_heads
    out: dict[str, int] = {}
    for policy in POLICIES:
        stats = cache_sim.simulate_layer(pattern.mask, pattern.vertical, g, cfg, policy)
        out[policy] = int(stats.hbm_bytes)
        out["compulsory"] = int(stats.compulsory_bytes)
    return out


def _nll_and_top1(logits: torch.Tensor, tokens: torch.Tensor, ref_logits: torch.Tensor | None):
    logp = torch.log_softmax(logits[:-1].double(), dim=-1)
    nll = -logp.gather(1, tokens[1:, None]).mean().item()
    top1 = None
    if ref_logits is not None:
        top1 = (logits.argmax(-1) == ref_logits.argmax(-1)).double().mean().item()
    return math.exp(nll), top1


def run_report(cfg: AcceleratorConfig, n_tokens: int = 2048, prompt: str | Path = "default",
               layers: list[int] | None = None, end_to_end: bool = True,
               progress: Callable | None = None) -> dict:
    """Measure the pattern on SmolLM2.  ``layers=None`` means every layer."""
    model = SmolLM2.load()
    cfg.check_seq_len(n_tokens)
    tokens = prompt_tokens(prompt, n_tokens)
    all_layers = list(range(model.n_layers))
    if layers is None:
        layers = all_layers
    for layer in layers:
        if layer not in all_layers:
            raise UserError(f"layer {layer} out of range 0..{model.n_layers - 1}")
    cfg.check_heads(model.n_heads, model.n_kv_heads)
    wrap = progress or (lambda it, **kw: it)

    capture: dict = {}
    with torch.no_grad():
        dense_logits = model.forward(tokens, capture=capture)

    layer_rows = []
    densities = []
    for layer in wrap(layers, desc="layers", unit="layer"):
        cap = capture[layer]
        q, k, v, o_dense = cap["q"], cap["k"], cap["v"], cap["o"]
        float_pattern, o_float, fixed_pattern, o_fixed = _layer_patterns(cfg, layer, q, k, v)
        dens = float_pattern.density()
        dens_fixed = fixed_pattern.density()
        rec = recall(float_pattern, q, k)
        rec_fixed = recall(fixed_pattern, q, k)
        err_float = float_attn.relative_error(o_float, o_dense)
        err_fixed = float_attn.relative_error(o_fixed, o_dense)
        err_fixed_vs_float = float_attn.relative_error(
            o_fixed, float_attn.sparse_attention(q, k, v, fixed_pattern.mask, cfg.block))
        traffic = _traffic(fixed_pattern, cfg, model.n_kv_heads)
        heads = []
        for h in range(q.shape[0]):
            heads.append(dict(head=h, density=float(dens[h]), density_fixed=float(dens_fixed[h]),
                              recall=float(rec[h]), recall_fixed=float(rec_fixed[h]),
                              rel_err_float=float(err_float[h]), rel_err_fixed=float(err_fixed[h]),
                              rel_err_fixed_vs_float_sparse=float(err_fixed_vs_float[h])))
        densities.extend(float(d) for d in dens_fixed)
        layer_rows.append(dict(layer=layer, heads=heads, kv_traffic_bytes=traffic))

    report = dict(model="SmolLM2-135M", n_tokens=n_tokens, prompt=str(prompt),
                  config=cfg.name, block=cfg.block, sparsity=asdict(cfg.sparsity),
                  mean_density=sum(densities) / len(densities), layers=layer_rows)

    if end_to_end:
        def float_fn(layer, q, k, v):
            return _layer_patterns_float(cfg, layer, q, k, v)

        def fixed_fn(layer, q, k, v):
            return fixed_layer(cfg, layer, q, k, v)[1]

        with torch.no_grad():
            steps = wrap([("float", float_fn), ("fixed", fixed_fn)], desc="end to end", unit="run")
            results = {name: model.forward(tokens, attention_fn=fn) for name, fn in steps}
        ppl_dense, _ = _nll_and_top1(dense_logits, tokens, None)
        ppl_float, top1_float = _nll_and_top1(results["float"], tokens, dense_logits)
        ppl_fixed, top1_fixed = _nll_and_top1(results["fixed"], tokens, dense_logits)
        report["end_to_end"] = dict(ppl_dense=ppl_dense, ppl_sparse_float=ppl_float,
                                    ppl_sparse_fixed=ppl_fixed, top1_agreement_float=top1_float,
                                    top1_agreement_fixed=top1_fixed)
    return report


def _layer_patterns_float(cfg: AcceleratorConfig, layer: int, q, k, v):
    pattern = build_pattern(q, k, cfg.block, cfg.sparsity, layer=layer)
    return float_attn.sparse_attention(q, k, v, pattern.mask, cfg.block)


def format_report(report: dict) -> str:
    lines = [f"FAST-Prefill pattern report: {report['model']}, {report['n_tokens']} tokens, "
             f"prompt {report['prompt']!r}, config {report['config']} (B={report['block']})",
             "sparsity: " + ", ".join(f"{k}={v}" for k, v in report["sparsity"].items()), ""]
    header = (f"{'layer':>5} {'head':>4} {'density':>8} {'recall':>7} {'err_float':>10} "
              f"{'err_fixed':>10} {'fix/float':>10}")
    lines.append("density/recall: the fixed-point (hardware) pattern; err_float: float pattern and "
                 "float attention vs dense;")
    lines.append("err_fixed: the fixed-point pattern and attention vs dense; fix/float: fixed-point "
                 "vs float attention on the same pattern (relative L2 per head)")
    lines.append(header)
    lines.append("-" * len(header))
    for row in report["layers"]:
        for h in row["heads"]:
            lines.append(f"{row['layer']:>5} {h['head']:>4} {h['density_fixed']:>8.3f} "
                         f"{h['recall_fixed']:>7.4f} {h['rel_err_float']:>10.4f} "
                         f"{h['rel_err_fixed']:>10.4f} {h['rel_err_fixed_vs_float_sparse']:>10.4f}")
    lines.append("")
    lines.append("KV traffic per layer (MiB): liveness / lru / none / compulsory")
    for row in report["layers"]:
        t = row["kv_traffic_bytes"]
        mib = [t[p] / 2**20 for p in (*POLICIES, "compulsory")]
        ratio = t["liveness"] / t["compulsory"] if t["compulsory"] else float("nan")
        lines.append(f"  layer {row['layer']:>2}: " + " / ".join(f"{m:7.2f}" for m in mib)
                     + f"   (liveness = {ratio:.3f}x compulsory)")
    lines.append("")
    lines.append(f"mean tile density (fixed-point pattern, all layers and heads): "
                 f"{report['mean_density']:.3f}")
    e2e = report.get("end_to_end")
    if e2e:
        d = e2e["ppl_dense"]
        lines.append(f"perplexity dense {d:.3f} | sparse float {e2e['ppl_sparse_float']:.3f} "
                     f"({100 * (e2e['ppl_sparse_float'] / d - 1):+.2f}%) | sparse fixed "
                     f"{e2e['ppl_sparse_fixed']:.3f} ({100 * (e2e['ppl_sparse_fixed'] / d - 1):+.2f}%)")
        lines.append(f"next-token top-1 agreement with dense: float "
                     f"{100 * e2e['top1_agreement_float']:.2f}% | fixed "
                     f"{100 * e2e['top1_agreement_fixed']:.2f}%")
    return "\n".join(lines)
