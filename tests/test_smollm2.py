"""SmolLM2 real-tensor loader: packaging errors, tokeniser, forward sanity, capture cache, CLI.

The model runs once per session at 512 tokens on the default prompt (``captured``);
the cache tests use their own temporary cache directory and 64-token prompts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types

import pytest
import torch

import golden.smollm2 as sm
from fast_prefill.cli import main as cli_main
from hdl.errors import UserError
from golden.prompts import PROMPTS, prompt_text
from golden.smollm2 import (INSTALL_HINT, MAX_TOKENS, ModelFileError, SmolLM2, cache_dir, cache_path,
                            load_qkv, perplexity, prompt_tokens)

N = 512  # session capture length


def explicit_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Causal GQA attention written out: repeat KV heads, explicit mask, float64 softmax."""
    H, L, D = q.shape
    g = H // k.shape[0]
    k = k.double().repeat_interleave(g, dim=0)
    v = v.double().repeat_interleave(g, dim=0)
    s = q.double() @ k.transpose(1, 2) / D ** 0.5
    mask = torch.ones(L, L, dtype=torch.bool).tril()
    s = s.masked_fill(~mask, float("-inf"))
    p = torch.softmax(s, dim=-1)
    return p @ v


@pytest.fixture(scope="session")
def model() -> SmolLM2:
    return SmolLM2.load()


@pytest.fixture(scope="session")
def dense_run(model):
    """One forward of the first N default-prompt tokens: (tokens, logits, per-layer capture)."""
    tokens = prompt_tokens("default", N)
    capture: dict = {}
    logits = model.forward(tokens, capture=capture)
    return tokens, logits, capture


# ---- packaging ------------------------------------------------------------------------------

def test_missing_package_gives_install_command(monkeypatch):
    monkeypatch.setattr(sm.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelFileError) as exc:
        sm.model_path()
    assert INSTALL_HINT in str(exc.value)
    assert isinstance(exc.value, UserError)


def test_missing_gguf_file_gives_install_command(monkeypatch, tmp_path):
    spec = types.SimpleNamespace(submodule_search_locations=[str(tmp_path)])
    monkeypatch.setattr(sm.importlib.util, "find_spec", lambda name: spec)
    with pytest.raises(ModelFileError, match="SmolLM2-135M-Instruct.Q4_1.gguf") as exc:
        sm.model_path()
    assert INSTALL_HINT in str(exc.value)


def test_cli_reports_missing_package_in_one_line(monkeypatch, tmp_path, capsys):
    # A fresh process state: nothing of the model loaded yet, package absent.
    monkeypatch.setattr(sm, "_READER", None)
    monkeypatch.setattr(sm, "_TOKENIZER", None)
    monkeypatch.setattr(sm, "_MODEL", None)
    monkeypatch.setattr(sm.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setenv("FAST_PREFILL_CACHE", str(tmp_path))
    assert cli_main(["capture", "--tokens", "64", "--layer", "0"]) == 2
    err = capsys.readouterr().err
    assert INSTALL_HINT in err and "Traceback" not in err


# ---- tokeniser ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PROMPTS))
def test_shipped_prompts_round_trip_and_are_long(model, name):
    text = prompt_text(name)
    ids = model.tokenize(text)
    assert len(ids) >= 8300
    assert model.detokenize(ids) == text


@pytest.mark.parametrize("text", [
    "Hello, world!  Tabs\tand\nnewlines\n\n   indented",
    "Unicode: café naïve — “quotes” 東京 🙂 ∑x²",
    "numbers 3.14159 and 2048 tokens, x=-17e3",
    "<|im_start|>user\nhi<|im_end|>",
])
def test_tokenizer_round_trip(model, text):
    assert model.detokenize(model.tokenize(text)) == text


def test_tokenizer_matches_gguf_conventions(model):
    reader = sm._reader()
    vocab = sm._field(reader, "tokenizer.ggml.tokens")
    # SmolLM2 splits every digit into its own token.
    assert model.tokenize("2048") == [vocab.index(c) for c in "2048"]
    # Control tokens are atomic and carry the ids the GGUF header declares.
    bos = int(sm._field(reader, "tokenizer.ggml.bos_token_id"))
    eos = int(sm._field(reader, "tokenizer.ggml.eos_token_id"))
    ids = model.tokenize("<|im_start|>x<|im_end|>")
    assert ids[0] == bos and ids[-1] == eos and len(ids) == 3
    # Byte-level: a leading space belongs to the word ("Ġ" prefix), no prefix space is added.
    assert [vocab[i] for i in model.tokenize("the cat")] == ["the", "Ġcat"]


def test_model_shapes(model):
    assert (model.n_layers, model.n_heads, model.n_kv_heads, model.head_dim, model.vocab_size) == \
        (30, 9, 3, 64, 49152)
    assert SmolLM2.load() is model  # cached per process


# ---- forward sanity -------------------------------------------------------------------------

def test_perplexity_on_default_prompt_is_sane(dense_run):
    tokens, logits, _ = dense_run
    assert logits.shape == (N, 49152) and logits.dtype == torch.float32
    ppl = perplexity(logits, tokens)
    # Measured 14.8 at 512 tokens (13.9 at 1024, 11.5 at 2048, 9.5 at 8192).  A wrong Q/K
    # permutation gave 215; a leak of future tokens would drive it towards 1.
    assert 10.0 < ppl < 20.0


def test_greedy_continuation_is_readable(model):
    ids = model.tokenize("The capital of France is")
    for _ in range(4):
        ids.append(int(model.forward(torch.tensor(ids))[-1].argmax()))
    assert "Paris" in model.detokenize(ids)


@pytest.mark.parametrize("layer", [0, 1, 14, 29])
def test_attention_recomputed_from_capture_matches_model(dense_run, layer):
    _, _, capture = dense_run
    c = capture[layer]
    assert c["q"].shape == (9, N, 64) and c["k"].shape == (3, N, 64)
    assert c["v"].shape == (3, N, 64) and c["o"].shape == (9, N, 64)
    ref = explicit_attention(c["q"], c["k"], c["v"])
    err = (c["o"].double() - ref).abs().max() / ref.abs().max()
    assert err < 1e-5, f"layer {layer}: relative max error {err:.2e}"


def test_attention_fn_replaces_attention_in_every_layer(model, dense_run):
    tokens, logits, _ = dense_run
    seen = []

    def fn(layer, q, k, v):
        seen.append(layer)
        return explicit_attention(q, k, v).float()

    alt = model.forward(tokens[:256], attention_fn=fn)
    assert seen == list(range(30))
    # Same logits as the dense forward over N tokens on the first 256 positions: the hook gets
    # the real post-RoPE q/k/v, and the dense path is causal (later tokens change nothing).
    ref = logits[:256]
    assert (alt - ref).abs().max() < 1e-3 * ref.abs().max()
    alt[0, 0] = 0.0  # plain tensors (not inference-mode ones): callers may edit them in place

    with pytest.raises(ValueError, match=r"attention_fn\(layer 0\)"):
        model.forward(tokens[:16], attention_fn=lambda layer, q, k, v: q[:3])


def test_rope_is_applied_to_captured_q_k(model):
    # Captured q/k are post-RoPE: rotating position t's vector back by t*theta must give the
    # projection of the normed hidden state, which does not depend on position for a repeated
    # token.  Feed one token repeated and check layer-0 q at different positions.
    tok = torch.full((32,), model.tokenize(" the")[0], dtype=torch.long)
    cap: dict = {}
    model.forward(tok, capture=cap)
    q = cap[0]["q"]  # [H, L, D]
    D = q.shape[-1]
    inv = 1.0 / (model.rope_theta ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    ang = torch.arange(32, dtype=torch.float64)[:, None] * inv  # [L, D/2]
    x1, x2 = q[..., : D // 2].double(), q[..., D // 2:].double()
    c, s = ang.cos(), ang.sin()
    raw = torch.cat([x1 * c + x2 * s, x2 * c - x1 * s], dim=-1)  # rotate by -angle
    assert (raw - raw[:, :1]).abs().max() < 1e-4 * raw.abs().max()
    assert (q - q[:, :1]).abs().max() > 0.1 * q.abs().max()  # ...while q itself does rotate


# ---- capture cache --------------------------------------------------------------------------

def test_load_qkv_runs_the_model_once_and_then_reads_disk(monkeypatch, tmp_path, dense_run):
    monkeypatch.setenv("FAST_PREFILL_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    calls = []
    real_run = SmolLM2._run

    def counting_run(self, *args, **kwargs):
        calls.append(1)
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(SmolLM2, "_run", counting_run)
    first = load_qkv(5, 64)
    assert len(calls) == 1
    files = sorted(cache_path(0, 64).parent.glob("layer*.pt"))
    assert [f.name for f in files] == [f"layer{i:02d}.pt" for i in range(30)]
    again = load_qkv(5, 64)
    other = load_qkv(17, 64)
    assert len(calls) == 1  # both from disk
    for name in "qkvo":
        assert torch.equal(getattr(first, name), getattr(again, name))
    assert (first.layer, first.n_tokens, first.prompt_id) == (5, 64, "default")
    assert other.q.shape == (9, 64, 64) and other.k.shape == (3, 64, 64)
    # The 64-token capture agrees with the 512-token forward on its first 64 positions (causal).
    _, _, capture = dense_run
    assert torch.allclose(other.k, capture[17]["k"][:, :64], rtol=1e-4, atol=1e-4)
    assert torch.allclose(other.o, capture[17]["o"][:, :64], rtol=1e-4, atol=1e-4)

    # Another process reads the cache without loading the weights.
    code = ("import golden.smollm2 as sm; c = sm.load_qkv(17, 64); "
            "import json; print(json.dumps([sm._MODEL is None, list(c.v.shape), float(c.v.double().sum())]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "FAST_PREFILL_CACHE": str(tmp_path)})
    not_loaded, shape, vsum = json.loads(out.stdout.strip().splitlines()[-1])
    assert not_loaded and shape == [3, 64, 64]
    assert vsum == pytest.approx(float(other.v.double().sum()), rel=1e-12)


def test_corrupt_cache_file_is_recomputed(monkeypatch, tmp_path):
    monkeypatch.setenv("FAST_PREFILL_CACHE", str(tmp_path))
    path = cache_path(2, 48)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a torch file")
    cap = load_qkv(2, 48)
    assert cap.q.shape == (9, 48, 64)
    assert torch.load(path, weights_only=True)["layer"] == 2


def test_prompt_file_via_cli(monkeypatch, tmp_path, capsys, model):
    monkeypatch.setenv("FAST_PREFILL_CACHE", str(tmp_path / "cache"))
    text_file = tmp_path / "mine.txt"
    # A user's own text: a shipped held-out text with its paragraphs in reverse order.
    text_file.write_text("\n\n".join(reversed(prompt_text("gnu-licenses").split("\n\n"))), encoding="utf-8")
    assert cli_main(["capture", "--tokens", "64", "--layer", "3", "--prompt-file", str(text_file)]) == 0
    out = capsys.readouterr().out
    assert "file:mine.txt" in out
    assert "q        [9, 64, 64] float32" in out and "k        [3, 64, 64] float32" in out
    path = cache_path(3, 64, text_file)
    assert str(path) in out and path.is_file()
    tokens = prompt_tokens(text_file, 64)
    assert tokens.tolist() == model.tokenize(text_file.read_text(encoding="utf-8"))[:64]
    cap: dict = {}
    model.forward(tokens, capture=cap)
    stored = load_qkv(3, 64, text_file)
    assert torch.allclose(stored.q, cap[3]["q"], rtol=1e-5, atol=1e-5)
    assert stored.prompt_id == "file:mine.txt"
    # Same text under the shipped name would be a different key: the default prompt differs.
    assert cache_path(3, 64, "default") != path


# ---- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("layer", [-1, 30, 100, 2.0, "3", True])
def test_bad_layer_is_a_clear_error(layer):
    with pytest.raises(UserError, match=r"0\.\.29"):
        load_qkv(layer, 64)


@pytest.mark.parametrize("n", [0, -5, MAX_TOKENS + 1, 1.5, "64"])
def test_bad_n_tokens_is_a_clear_error(n):
    with pytest.raises(UserError, match="n_tokens"):
        prompt_tokens("default", n)
    with pytest.raises(UserError):
        load_qkv(0, n)


def test_bad_prompts_are_clear_errors(tmp_path):
    with pytest.raises(UserError, match="shipped prompts: default"):
        prompt_tokens("no-such-prompt", 64)
    with pytest.raises(UserError, match="does not exist"):
        prompt_tokens(tmp_path / "absent.txt", 64)
    short = tmp_path / "short.txt"
    short.write_text("Only a few words here.", encoding="utf-8")
    with pytest.raises(UserError, match=r"has only \d+ tokens, 64 requested"):
        prompt_tokens(short, 64)
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes([0xff, 0xfe, 0x80]) * 10)
    with pytest.raises(UserError, match="UTF-8"):
        prompt_tokens(binary, 4)


def test_cli_bad_layer_is_one_line(capsys):
    assert cli_main(["capture", "--tokens", "64", "--layer", "30"]) == 2
    err = capsys.readouterr().err
    assert "0..29" in err and "Traceback" not in err


def test_bad_token_tensor(model):
    with pytest.raises(ValueError, match="1-D integer"):
        model.forward(torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="token ids"):
        model.forward(torch.tensor([0, 49152]))
    with pytest.raises(UserError, match="token count"):
        model.forward(torch.zeros(0, dtype=torch.long))
