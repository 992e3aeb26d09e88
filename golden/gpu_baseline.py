"""GPU baseline: the attention prefill of the same work on whatever CUDA GPU is present.

For one model shape (default Llama-3.1-8B: H=32, Hkv=8, D=128) and each context length it
times, for one layer in bf16 (then scales by the layer count):

* ``dense``   torch SDPA, causal, GQA (flash kernel where available);
* ``index``   the dynamic vertical-slash pattern estimated on the GPU from Q and K
              (:func:`estimate_mask`: the golden.pattern definition, vectorised);
* ``sparse``  FlexAttention with a BlockMask built from that tile mask (kept tiles of the
              evaluation's block, causal inside the diagonal), on a tile mask at the density the
              evaluation uses for that length (``--density`` or golden.evaluate's model);
* ``gemm``    the layer's linear projections as bf16 matmuls (for the GEMM efficiency).

Efficiencies are fractions of the GPU's published dense FP16 tensor peak (golden.perf
KNOWN_GPUS, or ``--peak-tflops``).  The result goes to ``golden/data/gpu/<gpu>-<model>.json``
with the GPU model, driver/CUDA/torch versions; ``fast-prefill evaluate`` reads every file
there and projects the A5000 at the measured efficiencies.

Without CUDA the script prints why and exits 0 without writing anything.

    python -m golden.gpu_baseline [--model llama-3.1-8b] [--length 4096 ...] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import torch

from golden import perf
from hdl.config import SparsityConfig, num_blocks, preset

OUT = Path(__file__).resolve().parent / "data" / "gpu"
DEFAULT_LENGTHS = (4096, 8192, 16384, 32768, 65536, 131072)
#: the tiles of the FPGA config the GPU is set against (golden.perf.U280_PRESET)
BLOCK = preset(perf.U280_PRESET).block


# ---------------------------------------------------------------- the estimator, device-generic
def _coverage_count(sorted_desc: torch.Tensor, gamma: float) -> torch.Tensor:
    if gamma >= 1.0:
        return (sorted_desc > 0).sum(dim=-1).clamp(min=1)
    cum = torch.cumsum(sorted_desc, dim=-1)
    return ((cum < gamma * cum[..., -1:]).sum(dim=-1) + 1).clamp(max=sorted_desc.shape[-1])


def _coverage_keep(scores: torch.Tensor, gamma: float, min_budget: int, max_budget: int) -> torch.Tensor:
    """Bool mask of the entries kept per row of ``scores [..., n]`` (golden select_coverage)."""
    n = scores.shape[-1]
    order = torch.sort(scores, dim=-1, descending=True, stable=True).indices
    count = _coverage_count(torch.gather(scores, -1, order), gamma).clamp(min=min_budget)
    if max_budget:
        count = count.clamp(max=max_budget)
    keep_sorted = torch.arange(n, device=scores.device) < count.clamp(max=n)[..., None]
    return torch.zeros_like(keep_sorted).scatter_(-1, order, keep_sorted)


def estimate_mask(q: torch.Tensor, k: torch.Tensor, block: int, sp: SparsityConfig,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The tile mask [H, nb, nb] of golden.pattern.build_pattern (coverage mode), vectorised
    over heads and on q's device.  q [H, L, D], k [Hkv, L, D]; ``dtype`` of the scores
    (float64 reproduces the golden model; float32 on the GPU)."""
    if sp.mode != "coverage":
        raise ValueError(f"estimate_mask: only mode 'coverage' is implemented, got {sp.mode!r}")
    H, L, D = q.shape
    Hkv = k.shape[0]
    if H % Hkv or k.shape[1:] != (L, D):
        raise ValueError(f"shapes: q {tuple(q.shape)} and k {tuple(k.shape)} do not match")
    g, dev = H // Hkv, q.device
    nb = num_blocks(L, block)
    q0 = (nb - 1) * block
    kk = k.to(dtype).repeat_interleave(g, dim=0)
    s = torch.einsum("hid,hjd->hij", q[:, q0:].to(dtype), kk) / math.sqrt(D)
    qpos = torch.arange(q0, L, device=dev)
    kpos = torch.arange(L, device=dev)
    dist = qpos[:, None] - kpos[None, :]
    p = torch.softmax(s.masked_fill(dist[None] < 0, float("-inf")), dim=-1)
    v = torch.zeros(H, nb, dtype=dtype, device=dev).index_add_(1, kpos // block, p.sum(dim=1))
    band = (dist.clamp(min=0) // block).reshape(-1)
    d = torch.zeros(H, nb, dtype=dtype, device=dev).index_add_(1, band, p.reshape(H, -1))
    del s, p
    vk = _coverage_keep(v, sp.gamma, sp.min_budget, sp.max_budget)
    dk = _coverage_keep(d, sp.gamma, sp.min_budget, sp.max_budget)
    vk[:, 0] = True
    dk[:, :min(sp.local_window, nb)] = True
    r = torch.arange(nb, device=dev)
    causal = r[None, :] <= r[:, None]
    off = (r[:, None] - r[None, :]).clamp(min=0)
    mask = (vk[:, None, :] | dk[:, off]) & causal
    if sp.row_gamma > 0:
        pad = nb * block - L
        qm = torch.nn.functional.pad(q.to(dtype), (0, 0, 0, pad)).view(H, nb, block, D).sum(2) / block
        km = torch.nn.functional.pad(k.to(dtype), (0, 0, 0, pad)).view(Hkv, nb, block, D).sum(2) / block
        ps = torch.einsum("hrd,hcd->hrc", qm, km.repeat_interleave(g, dim=0)) / math.sqrt(D)
        ps = torch.softmax(ps.masked_fill(~causal, float("-inf")), dim=-1)
        mask |= _coverage_keep(ps, sp.row_gamma, 1, 0) & causal
    return mask


# ---------------------------------------------------------------- timing helpers
def _time_cuda(fn, repeat: int) -> float:
    fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    best = math.inf
    for _ in range(repeat):
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        best = min(best, start.elapsed_time(end) / 1e3)
    return best


def block_mask_from_tiles(tiles: torch.Tensor, L: int, block: int):
    """A FlexAttention BlockMask [1, H, L, L] from a tile mask [H, nb, nb] (tiles of ``block``)."""
    from torch.nn.attention.flex_attention import BlockMask

    H, nb, _ = tiles.shape
    diag = torch.eye(nb, dtype=torch.bool, device=tiles.device)
    partial = tiles & diag                        # diagonal tiles: causal mask inside
    full = tiles & ~diag

    def lists(m):
        cnt = m.sum(-1).to(torch.int32)
        idx = torch.sort((~m).to(torch.int8), dim=-1, stable=True).indices.to(torch.int32)
        return cnt[None], idx[None]

    pc, pi = lists(partial)
    fc, fi = lists(full)
    tile_lookup = tiles

    def mask_mod(b, h, qi, kv):
        return (qi >= kv) & tile_lookup[h, qi // block, kv // block]

    return BlockMask.from_kv_blocks(pc, pi, fc, fi, BLOCK_SIZE=block, mask_mod=mask_mod,
                                    seq_lengths=(L, L))


def synthetic_tiles(H: int, nb: int, density: float, seed: int, device) -> torch.Tensor:
    """Per head, a vertical-slash tile mask near ``density`` (golden.evaluate's generator)."""
    from golden.evaluate import _synthetic_group

    m, _, _ = _synthetic_group(nb, H, density, seed)
    return m.to(device)


# ---------------------------------------------------------------- the run
def measure(shape: perf.ModelShape, lengths, densities: dict, block: int, sp: SparsityConfig,
            peak_flops: float, mem_bytes_s: float, repeat: int = 3) -> list[dict]:
    import torch.nn.functional as F
    from torch.nn.attention.flex_attention import flex_attention

    dev = torch.device("cuda")
    flex = torch.compile(flex_attention, dynamic=False)
    H, Hkv, D = shape.heads, shape.kv_heads, shape.head_dim
    out = []
    for L in lengths:
        gen = torch.Generator(device=dev).manual_seed(L)
        q = torch.randn(1, H, L, D, device=dev, dtype=torch.bfloat16, generator=gen)
        k = torch.randn(1, Hkv, L, D, device=dev, dtype=torch.bfloat16, generator=gen)
        v = torch.randn(1, Hkv, L, D, device=dev, dtype=torch.bfloat16, generator=gen)
        row = {"seq_len": L, "density": densities[L]}
        dense_s = _time_cuda(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                                    enable_gqa=True), repeat)
        dflops = perf.dense_attention_flops(shape, L) / shape.layers
        row.update(dense_s=dense_s * shape.layers, dense_eff=dflops / dense_s / peak_flops)
        idx_s = _time_cuda(lambda: estimate_mask(q[0], k[0], block, sp), repeat)
        idx_bytes = 2 * (2 * Hkv + H) * L * D
        row.update(index_s=idx_s * shape.layers, index_mem_eff=idx_bytes / idx_s / mem_bytes_s)
        nb = num_blocks(L, block)
        tiles = synthetic_tiles(H, nb, densities[L], seed=L, device=dev)
        bm = block_mask_from_tiles(tiles, L, block)
        sparse_s = _time_cuda(lambda: flex(q, k, v, block_mask=bm, enable_gqa=True), repeat)
        kept = float(tiles.sum())
        sflops = kept * 2 * 2 * block * block * D
        row.update(sparse_s=sparse_s * shape.layers, sparse_eff=sflops / sparse_s / peak_flops,
                   sparse_tile_density=kept / (H * nb * (nb + 1) / 2))
        x = torch.randn(L, shape.hidden, device=dev, dtype=torch.bfloat16, generator=gen)
        ws = [torch.randn(kk, n, device=dev, dtype=torch.bfloat16, generator=gen)
              for _, kk, n in shape.linear_gemms() if kk == shape.hidden]
        gemm_s = _time_cuda(lambda: [x @ w for w in ws], repeat)
        gflops = sum(2.0 * L * w.shape[0] * w.shape[1] for w in ws)
        row.update(gemm_eff=gflops / gemm_s / peak_flops)
        out.append(row)
        print(json.dumps(row), flush=True)
        del q, k, v, tiles, bm, x, ws
        torch.cuda.empty_cache()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="llama-3.1-8b", choices=sorted(perf.MODELS))
    ap.add_argument("--length", type=int, action="append", default=None)
    ap.add_argument("--density", type=float, default=None,
                    help="tile density for every length (default: golden.evaluate's density model)")
    ap.add_argument("--peak-tflops", type=float, default=None,
                    help="dense FP16 tensor peak of this GPU when it is not in golden.perf.KNOWN_GPUS")
    ap.add_argument("--mem-gbs", type=float, default=None, help="memory bandwidth (GB/s), same")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print(f"gpu_baseline: skipped: no CUDA device (torch {torch.__version__}, "
              f"torch.version.cuda={torch.version.cuda}); no data file written", file=sys.stderr)
        return 0
    name = torch.cuda.get_device_name(0)
    spec = perf.gpu_spec_for(name)
    peak = args.peak_tflops * 1e12 if args.peak_tflops else (spec.fp16_tensor_flops if spec else None)
    mem = args.mem_gbs * 1e9 if args.mem_gbs else (spec.mem_bytes_s if spec else None)
    if peak is None or mem is None:
        print(f"gpu_baseline: {name!r} is not in golden.perf.KNOWN_GPUS: pass --peak-tflops and "
              "--mem-gbs (from its datasheet)", file=sys.stderr)
        return 2
    shape = perf.MODELS[args.model]
    lengths = args.length or list(DEFAULT_LENGTHS)
    sp = SparsityConfig()
    if args.density is not None:
        densities = {L: args.density for L in lengths}
    else:
        from golden.evaluate import DensityModel, measured_density
        dm = DensityModel.fit(measured_density(block=BLOCK, sparsity=sp), local_window=sp.local_window)
        densities = {L: dm(L)[0] for L in lengths}
    t0 = time.time()
    rows = measure(shape, lengths, densities, BLOCK, sp, peak, mem, args.repeat)
    props = torch.cuda.get_device_properties(0)
    data = {"gpu": name, "peak_flops": peak, "mem_bytes_s": mem,
            "peak_source": spec.source if spec and not args.peak_tflops else "command line",
            "gpu_memory_gb": props.total_memory / 1e9, "torch": torch.__version__,
            "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
            "python": platform.python_version(), "model": shape.name, "block": BLOCK,
            "sparsity": {"gamma": sp.gamma, "row_gamma": sp.row_gamma, "local_window": sp.local_window},
            "dtype": "bfloat16", "timing": f"best of {args.repeat} after one warm-up, one layer x layers",
            "seconds": time.time() - t0, "results": rows}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name.replace(' ', '_').replace('/', '_')}-{args.model}.json"
    path.write_text(json.dumps(data, indent=1))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
