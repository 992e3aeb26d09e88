"""End-to-end accuracy of the sparse pattern on SmolLM2 (used to choose SparsityConfig defaults).

``end_to_end`` runs the model twice over a real prompt: dense causal attention,
then sparse prefill in every layer (the layer's pattern from its own post-RoPE
Q and K, attention restricted to the kept tiles with the causal token mask).
It reports perplexity of both, next-token top-1 agreement and the mean tile
density over all layers and heads (a dense layer counts as 1.0).

Command line (the sweep recorded in docs/pattern.md)::

    python -m golden.measure --tokens 8192 --prompt default \\
        --set gamma=0.9,row_gamma=0.95,local_window=2 --set gamma=0.95

Each ``--set`` is a comma list of SparsityConfig fields replaced in the current
defaults (``dense_layers`` as ``0+1+2``).  ``--attention`` takes one or more of
``float`` (float pattern, float attention), ``fixed-pattern`` (the fixed-point estimator's
pattern, float attention), ``fixed-int8`` (that pattern, float attention on the int8 inputs
dequantised) and ``fixed`` (the whole fixed-point model: that pattern and the bit-exact
fixed-point attention, ``golden.report.fixed_layer``).  The last three compute the pattern
alike (the same estimator on each layer's host-quantised Q/K; only the upstream activations
differ), so their differences split the loss into pattern, int8 input format and engine
arithmetic::

    python -m golden.measure --tokens 8192 --prompt gnu-licenses --attention fixed fixed-pattern
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from golden.pattern import build_pattern
from hdl.config import SparsityConfig, num_blocks, preset

_DENSE_CACHE: dict[tuple[int, str], torch.Tensor] = {}
#: the SmolLM2 config: its block, and the widths of the fixed-point modes
MODEL_PRESET = "smollm2"


def _sparse_attention_sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor,
                           block: int) -> torch.Tensor:
    """Float block-sparse attention: per query block, SDPA over the gathered kept key blocks.

    Equal (to float rounding) to SDPA with the full token mask, at a cost proportional to the
    kept tiles: each row gathers its heads' kept K/V blocks (padded to the row's widest head,
    the padding masked out) and applies the causal mask on the diagonal tile.
    """
    H, L, D = q.shape
    g = H // k.shape[0]
    B = block
    nb = num_blocks(L, B)
    pad = nb * B - L
    kk = F.pad(k, (0, 0, 0, pad)).repeat_interleave(g, dim=0).view(H, nb, B, D)
    vv = F.pad(v, (0, 0, 0, pad)).repeat_interleave(g, dim=0).view(H, nb, B, D)
    out = torch.empty_like(q)
    heads = torch.arange(H)[:, None]
    for r in range(nb):
        keep = mask[:, r, :r + 1]                                      # [H, r+1]
        width = int(keep.sum(1).max())
        # kept blocks first (ascending), then padding that points at the diagonal and is masked
        order = torch.sort((~keep).to(torch.int8), dim=1, stable=True).indices[:, :width]
        valid = torch.gather(keep, 1, order)                           # [H, width]
        kb = kk[heads, order].reshape(H, width * B, D)
        vb = vv[heads, order].reshape(H, width * B, D)
        q0, q1 = r * B, min(L, (r + 1) * B)
        kpos = (order[:, :, None] * B + torch.arange(B)).reshape(H, 1, width * B)
        qpos = torch.arange(q0, q1)[None, :, None]
        am = valid.repeat_interleave(B, dim=1)[:, None, :] & (kpos <= qpos)
        s = torch.baddbmm(torch.where(am, 0.0, float("-inf")), q[:, q0:q1], kb.transpose(1, 2),
                          alpha=1.0 / math.sqrt(D))
        out[:, q0:q1] = torch.bmm(torch.softmax(s, dim=-1), vb)
    return out


ATTENTION_MODES = ("float", "fixed-pattern", "fixed-int8", "fixed")


def _layer(attention: str, layer: int, q, k, v, block: int, sparsity: SparsityConfig):
    """(pattern, output) of one layer in the given mode (see :func:`end_to_end`)."""
    if attention == "float":
        pat = build_pattern(q, k, block, sparsity, layer=layer)
        return pat, _sparse_attention_sdpa(q, k, v, pat.mask, block)
    if attention in ("fixed-pattern", "fixed-int8", "fixed"):
        from golden.report import fixed_layer
        cfg = preset(MODEL_PRESET, block=block, sparsity=sparsity)
        pat, o = fixed_layer(cfg, layer, q, k, v, attention=attention == "fixed")
        if attention == "fixed-int8":
            # the engine's int8 inputs, dequantised (centring and smoothing leave every
            # softmax row unchanged), through float attention
            from golden.fixed_attention import LOG2E, quantize_attention_inputs
            inp = quantize_attention_inputs(q, k, v, cfg)
            q = inp.q.dequantize(extra=LOG2E / math.sqrt(q.shape[-1])).to(q.dtype)
            k = inp.k.dequantize().to(k.dtype)
            v = (inp.v.double() * inp.v_scale[:, None, :]).to(v.dtype)
        return pat, (_sparse_attention_sdpa(q, k, v, pat.mask, block) if o is None else o)
    raise ValueError(f"attention must be one of {ATTENTION_MODES}, got {attention!r}")


def end_to_end(n_tokens: int, prompt: str | Path = "default", sparsity: SparsityConfig | None = None,
               attention: str = "float", block: int = preset(MODEL_PRESET).block) -> dict:
    """Dense vs sparse-prefill SmolLM2 on ``n_tokens`` of ``prompt``.

    attention  "float": float pattern (golden.pattern) and float sparse attention;
               "fixed-pattern": the fixed-point estimator's pattern on the host-quantised
               Q/K (as the accelerator computes it), float sparse attention;
               "fixed-int8": that pattern, float sparse attention on the engine's int8
               inputs dequantised (the input format's loss without the engine's arithmetic);
               "fixed": the same pattern and the bit-exact fixed-point attention
               (golden.report.fixed_layer), i.e. the accelerator's output in every layer.
    Returns dict(ppl_dense, ppl_sparse, top1_agreement, mean_density, seconds).
    """
    from golden.smollm2 import SmolLM2, perplexity, prompt_tokens
    sparsity = SparsityConfig() if sparsity is None else sparsity
    model = SmolLM2.load()
    tokens = prompt_tokens(prompt, n_tokens)
    key = (n_tokens, str(prompt))
    if key not in _DENSE_CACHE:
        _DENSE_CACHE[key] = model.forward(tokens)
    dense = _DENSE_CACHE[key]
    densities: list[torch.Tensor] = []

    if attention not in ATTENTION_MODES:
        raise ValueError(f"attention must be one of {ATTENTION_MODES}, got {attention!r}")

    def attn(layer, q, k, v):
        pat, out = _layer(attention, layer, q, k, v, block, sparsity)
        densities.append(pat.density())
        return out

    t0 = time.time()
    sparse = model.forward(tokens, attention_fn=attn)
    return dict(
        ppl_dense=perplexity(dense, tokens),
        ppl_sparse=perplexity(sparse, tokens),
        top1_agreement=float((dense.argmax(-1) == sparse.argmax(-1)).double().mean()),
        mean_density=float(torch.cat(densities).mean()),
        seconds=time.time() - t0,
    )


def _parse_set(text: str, base: SparsityConfig) -> SparsityConfig:
    changes = {}
    for item in filter(None, text.split(",")):
        name, _, value = item.partition("=")
        name = name.strip()
        if name == "dense_layers":
            changes[name] = tuple(int(x) for x in value.split("+") if x)
        elif name == "mode":
            changes[name] = value
        elif name in ("gamma", "row_gamma"):
            changes[name] = float(value)
        else:
            changes[name] = int(value)
    return base.replace(**changes)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=2048)
    ap.add_argument("--prompt", action="append", help="shipped prompt name (repeatable)")
    ap.add_argument("--set", action="append", default=[], help="SparsityConfig changes, e.g. gamma=0.95")
    ap.add_argument("--attention", nargs="+", default=["float"], choices=ATTENTION_MODES,
                    help="one or more modes, run in this order per prompt (the dense forward is shared)")
    args = ap.parse_args(argv)
    prompts = args.prompt or ["default"]
    sets = args.set or [""]
    print("| tokens | prompt | setting | attention | ppl dense | ppl sparse | dppl % | top-1 % | density % | s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for s in sets:
        sp = _parse_set(s, SparsityConfig())
        for prompt in prompts:
            for mode in args.attention:
                r = end_to_end(args.tokens, prompt, sp, mode)
                print(f"| {args.tokens} | {prompt} | {s or 'defaults'} | {mode} | {r['ppl_dense']:.3f} | "
                      f"{r['ppl_sparse']:.3f} | {100 * (r['ppl_sparse'] / r['ppl_dense'] - 1):+.2f} | "
                      f"{100 * r['top1_agreement']:.2f} | {100 * r['mean_density']:.1f} | "
                      f"{r['seconds']:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
