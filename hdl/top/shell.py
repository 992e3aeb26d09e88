"""The contract of the accelerator's shell: register map, memory layout, AXI ports.

One source of truth for everything that talks to ``fast_prefill_top``: the RTL's
AXI4-Lite slave, the host driver, the Vitis kernel description and the Vivado
scripts in ``fpga/`` all read this module.  It imports nothing heavy.

Register map (``s_axi_control``, 32-bit data, ``CTRL_ADDR_BITS`` address bits),
``ap_ctrl_hs`` layout at 0x00-0x0C as Vitis expects, then the arguments (64-bit
ones as two words, low word first), then read-only status and counters.

Memory layout (all int8 tensors row-major, rows past L zero-padded up to a whole
block, every base address aligned to the AXI bus width):

* Q ``[H, nb*B, D]`` int8, K and V ``[Hkv, nb*B, D]`` int8.
* scale codes: K codes ``[Hkv, nbp]`` then Q codes ``[H, nbp]``, one 32-bit word
  each (mantissa bits 15:0, signed exponent bits 31:16, ``golden.quant``), ``nbp`` =
  nb rounded up to a whole bus word of codes.
* O ``[H, nb*B, D]`` int32: ``o_frac_bits`` fractional bits, in units of V's int8 code
  (the host applies V's per-channel scale).
* index sets: per head ``idx_header_words(bus bytes)`` 32-bit words (``IDX_HEADER_WORDS``,
  or one whole bus beat on a wider bus: 16 at 512 bits; word 0 = vertical count, word 1 =
  slash count, the rest zero), then the ascending vertical blocks ``[nbp]`` and the
  ascending slash offsets ``[nbp]`` as 32-bit words.
"""

from __future__ import annotations

from dataclasses import dataclass

from hdl.config import AcceleratorConfig, num_blocks

CTRL_ADDR_BITS = 8
CTRL_DATA_BITS = 32
IDX_HEADER_WORDS = 8


def idx_header_words(bus_bytes: int) -> int:
    """32-bit words of one head's index-set header: ``IDX_HEADER_WORDS``, or one bus beat when
    a beat holds more (the dump writes whole beats and the entries start on a beat)."""
    return max(IDX_HEADER_WORDS, bus_bytes // 4)


# ap_ctrl_hs bits of register 0x00
AP_START, AP_DONE, AP_IDLE, AP_READY = 0x1, 0x2, 0x4, 0x8
AP_AUTO_RESTART = 0x80

# the m_axi bundles of the top: name -> (direction, what travels on it)
M_AXI_PORTS: dict[str, tuple[str, str]] = {
    "q": ("read", "Q blocks of every head for the attention engines, scale codes"),
    "idx": ("read", "index generator: Q_last of the group's heads, K (two passes)"),
    "kv": ("read", "KV cache misses: K and V blocks"),
    "o": ("write", "O rows and the index sets"),
}

# status register: error code in bits 7:0 (first error wins), flags above
STATUS_OK = 0
STATUS_CODES: dict[int, str] = {
    0: "ok",
    1: "L = 0",
    2: "L larger than max_seq_len (index memory)",
    3: "H not a positive multiple of Hkv, or H/Hkv larger than max_group",
    4: "a base address not aligned to the AXI bus width",
    5: "overlapping buffers (O or index region overlaps another buffer)",
    6: "bad selection settings (gamma or row_gamma code out of range, budgets, top-k, window)",
    7: "AXI error response on m_axi_q",
    8: "AXI error response on m_axi_idx",
    9: "AXI error response on m_axi_kv",
    10: "AXI error response on m_axi_o",
    11: "internal error (a unit reported an error the argument checks should have excluded)",
}
STATUS_START_WHILE_BUSY = 1 << 31   # sticky until the next accepted start


@dataclass(frozen=True)
class Register:
    name: str
    offset: int
    bits: int          # 32 or 64 (two words, low first)
    access: str        # "rw" argument, "ro" status/counter, "ctrl" ap_ctrl_hs block
    doc: str


_CTRL = (
    ("ap_ctrl", 32, "ctrl", "bit 0 ap_start, 1 ap_done (clear on read), 2 ap_idle, 3 ap_ready"),
    ("gie", 32, "ctrl", "global interrupt enable (bit 0)"),
    ("ier", 32, "ctrl", "interrupt enable: bit 0 done, bit 1 ready"),
    ("isr", 32, "ctrl", "interrupt status: bit 0 done, bit 1 ready (write 1 to toggle)"),
)
_ARGS = (
    ("q_addr", 64, "Q base address"),
    ("k_addr", 64, "K base address"),
    ("v_addr", 64, "V base address"),
    ("o_addr", 64, "O base address"),
    ("scale_addr", 64, "scale-code table base address"),
    ("idx_addr", 64, "index-set output base address"),
    ("seq_len", 32, "L, tokens"),
    ("n_heads", 32, "H, query heads"),
    ("n_kv_heads", 32, "Hkv, KV heads"),
    ("sel_mode", 32, "0 coverage, 1 top-k"),
    ("gamma_code", 32, "coverage gamma code, 1..2**16 (golden.estimator_fixed.gamma_code)"),
    ("row_gamma_code", 32, "pooled per-row coverage code, 0 = off"),
    ("min_budget", 32, "fewest vertical blocks / slash offsets"),
    ("max_budget", 32, "most vertical blocks / slash offsets, 0 = no limit"),
    ("topk_vertical", 32, "top-k mode: vertical count"),
    ("topk_slash", 32, "top-k mode: slash count"),
    ("local_window", 32, "block diagonals always kept, >= 1"),
)
_STATUS = (
    ("status", 32, "error code (bits 7:0, see STATUS_CODES), bit 31 start while busy"),
    ("hw_block", 32, "B of the build"),
    ("hw_head_dim", 32, "D of the build"),
    ("hw_max_group", 32, "largest H/Hkv of the build"),
    ("hw_max_seq_len", 32, "largest L of the build"),
    ("cnt_cycles", 64, "cycles from start to done"),
    ("cnt_sig_cycles", 64, "cycles the index generator was busy"),
    ("cnt_attn_cycles", 64, "cycles the attention datapath was busy"),
    ("cnt_rd_bytes", 64, "HBM bytes read, all ports"),
    ("cnt_wr_bytes", 64, "HBM bytes written"),
    ("cnt_kv_bytes", 64, "HBM bytes read by the KV cache"),
    ("cnt_hit1", 32, "cache hits in tier 1"),
    ("cnt_hit2", 32, "cache hits in tier 2"),
    ("cnt_miss", 32, "cache misses"),
    ("cnt_tiles", 32, "(head, query block, key block) tiles computed"),
)


def registers() -> tuple[Register, ...]:
    """Every register, in address order."""
    regs = []
    offset = 0
    for name, bits, access, doc in _CTRL:
        regs.append(Register(name, offset, bits, access, doc))
        offset += 4
    for group, access in ((_ARGS, "rw"), (_STATUS, "ro")):
        for name, bits, doc in group:
            regs.append(Register(name, offset, bits, access, doc))
            offset += bits // 8
    assert offset <= 1 << CTRL_ADDR_BITS, "register map larger than the address space"
    return tuple(regs)


def register(name: str) -> Register:
    for reg in registers():
        if reg.name == name:
            return reg
    raise KeyError(f"no register named {name!r}")


@dataclass(frozen=True)
class Layout:
    """Byte sizes and strides of every buffer for one run (see the module docstring)."""

    seq_len: int
    n_heads: int
    n_kv_heads: int
    block: int
    head_dim: int
    bus_bytes: int

    @property
    def nb(self) -> int:
        return num_blocks(self.seq_len, self.block)

    @property
    def nbp(self) -> int:
        per_word = self.bus_bytes // 4
        return -(-self.nb // per_word) * per_word

    @property
    def head_bytes(self) -> int:
        """Bytes of one head of Q, K or V (nb*B rows of D int8)."""
        return self.nb * self.block * self.head_dim

    @property
    def q_bytes(self) -> int:
        return self.n_heads * self.head_bytes

    @property
    def kv_bytes(self) -> int:
        return self.n_kv_heads * self.head_bytes

    @property
    def o_head_bytes(self) -> int:
        return 4 * self.head_bytes

    @property
    def o_bytes(self) -> int:
        return self.n_heads * self.o_head_bytes

    @property
    def scale_bytes(self) -> int:
        return 4 * self.nbp * (self.n_kv_heads + self.n_heads)

    def k_code_offset(self, kv_head: int, block: int) -> int:
        return 4 * (kv_head * self.nbp + block)

    def q_code_offset(self, head: int, block: int) -> int:
        return 4 * ((self.n_kv_heads + head) * self.nbp + block)

    @property
    def idx_header_words(self) -> int:
        return idx_header_words(self.bus_bytes)

    @property
    def idx_head_bytes(self) -> int:
        return 4 * (self.idx_header_words + 2 * self.nbp)

    @property
    def idx_bytes(self) -> int:
        return self.n_heads * self.idx_head_bytes


def layout(cfg: AcceleratorConfig, seq_len: int, n_heads: int, n_kv_heads: int) -> Layout:
    return Layout(seq_len, n_heads, n_kv_heads, cfg.block, cfg.head_dim, cfg.axi_bytes)


def m_axi_signals(cfg: AcceleratorConfig) -> list[tuple[str, str, int]]:
    """(suffix, direction seen from the kernel, width) of every signal of one m_axi bundle.

    Every bundle carries all five AXI4 channels (Vitis packages them as full AXI4
    masters); a read-only bundle ties its write channels off and vice versa.
    """
    a, d = cfg.axi_addr_bits, cfg.axi_data_bits
    return [
        ("awvalid", "out", 1), ("awready", "in", 1), ("awaddr", "out", a), ("awid", "out", 1),
        ("awlen", "out", 8), ("awsize", "out", 3), ("awburst", "out", 2),
        ("wvalid", "out", 1), ("wready", "in", 1), ("wdata", "out", d), ("wstrb", "out", d // 8),
        ("wlast", "out", 1),
        ("bvalid", "in", 1), ("bready", "out", 1), ("bresp", "in", 2), ("bid", "in", 1),
        ("arvalid", "out", 1), ("arready", "in", 1), ("araddr", "out", a), ("arid", "out", 1),
        ("arlen", "out", 8), ("arsize", "out", 3), ("arburst", "out", 2),
        ("rvalid", "in", 1), ("rready", "out", 1), ("rdata", "in", d), ("rresp", "in", 2),
        ("rlast", "in", 1), ("rid", "in", 1),
    ]


def s_axi_control_signals() -> list[tuple[str, str, int]]:
    """(suffix, direction seen from the kernel, width) of the AXI4-Lite control slave."""
    a, d = CTRL_ADDR_BITS, CTRL_DATA_BITS
    return [
        ("awvalid", "in", 1), ("awready", "out", 1), ("awaddr", "in", a),
        ("wvalid", "in", 1), ("wready", "out", 1), ("wdata", "in", d), ("wstrb", "in", d // 8),
        ("bvalid", "out", 1), ("bready", "in", 1), ("bresp", "out", 2),
        ("arvalid", "in", 1), ("arready", "out", 1), ("araddr", "in", a),
        ("rvalid", "out", 1), ("rready", "in", 1), ("rdata", "out", d), ("rresp", "out", 2),
    ]


def top_ports(cfg: AcceleratorConfig) -> list[tuple[str, str, int]]:
    """Every port of ``fast_prefill_top``: (name, direction, width)."""
    ports = [("ap_clk", "in", 1), ("ap_rst_n", "in", 1), ("interrupt", "out", 1)]
    ports += [(f"s_axi_control_{s}", dr, w) for s, dr, w in s_axi_control_signals()]
    for bundle in M_AXI_PORTS:
        ports += [(f"m_axi_{bundle}_{s}", dr, w) for s, dr, w in m_axi_signals(cfg)]
    return ports
