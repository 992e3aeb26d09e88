"""AXI4-Lite control slave of ``fast_prefill_top``: the ``ap_ctrl_hs`` block, the argument
registers and the read-only status / counters, generated from ``hdl.top.shell.registers()``.

Behaviour (what the host driver and Vitis' XRT expect):

* 0x00 ``ap_ctrl``: bit 0 ``ap_start`` is set by a host write of 1 and cleared by the kernel
  when it accepts the start (``accept`` pulse); bit 1 ``ap_done`` is set at the end of a run
  (``done`` pulse) and cleared when the host reads 0x00; bit 2 ``ap_idle`` is ``not busy``;
  bit 3 ``ap_ready`` is set when the kernel accepts a start and cleared when 0x00 is read.
  Bit 7 (auto-restart) is not implemented: it reads 0 and writing it has no effect.
  Writing ap_start = 1 while a run is in progress (``busy``) or a start is pending is ignored
  and raises the sticky ``start_while_busy`` flag (status bit 31), cleared by the next accepted
  start.
* 0x04 GIE (bit 0), 0x08 IER (bits 1:0: done, ready), 0x0C ISR (bits 1:0): an ISR bit is set by
  its event when the matching IER bit is 1; writing 1 to an ISR bit toggles it (Xilinx
  convention).  ``interrupt = GIE and (IER & ISR) != 0``.
* argument registers (``access == "rw"``): 32 bits per word, 64-bit arguments as two words (low
  word first); byte strobes honoured; every argument reads back what was written; reset to 0.
* read-only registers (``access == "ro"``): the value of the signal given for them in ``ro``;
  writes are ignored.
* an address that holds no register reads 0 with an OKAY response; a write there is ignored
  (OKAY as well: AXI4-Lite slaves in Vitis never answer SLVERR).  Address bits 1:0 are ignored.

One write and one read at a time: ``awready`` takes the address, ``wready`` then takes the data,
the response follows one cycle later; a read answers one cycle after its address.

Ports (``clk`` rising edge, ``rst`` synchronous active high, a ``ResetSignal``)
    s_axi_control_* (awvalid, awready, awaddr [8], wvalid, wready, wdata [32], wstrb [4],
        bvalid, bready, bresp [2], arvalid, arready, araddr [8], rvalid, rready, rdata [32],
        rresp [2])      the AXI4-Lite slave, as ``hdl.top.shell.s_axi_control_signals``
    ap_start [out]      level: a start is pending
    accept [in]         pulse: the kernel took the pending start (clears ap_start)
    done [in]           pulse: the run ended (sets ap_done)
    busy [in]           a run is in progress (ap_idle = not busy)
    interrupt [out]     level interrupt
Parameters: ``words`` ({name: [32-bit word Signals, low first]} from :func:`arg_signals`, driven
here, for every ``rw`` register; :func:`arg_values` gives the argument values), ``ro`` ({name:
Signal} for every ``ro`` register, as wide as the register, except ``status``: the 8-bit error
code; its bit 31 is the start-while-busy flag kept here).
"""

from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, always_seq, block, intbv

from hdl.top.shell import AP_DONE, AP_IDLE, AP_READY, AP_START, CTRL_ADDR_BITS, CTRL_DATA_BITS, registers


def arg_signals() -> dict:
    """Fresh word signals for every argument register: {name: [word Signals, low first]}."""
    return {r.name: [Signal(intbv(0)[32:]) for _ in range(r.bits // 32)]
            for r in registers() if r.access == "rw"}


def arg_values(words: dict) -> dict:
    """{name: value Signal}: the word itself (32 bits) or a ConcatSignal(high, low) (64 bits)."""
    return {n: (w[0] if len(w) == 1 else ConcatSignal(w[1], w[0])) for n, w in words.items()}


@block
def _arg_word(clk, rst, write, waddr, wdata, wmask, word, index):
    """One 32-bit argument word at word address ``index``."""
    @always_seq(clk.posedge, reset=rst)
    def seq():
        if write and waddr == index:
            word.next = (word & ~wmask) | (wdata & wmask)
    return seq


@block
def top_ctrl(clk, rst,
             s_axi_control_awvalid, s_axi_control_awready, s_axi_control_awaddr,
             s_axi_control_wvalid, s_axi_control_wready, s_axi_control_wdata, s_axi_control_wstrb,
             s_axi_control_bvalid, s_axi_control_bready, s_axi_control_bresp,
             s_axi_control_arvalid, s_axi_control_arready, s_axi_control_araddr,
             s_axi_control_rvalid, s_axi_control_rready, s_axi_control_rdata, s_axi_control_rresp,
             ap_start, accept, done, busy, interrupt, words, ro):
    N_WORDS = 1 << (CTRL_ADDR_BITS - 2)
    WORD_ADDR_BITS = CTRL_ADDR_BITS - 2
    regs = registers()
    ro_names = {r.name for r in regs if r.access == "ro"}
    if set(ro) != ro_names:
        raise ValueError(f"top_ctrl: ro signals {sorted(set(ro) ^ ro_names)} missing or unknown")
    if set(words) != {r.name for r in regs if r.access == "rw"}:
        raise ValueError("top_ctrl: words must come from arg_signals()")

    b = lambda: Signal(bool(0))  # noqa: E731
    ctrl_w, gie_w, ier_w, isr_w, status_w = (Signal(intbv(0)[32:]) for _ in range(5))
    r_start, r_done, r_ready, r_gie, r_sbusy = b(), b(), b(), b(), b()
    r_ier, r_isr = Signal(intbv(0)[2:]), Signal(intbv(0)[2:])
    aw_got = b()
    waddr = Signal(intbv(0)[WORD_ADDR_BITS:])
    write = b()
    wmask = Signal(intbv(0)[32:])
    b_valid, r_valid = b(), b()
    r_data = Signal(intbv(0)[32:])

    # the read map: one 32-bit source per word address (zero where no register lives)
    zero = Signal(intbv(0)[32:])
    read_map = [zero] * N_WORDS
    insts = []
    for r in regs:
        first_word = r.offset // 4
        if r.access == "ctrl":
            read_map[first_word] = {"ap_ctrl": ctrl_w, "gie": gie_w, "ier": ier_w, "isr": isr_w}[r.name]
        elif r.access == "rw":
            for i, word in enumerate(words[r.name]):
                read_map[first_word + i] = word
                insts.append(_arg_word(clk, rst, write, waddr, s_axi_control_wdata, wmask, word, first_word + i))
        else:
            sig = status_w if r.name == "status" else ro[r.name]
            if r.name == "status" and len(ro[r.name]) != 8:
                raise ValueError("top_ctrl: the status code signal has 8 bits")
            if len(sig) != r.bits:
                raise ValueError(f"top_ctrl: ro signal {r.name} has {len(sig)} bits, register {r.bits}")
            if r.bits == 32:
                read_map[first_word] = sig
            else:
                read_map[first_word], read_map[first_word + 1] = sig(32, 0), sig(64, 32)
    read_map_cat = ConcatSignal(*reversed(read_map))
    status_in = ro["status"]
    W_CTRL, W_GIE, W_IER, W_ISR = 0, 1, 2, 3
    B_START, B_DONE, B_IDLE, B_READY = (x.bit_length() - 1 for x in (AP_START, AP_DONE, AP_IDLE, AP_READY))

    @always_comb
    def words_comb():
        c = intbv(0)[32:]
        c[B_START] = r_start
        c[B_DONE] = r_done
        c[B_IDLE] = not busy
        c[B_READY] = r_ready
        ctrl_w.next = c
        gie_w.next = r_gie
        ier_w.next = r_ier
        isr_w.next = r_isr
        s = intbv(0)[32:]
        s[8:] = status_in
        s[31] = r_sbusy
        status_w.next = s

    @always_comb
    def outs():
        s_axi_control_awready.next = not aw_got
        s_axi_control_wready.next = aw_got and not b_valid
        s_axi_control_bvalid.next = b_valid
        s_axi_control_bresp.next = 0
        s_axi_control_arready.next = not r_valid
        s_axi_control_rvalid.next = r_valid
        s_axi_control_rdata.next = r_data
        s_axi_control_rresp.next = 0
        write.next = s_axi_control_wvalid and aw_got and not b_valid
        ap_start.next = r_start
        interrupt.next = r_gie and (r_ier & r_isr) != 0

    @always_comb
    def mask():
        m = intbv(0)[32:]
        for i in range(4):
            if s_axi_control_wstrb[i]:
                m[:] = m | (0xFF << (8 * i))   # (a loop-variable part-select does not convert)
        wmask.next = m

    @always_seq(clk.posedge, reset=rst)
    def write_side():
        if s_axi_control_awvalid and not aw_got:
            aw_got.next = 1
        if write:
            b_valid.next = 1
        if b_valid and s_axi_control_bready:
            b_valid.next = 0
            aw_got.next = 0

    @always(clk.posedge)
    def write_address():
        # no reset: it holds through one (it is read only while aw_got, which the reset clears)
        if not rst and s_axi_control_awvalid and not aw_got:
            waddr.next = s_axi_control_awaddr[CTRL_ADDR_BITS:2]

    @always_seq(clk.posedge, reset=rst)
    def read_side():
        if s_axi_control_arvalid and not r_valid:
            r_valid.next = 1
            r_data.next = (read_map_cat >> (CTRL_DATA_BITS * s_axi_control_araddr[CTRL_ADDR_BITS:2])) & 0xFFFFFFFF
        elif r_valid and s_axi_control_rready:
            r_valid.next = 0

    @always_seq(clk.posedge, reset=rst)
    def control():
        ctrl_read = s_axi_control_arvalid and not r_valid and s_axi_control_araddr[CTRL_ADDR_BITS:2] == W_CTRL
        # ap_start: host sets, kernel clears on accept; a start while busy is only flagged
        if accept:
            r_start.next = 0
            r_sbusy.next = 0
        elif write and waddr == W_CTRL and s_axi_control_wstrb[0] and s_axi_control_wdata[0]:
            if busy or r_start:
                r_sbusy.next = 1
            else:
                r_start.next = 1
        # ap_done / ap_ready: set by the events, cleared by a read of 0x00
        if done:
            r_done.next = 1
        elif ctrl_read:
            r_done.next = 0
        if accept:
            r_ready.next = 1
        elif ctrl_read:
            r_ready.next = 0
        if write and waddr == W_GIE and s_axi_control_wstrb[0]:
            r_gie.next = s_axi_control_wdata[0]
        if write and waddr == W_IER and s_axi_control_wstrb[0]:
            r_ier.next = s_axi_control_wdata[2:0]
        isr = intbv(0)[2:]
        isr[:] = r_isr
        if write and waddr == W_ISR and s_axi_control_wstrb[0]:
            isr[:] = isr ^ s_axi_control_wdata[2:0]
        if done and r_ier[0]:
            isr[0] = 1
        if accept and r_ier[1]:
            isr[1] = 1
        r_isr.next = isr

    return insts, words_comb, outs, mask, write_side, write_address, read_side, control
