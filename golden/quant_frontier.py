"""How the input format bounds the output error: quantisation alone, per input bit width.

The engine's arithmetic error is below 1 % per head (docs/numerics.md); what remains of the
fixed-point vs float-sparse error is the rounding of Q, K and V to the input grid.  This
module measures that part alone for n-bit inputs with the host quantiser's layout (Q and K
per-(head, block) scales after K centring and Q/K smoothing, V per-(kv head, channel)),
through float attention on the dequantised tensors: the floor any n-bit engine inherits.

``python -m golden.quant_frontier --layers 3 9 18 29 --tokens 1024 --bits 8 9 10 12``
"""

from __future__ import annotations

import argparse

import torch

from golden.attention import relative_error, sparse_attention
from golden.fixed_attention import center_and_smooth
from hdl.config import num_blocks


def _qmax(bits: int) -> int:
    if not 2 <= bits <= 24:
        raise ValueError(f"bits must lie in [2, 24], got {bits}")
    return (1 << (bits - 1)) - 1


def fake_quant_blocks(x: torch.Tensor, block: int, bits: int) -> torch.Tensor:
    """Round x [H, L, D] to ``bits``-bit integers with one scale per (head, block), dequantised."""
    qmax = _qmax(bits)
    H, L, D = x.shape
    nb = num_blocks(L, block)
    pad = torch.nn.functional.pad(x.double(), (0, 0, 0, nb * block - L)).view(H, nb, block, D)
    scale = pad.abs().amax(dim=(2, 3), keepdim=True).clamp(min=1e-300) / qmax
    return ((pad / scale).round() * scale).view(H, nb * block, D)[:, :L]


def fake_quant_channels(v: torch.Tensor, bits: int) -> torch.Tensor:
    """Round v [Hkv, L, D] to ``bits``-bit integers with one scale per (kv head, channel)."""
    qmax = _qmax(bits)
    scale = v.double().abs().amax(dim=1, keepdim=True).clamp(min=1e-300) / qmax
    return (v.double() / scale).round() * scale


def quantisation_error(q, k, v, mask, block: int, bits: int) -> torch.Tensor:
    """Per-head relative error of float sparse attention on ``bits``-bit inputs vs the originals."""
    ref = sparse_attention(q.double(), k.double(), v.double(), mask, block)
    qs, ks = center_and_smooth(q, k)
    out = sparse_attention(fake_quant_blocks(qs, block, bits), fake_quant_blocks(ks, block, bits),
                           fake_quant_channels(v, bits), mask, block)
    return relative_error(out, ref)


def frontier(layers: list[int], n_tokens: int, bits: list[int], prompt: str = "default",
             preset_name: str = "smollm2") -> list[dict]:
    """Rows (layer, bits, mean, max) of the per-head quantisation error on SmolLM2."""
    from golden.pattern import build_pattern
    from golden.smollm2 import load_qkv
    from hdl.config import preset

    cfg = preset(preset_name)
    rows = []
    for layer in layers:
        cap = load_qkv(layer, n_tokens, prompt)
        mask = build_pattern(cap.q, cap.k, cfg.block, cfg.sparsity, layer=layer).mask
        for b in bits:
            e = quantisation_error(cap.q, cap.k, cap.v, mask, cfg.block, b)
            rows.append({"layer": layer, "bits": b, "mean": float(e.mean()), "max": float(e.max())})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m golden.quant_frontier", description=__doc__.split("\n")[0])
    ap.add_argument("--layers", type=int, nargs="+", default=[3, 9, 18, 29])
    ap.add_argument("--tokens", type=int, default=1024)
    ap.add_argument("--bits", type=int, nargs="+", default=[8, 9, 10, 12])
    ap.add_argument("--prompt", default="default")
    args = ap.parse_args(argv)
    rows = frontier(args.layers, args.tokens, args.bits, args.prompt)
    print("per-head relative error of float sparse attention on n-bit inputs, % mean / max")
    print("layer  " + "  ".join(f"{b:>2} bits      " for b in args.bits))
    for layer in args.layers:
        cells = [f"{r['mean'] * 100:5.2f} / {r['max'] * 100:5.2f}" for r in rows if r["layer"] == layer]
        print(f"{layer:>5}  " + "  ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
