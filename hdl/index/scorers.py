"""Score array of the index generator (hdl/index/sig.py): one MPU per query head, in QK mode.

Each head's ``Q_last`` rows stay resident in its MPU (hdl/mpu/mpu.py); every key row goes to
all MPUs at once (a row moves when every MPU takes it), and each MPU gives one score column per
key row.  The PV side of the MPUs is unused: any PV output is a fault.

Ports (``clk`` rising edge, ``rst`` synchronous, a ``ResetSignal``)
    k_valid, k_ready, k_data [8D]          key rows (valid/ready)
    q_ld_valid, q_ld_head, q_ld_row, q_ld_data [8D]   write Q_last row q_ld_row of head
                                           q_ld_head (always accepted)
    s_data                                 list of max_group score columns [SW*B] (row i at
                                           bits [SW*(i+1)-1 : SW*i])
    col_v                                  the score columns are valid (one cycle per key row)
    pv_fault                               an MPU produced a PV-mode output, or Q was loaded
                                           while an MPU was busy (never expected)
Parameters: ``cfg``; ``mpu_buses`` (optional): one ``hdl.mpu.share.mpu_bus`` per head, the
MPUs then live outside (the top shares them with the attention engines).
"""

from __future__ import annotations

from myhdl import ConcatSignal, Signal, always_comb, block, intbv

from hdl.index.params import sig_widths
from hdl.mpu.mpu import mpu, row_bits
from hdl.mpu.share import mpu_socket
from hdl.mpu.mpu import widths as mpu_widths


def _cat(sigs: list) -> Signal:
    return ConcatSignal(*sigs) if len(sigs) > 1 else sigs[0]


@block
def sig_scorers(clk, rst, k_valid, k_ready, k_data, q_ld_valid, q_ld_head, q_ld_row, q_ld_data,
                s_data, col_v, pv_fault, cfg, mpu_buses=None):
    w = sig_widths(cfg)
    mw = mpu_widths(cfg)
    B, D, heads = w["B"], w["D"], w["G"]
    all_heads = (1 << heads) - 1
    b = lambda: Signal(bool(0))  # noqa: E731

    def bits(n: int) -> Signal:
        return Signal(intbv(0)[n:])

    in_ready = [b() for _ in range(heads)]
    ld_valid = [b() for _ in range(heads)]
    s_valid = [b() for _ in range(heads)]
    s_last = [b() for _ in range(heads)]
    t_valid = [b() for _ in range(heads)]
    t_data = [bits(mw["TW"] * D) for _ in range(heads)]
    t_row = [bits(row_bits(B)) for _ in range(heads)]
    t_last = [b() for _ in range(heads)]
    m_idle = [b() for _ in range(heads)]
    zero_p = bits(mw["p_bits"] * B)
    mode_qk, no_last, s_ready, no_t_ready = b(), b(), b(), b()
    no_vl, no_bank, no_vl_row, no_vl_data = b(), b(), bits(row_bits(B)), bits(8 * D)  # QK only: no V
    v_busy = [bits(2) for _ in range(heads)]
    insts = []
    for h in range(heads):
        if mpu_buses is None:
            pv_side = (t_data[h], t_row[h], t_last[h], v_busy[h])
        else:
            # the shared MPU's PV data belongs to the engine: only t_valid is this unit's
            pv_side = (None, None, None, None)
        t_d, t_r, t_l, v_b = pv_side
        mpu_ports = (k_valid, in_ready[h], mode_qk, no_last, k_data, zero_p, no_bank,
                     ld_valid[h], no_bank, q_ld_row, q_ld_data, no_vl, no_bank, no_vl_row, no_vl_data,
                     s_valid[h], s_ready, s_data[h], s_last[h],
                     t_valid[h], no_t_ready, t_d, t_r, t_l, v_b, m_idle[h])
        if mpu_buses is None:
            insts.append(mpu(clk, rst, *mpu_ports, cfg=cfg))
        else:                                   # the top's MPU, shared with the engine
            insts.append(mpu_socket(mpu_buses[h], rst, *mpu_ports))
    rdy_cat = _cat(in_ready)
    sv_cat = _cat(s_valid)
    pv_outputs = t_valid + s_last
    if mpu_buses is None:
        pv_outputs += t_data + t_row + t_last + v_busy
    fault_cat = ConcatSignal(*pv_outputs)
    idle_cat = _cat(m_idle)

    @always_comb
    def wiring():
        k_ready.next = rdy_cat == all_heads
        col_v.next = sv_cat != 0
        mode_qk.next = 0
        no_last.next = 0
        s_ready.next = 1
        no_t_ready.next = 1
        zero_p.next = 0
        no_vl.next = 0
        no_bank.next = 0
        no_vl_row.next = 0
        no_vl_data.next = 0

    @always_comb
    def load_q():
        for h in range(heads):
            ld_valid[h].next = q_ld_valid and q_ld_head == h

    @always_comb
    def fault():
        # QK mode only: every PV-side output stays 0, and Q is loaded only while the MPUs idle
        pv_fault.next = fault_cat != 0 or (q_ld_valid and idle_cat != all_heads)

    return insts, wiring, load_q, fault
