"""The host driver of ``fast_prefill_top``: quantise, lay out, program, start, wait, read back.

Public API
    Accelerator(cfg, transport, base=0x10000)
        plan(q, k, v, sparsity=None) -> Job          host side only: quantised inputs, memory
                                                    images, register values (no transport use)
        await execute(job, max_cycles=None) -> Raw   write memory + registers, start, wait for
                                                    done (interrupt if the transport has one,
                                                    else polling ap_done), read status, O, the
                                                    index sets and the counters
        decode(job, raw) -> RunResult                 O as int and float, sets, counters; raises
                                                    AcceleratorError on a non-zero status code
        await run(q, k, v, sparsity=None) -> RunResult   the three in a row
    AcceleratorError(code, text)                      the status code and its STATUS_CODES text
    registers_for(cfg, layout, addrs, sparsity) -> {name: value}

Quantisation: ``golden.fixed_attention.quantize_attention_inputs`` (int8 Q / K with per-(head,
block) codes, Q's codes carrying log2(e)/sqrt(D); K centred and the Q/K channels smoothed; V
int8 with a per-channel scale).  The index generator reads the same Q and K buffers, so the
golden pattern of a run is ``golden.estimator_fixed.estimate_pattern_fixed(inputs.q, inputs.k,
cfg, sparsity)`` (the pooled per-row estimate included when ``row_gamma`` > 0): ``quantize_estimator_inputs`` quantises the raw tensors
without centring and smoothing, which would need a second copy of Q and K in HBM for no change
in the softmax (centring adds a constant per row; smoothing keeps every dot product).

Memory map (from ``base``, each buffer on a 4 KiB boundary): Q, K, V, scale codes, O, index
sets, laid out as ``hdl.top.shell.Layout`` describes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from hdl.top import shell
from hdl.config import AcceleratorConfig, ConfigError, SparsityConfig

#: the order of the buffers in the memory map and their m_axi bundle (for write_mem / read_mem)
BUFFERS = (("q", "q"), ("k", "kv"), ("v", "kv"), ("scale", "q"), ("o", "o"), ("idx", "o"))


class AcceleratorError(RuntimeError):
    """The accelerator finished with a non-zero status code."""

    def __init__(self, code: int, flags: int = 0):
        self.code = code
        self.flags = flags
        text = shell.STATUS_CODES.get(code, "unknown status code")
        super().__init__(f"accelerator status {code}: {text}")


@dataclass
class Job:
    """Everything the host prepared for one run (see :meth:`Accelerator.plan`)."""

    inputs: object                   # golden.fixed_attention.FixedAttentionInputs
    sparsity: SparsityConfig
    layout: shell.Layout
    addrs: dict                      # buffer name -> byte address
    images: list                     # (bundle, addr, bytes) to write before the start
    regs: dict                       # argument register name -> value


@dataclass
class Raw:
    """What :meth:`Accelerator.execute` read back."""

    status: int
    flags: int
    counters: dict
    o_bytes: bytes
    idx_bytes: bytes
    wall_s: float
    interrupt: bool


@dataclass
class RunResult:
    """One run's results.

    o_int [H, L, D] int64 (``o_frac_bits`` fractional bits, units of V's int8 code), o_float
    [H, L, D] float32 (V's per-channel scale applied), vertical / slash per head (ascending),
    counters (every ``cnt_*`` register), status and the start-while-busy flag.
    """

    o_int: object
    o_float: object
    vertical: list
    slash: list
    counters: dict
    status: int
    flags: int
    job: Job = field(repr=False)
    wall_s: float = 0.0


def registers_for(cfg: AcceleratorConfig, lay: shell.Layout, addrs: dict, sp: SparsityConfig) -> dict:
    """Argument register values for a run (``hdl.top.shell`` register names)."""
    from golden.estimator_fixed import EstimatorParams, gamma_code
    gb = EstimatorParams().gamma_bits
    # row_gamma 0 turns the pooled per-row estimate off (register 0); else its golden code
    row_code = gamma_code(sp.row_gamma, gb) if sp.row_gamma > 0 else 0
    return {"q_addr": addrs["q"], "k_addr": addrs["k"], "v_addr": addrs["v"], "o_addr": addrs["o"],
            "scale_addr": addrs["scale"], "idx_addr": addrs["idx"], "seq_len": lay.seq_len,
            "n_heads": lay.n_heads, "n_kv_heads": lay.n_kv_heads, "sel_mode": int(sp.mode == "topk"),
            "gamma_code": gamma_code(sp.gamma, gb), "row_gamma_code": row_code, "min_budget": sp.min_budget,
            "max_budget": sp.max_budget, "topk_vertical": sp.topk_vertical, "topk_slash": sp.topk_slash,
            "local_window": sp.local_window}


class Accelerator:
    """One ``fast_prefill_top`` instance behind a :class:`~host.transport.Transport`."""

    def __init__(self, cfg: AcceleratorConfig, transport, base: int = 0x10000):
        if not isinstance(cfg, AcceleratorConfig):
            raise ConfigError(f"cfg: expected an AcceleratorConfig, got {type(cfg).__name__}")
        if base < 0 or base % 4096:
            raise ValueError(f"base: must be a non-negative multiple of 4096, got {base:#x}")
        self.cfg = cfg
        self.transport = transport
        self.base = base

    # ------------------------------------------------------------------ host side
    def plan(self, q, k, v, sparsity: SparsityConfig | None = None) -> Job:
        """Quantise q [H, L, D], k and v [Hkv, L, D] (float, post-RoPE), lay them out and
        compute the register values.  ``sparsity`` defaults to cfg.sparsity (row_gamma on)."""
        import torch

        from golden.fixed_attention import quantize_attention_inputs
        cfg = self.cfg
        sp = cfg.sparsity if sparsity is None else sparsity
        if not isinstance(sp, SparsityConfig):
            raise ValueError("sparsity must be a SparsityConfig")
        fi = quantize_attention_inputs(q, k, v, cfg)
        H, Hkv, L, D = fi.shape
        lay = shell.layout(cfg, L, H, Hkv)
        sizes = {"q": lay.q_bytes, "k": lay.kv_bytes, "v": lay.kv_bytes, "scale": lay.scale_bytes,
                 "o": lay.o_bytes, "idx": lay.idx_bytes}
        addrs, at = {}, self.base
        for name, _ in BUFFERS:
            addrs[name] = at
            at += -(-sizes[name] // 4096) * 4096
        pad = lay.nb * cfg.block - L

        def rows(t):
            return torch.nn.functional.pad(t.to(torch.int8), (0, 0, 0, pad)).contiguous().numpy().tobytes()
        codes = torch.zeros(Hkv + H, lay.nbp, dtype=torch.int64)
        for r, qt in ((slice(0, Hkv), fi.k), (slice(Hkv, Hkv + H), fi.q)):
            codes[r, :lay.nb] = (qt.scale_mant & 0xFFFF) | ((qt.scale_exp & 0xFFFF) << 16)
        images = [("q", addrs["q"], rows(fi.q.values)), ("kv", addrs["k"], rows(fi.k.values)),
                  ("kv", addrs["v"], rows(fi.v)),
                  ("q", addrs["scale"], codes.numpy().astype("<u4").tobytes())]
        return Job(inputs=fi, sparsity=sp, layout=lay, addrs=addrs, images=images,
                   regs=registers_for(cfg, lay, addrs, sp))

    # ------------------------------------------------------------------ device side
    async def write_args(self, regs: dict) -> None:
        t = self.transport
        for name, value in regs.items():
            reg = shell.register(name)
            if reg.access != "rw":
                raise ValueError(f"register {name} is not an argument")
            if not 0 <= value < (1 << reg.bits):
                raise ValueError(f"register {name}: {value} does not fit {reg.bits} bits")
            for i in range(reg.bits // 32):
                await t.write_reg(reg.offset + 4 * i, (value >> (32 * i)) & 0xFFFFFFFF)

    async def read_reg(self, name: str) -> int:
        reg = shell.register(name)
        value = 0
        for i in range(reg.bits // 32):
            value |= await self.transport.read_reg(reg.offset + 4 * i) << (32 * i)
        return value

    async def start(self, use_interrupt: bool | None = None) -> bool:
        """Arm the interrupt (when used) and set ap_start; returns whether the interrupt is used."""
        t = self.transport
        irq = t.has_interrupt if use_interrupt is None else use_interrupt
        if irq:
            # a done of an earlier (polled) run may still sit in ISR: toggle it off first
            isr = await t.read_reg(shell.register("isr").offset)
            if isr & 3:
                await t.write_reg(shell.register("isr").offset, isr & 3)
            await t.write_reg(shell.register("ier").offset, 1)
            await t.write_reg(shell.register("gie").offset, 1)
        await t.write_reg(shell.register("ap_ctrl").offset, shell.AP_START)
        return irq

    async def wait_done(self, irq: bool, max_cycles: int, poll: int = 64) -> None:
        """Wait for ap_done (interrupt, then clear ISR; or polling); TimeoutError after max_cycles."""
        t = self.transport
        ctrl = shell.register("ap_ctrl").offset
        if irq:
            if not await t.wait_interrupt(max_cycles):
                raise TimeoutError(f"no interrupt within {max_cycles} cycles")
            isr = await t.read_reg(shell.register("isr").offset)
            await t.write_reg(shell.register("isr").offset, isr & 1)      # toggle: clears it
            if not (await t.read_reg(ctrl)) & shell.AP_DONE:               # (the read clears ap_done)
                raise RuntimeError("interrupt without ap_done")
            return
        waited = 0
        while not (await t.read_reg(ctrl)) & shell.AP_DONE:
            if waited > max_cycles:
                raise TimeoutError(f"ap_done not set within {max_cycles} cycles")
            await t.idle(poll)
            waited += poll

    async def execute(self, job: Job, max_cycles: int | None = None, use_interrupt: bool | None = None,
                      read_outputs: bool = True) -> Raw:
        """Write the images and arguments, start, wait for done, read back (see the module doc)."""
        t = self.transport
        lay = job.layout
        for bundle, addr, data in job.images:
            await t.write_mem(bundle, addr, data)
        await self.write_args(job.regs)
        limit = max_cycles or 200 * lay.seq_len * max(1, lay.n_kv_heads) + 20000
        t0 = time.perf_counter()
        irq = await self.start(use_interrupt)
        await self.wait_done(irq, limit)
        wall = time.perf_counter() - t0
        st = await self.read_reg("status")
        counters = {r.name: await self.read_reg(r.name) for r in shell.registers() if r.name.startswith("cnt_")}
        o = idx = b""
        if read_outputs and (st & 0xFF) == 0:
            o = await t.read_mem("o", job.addrs["o"], lay.o_bytes)
            idx = await t.read_mem("o", job.addrs["idx"], lay.idx_bytes)
        return Raw(status=st & 0xFF, flags=st & ~0xFF, counters=counters, o_bytes=o, idx_bytes=idx,
                   wall_s=wall, interrupt=irq)

    def decode(self, job: Job, raw: Raw) -> RunResult:
        """O and the index sets from the raw bytes; AcceleratorError on a non-zero status."""
        import numpy as np
        import torch
        if raw.status:
            raise AcceleratorError(raw.status, raw.flags)
        cfg, lay, fi = self.cfg, job.layout, job.inputs
        H, Hkv, L, D = fi.shape
        g = H // Hkv
        o = torch.from_numpy(np.frombuffer(raw.o_bytes, dtype="<i4").astype(np.int64))
        o_int = o.view(H, lay.nb * cfg.block, D)[:, :L].contiguous()
        scale = fi.v_scale[torch.arange(H) // g][:, None, :] * 2.0 ** -cfg.o_frac_bits
        o_float = (o_int.double() * scale).float()
        words = np.frombuffer(raw.idx_bytes, dtype="<u4").astype(np.int64)
        per = lay.idx_head_bytes // 4
        vertical, slash = [], []
        for h in range(H):
            w = words[h * per:(h + 1) * per]
            nv, ns = int(w[0]), int(w[1])
            if nv > lay.nb or ns > lay.nb:
                raise ValueError(f"index sets of head {h}: sizes {nv}, {ns} exceed nb = {lay.nb}")
            hdr = lay.idx_header_words
            vertical.append([int(x) for x in w[hdr:hdr + nv]])
            slash.append([int(x) for x in w[hdr + lay.nbp:hdr + lay.nbp + ns]])
        return RunResult(o_int=o_int, o_float=o_float, vertical=vertical, slash=slash,
                         counters=raw.counters, status=raw.status, flags=raw.flags, job=job,
                         wall_s=raw.wall_s)

    async def run(self, q, k, v, sparsity: SparsityConfig | None = None) -> RunResult:
        job = self.plan(q, k, v, sparsity)
        return self.decode(job, await self.execute(job))
