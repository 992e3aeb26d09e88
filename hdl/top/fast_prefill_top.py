"""``fast_prefill_top``: the accelerator as one Vitis-compatible RTL kernel.

Blocks: the AXI4-Lite control slave (hdl/top/ctrl.py), the scheduler (hdl/top/sched.py), the
index generator ``sig`` (hdl/index/sig.py) and the pooled per-row estimate ``sig_pool``
(hdl/index/pool.py, its means loaded when ``row_gamma_code`` != 0, its rows asked for by the
attention datapath) on m_axi_idx, the scale-code loader (an
``hdl.common.axi_rd`` read master) on m_axi_q, the index-set write master (hdl/common/axi_wr.py) on
m_axi_o, and the attention datapath of one KV group ``grp_attn`` (hdl/group/grp_attn.py: row stream,
KV cache, engines) on m_axi_q (Q), m_axi_kv (K / V misses) and m_axi_o (O).  The KV groups run
one after the other through the same index generator and datapath; ``sig``, ``sig_pool`` and
``grp_attn`` are built for ``cfg.lanes`` heads (``cfg.unit_config()``), so a group of g heads runs
in ``cfg.head_passes(g)`` passes, each streaming the group's K / V again (``head_lanes``).

Sharing (the phases of a group never overlap, so plain multiplexers suffice):
* m_axi_q: the code loader, except while the attention phase runs (then grp_attn's Q reader);
* m_axi_o: the index writer, except during the attention phase (then grp_attn's O writer);
* sig's ``rd_head`` / ``rd_blk``: the index writer, except during the attention phase;
* m_axi_idx: the index generator, except during the pooled rows' means load (then sig_pool).
``grp_attn``'s ``row_guard`` is ``row_gamma_code != 0``; its ``pr_*`` ports are sig_pool's.

Ports: exactly ``hdl.top.shell.top_ports(cfg)`` (``ap_clk``, ``ap_rst_n`` active low, ``interrupt``,
``s_axi_control_*``, ``m_axi_{q,idx,kv,o}_*`` with all five AXI4 channels each; a read-only
bundle drives its write channels idle and accepts any response, likewise the read channel of
m_axi_o).  Register map and memory layout: hdl/top/shell.py; behaviour: docs/top.md.
Parameters: ``cfg`` (AcceleratorConfig).
"""

from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, block, intbv

from hdl.top import shell
from hdl.config import AcceleratorConfig
from hdl.group.grp_attn import grp_attn
from hdl.group.grp_attn import pool_ports as grp_pool_ports
from hdl.group.grp_attn import ports as grp_ports
from hdl.index.sig import ports as sig_ports
from hdl.index.sig import sig
from hdl.common.axi_rd import sig_axi_rd
from hdl.index.pool import ports as pool_unit_ports
from hdl.index.pool import sig_pool
from hdl.common.axi_wr import top_axi_wr
from hdl.top.ctrl import arg_signals, arg_values, top_ctrl
from hdl.top.sched import top_sched

UNIT_NAME = "fast_prefill_top"

#: the attention datapath is instantiated (False: the index generator phases only)
WITH_ATTN = True

_SINK_ARITY = 8


@block
def _unused(tag, s0, s1, s2, s3, s4, s5, s6, s7):
    """Inputs and unit outputs the top does not need (response channels of a direction a bundle
    never uses, readback ports of sig it does not read): marked used for Verilator's lint."""
    for s in (s0, s1, s2, s3, s4, s5, s6, s7):
        s.read = True
    dummy = Signal(bool(0))

    @always_comb
    def model():
        dummy.next = s0 != 0 or s1 != 0 or s2 != 0 or s3 != 0 or s4 != 0 or s5 != 0 or s6 != 0 or s7 != 0

    _unused.verilog_code = (
        "\n// verilator lint_off UNUSEDSIGNAL\n"
        f"wire _unused_{tag} = &{{1'b0, $s0, $s1, $s2, $s3, $s4, $s5, $s6, $s7, 1'b0}};\n"
        "// verilator lint_on UNUSEDSIGNAL\n")
    return model


def _chunks(sigs: list) -> list[list]:
    """``sigs`` in groups of _SINK_ARITY (the last padded with a constant)."""
    pad = Signal(bool(0))
    out = []
    for i in range(0, len(sigs), _SINK_ARITY):
        chunk = list(sigs[i:i + _SINK_ARITY])
        out.append(chunk + [pad] * (_SINK_ARITY - len(chunk)))
    return out


@block
def _write_idle(awvalid, awaddr, awid, awlen, awsize, awburst, wvalid, wdata, wstrb, wlast, bready, cfg):
    """Write channels of a read-only bundle: never a request, any response accepted."""
    LOGB = (cfg.axi_bytes).bit_length() - 1
    # undriven signals convert to constants (an always_comb needs an input to be sensitive to)
    zero, one, size = Signal(bool(0)), Signal(bool(1)), Signal(intbv(LOGB)[3:])

    @always_comb
    def tie():
        awvalid.next = zero
        awaddr.next = zero
        awid.next = zero
        awlen.next = zero
        awsize.next = size
        awburst.next = one
        wvalid.next = zero
        wdata.next = zero
        wstrb.next = zero
        wlast.next = zero
        bready.next = one
    return tie


@block
def _read_idle(arvalid, araddr, arid, arlen, arsize, arburst, rready, cfg):
    """Read channels of a bundle that never reads: no request, any response accepted."""
    LOGB = (cfg.axi_bytes).bit_length() - 1
    zero, one, size = Signal(bool(0)), Signal(bool(1)), Signal(intbv(LOGB)[3:])

    @always_comb
    def tie():
        arvalid.next = zero
        araddr.next = zero
        arid.next = zero
        arlen.next = zero
        arsize.next = size
        arburst.next = one
        rready.next = one
    return tie


@block
def _mux_read(sel, p_arvalid, p_arready, p_araddr, p_arid, p_arlen, p_arsize, p_arburst,
              p_rvalid, p_rready,
              a_arvalid, a_arready, a_araddr, a_arid, a_arlen, a_arsize, a_arburst, a_rvalid, a_rready,
              b_arvalid, b_arready, b_araddr, b_arid, b_arlen, b_arsize, b_arburst, b_rvalid, b_rready):
    """AR / R handshakes of one read bundle: master ``a`` when ``sel`` is 0, ``b`` when 1 (the
    R payload fans out to both)."""
    @always_comb
    def mux():
        if sel:
            p_arvalid.next = b_arvalid
            p_araddr.next = b_araddr
            p_arid.next = b_arid
            p_arlen.next = b_arlen
            p_arsize.next = b_arsize
            p_arburst.next = b_arburst
            p_rready.next = b_rready
            b_arready.next = p_arready
            b_rvalid.next = p_rvalid
            a_arready.next = 0
            a_rvalid.next = 0
        else:
            p_arvalid.next = a_arvalid
            p_araddr.next = a_araddr
            p_arid.next = a_arid
            p_arlen.next = a_arlen
            p_arsize.next = a_arsize
            p_arburst.next = a_arburst
            p_rready.next = a_rready
            a_arready.next = p_arready
            a_rvalid.next = p_rvalid
            b_arready.next = 0
            b_rvalid.next = 0
    return mux


@block
def _mux_write(sel, p_awvalid, p_awready, p_awaddr, p_awid, p_awlen, p_awsize, p_awburst,
               p_wvalid, p_wready, p_wdata, p_wstrb, p_wlast, p_bvalid, p_bready,
               a_awvalid, a_awready, a_awaddr, a_awid, a_awlen, a_awsize, a_awburst,
               a_wvalid, a_wready, a_wdata, a_wstrb, a_wlast, a_bvalid, a_bready,
               b_awvalid, b_awready, b_awaddr, b_awid, b_awlen, b_awsize, b_awburst,
               b_wvalid, b_wready, b_wdata, b_wstrb, b_wlast, b_bvalid, b_bready):
    """AW / W / B handshakes of the write bundle: master ``a`` when ``sel`` is 0, ``b`` when 1."""
    @always_comb
    def mux():
        if sel:
            p_awvalid.next = b_awvalid
            p_awaddr.next = b_awaddr
            p_awid.next = b_awid
            p_awlen.next = b_awlen
            p_awsize.next = b_awsize
            p_awburst.next = b_awburst
            p_wvalid.next = b_wvalid
            p_wdata.next = b_wdata
            p_wstrb.next = b_wstrb
            p_wlast.next = b_wlast
            p_bready.next = b_bready
            b_awready.next = p_awready
            b_wready.next = p_wready
            b_bvalid.next = p_bvalid
            a_awready.next = 0
            a_wready.next = 0
            a_bvalid.next = 0
        else:
            p_awvalid.next = a_awvalid
            p_awaddr.next = a_awaddr
            p_awid.next = a_awid
            p_awlen.next = a_awlen
            p_awsize.next = a_awsize
            p_awburst.next = a_awburst
            p_wvalid.next = a_wvalid
            p_wdata.next = a_wdata
            p_wstrb.next = a_wstrb
            p_wlast.next = a_wlast
            p_bready.next = a_bready
            a_awready.next = p_awready
            a_wready.next = p_wready
            a_bvalid.next = p_bvalid
            b_awready.next = 0
            b_wready.next = 0
            b_bvalid.next = 0
    return mux


@block
def _codes_attn(kc_we, kc_addr, kc_data, qc_we, qc_head, qc_addr, qc_data,
                a_kc_we, a_kc_addr, a_kc_data, a_qc_we, a_qc_head, a_qc_addr, a_qc_data):
    """Scale codes from the scheduler's loader to the attention datapath."""
    @always_comb
    def wire():
        a_kc_we.next = kc_we
        a_kc_addr.next = kc_addr
        a_kc_data.next = kc_data
        a_qc_we.next = qc_we
        a_qc_head.next = qc_head
        a_qc_addr.next = qc_addr
        a_qc_data.next = qc_data
    return wire


@block
def _bytes(clk, rst, clr, q_rvalid, q_rready, i_rvalid, i_rready, k_rvalid, k_rready, o_wvalid, o_wready,
           cnt_rd_bytes, cnt_wr_bytes, cnt_kv_bytes, cfg):
    """HBM byte counters: every beat moved on the ports (full beats; wstrb is all ones)."""
    BYTES = cfg.axi_bytes

    @always(clk.posedge)
    def count():
        acc = intbv(0)[64:]
        if rst or clr:
            cnt_rd_bytes.next = 0
            cnt_wr_bytes.next = 0
            cnt_kv_bytes.next = 0
        else:
            acc[:] = cnt_rd_bytes
            if q_rvalid and q_rready:
                acc[:] = acc + BYTES
            if i_rvalid and i_rready:
                acc[:] = acc + BYTES
            if k_rvalid and k_rready:
                acc[:] = acc + BYTES
                cnt_kv_bytes.next = cnt_kv_bytes + BYTES
            cnt_rd_bytes.next = acc
            if o_wvalid and o_wready:
                cnt_wr_bytes.next = cnt_wr_bytes + BYTES
    return count


@block
def fast_prefill_top(ap_clk, ap_rst_n, interrupt, s_axi_control_awvalid, s_axi_control_awready,
                     s_axi_control_awaddr, s_axi_control_wvalid, s_axi_control_wready,
                     s_axi_control_wdata, s_axi_control_wstrb, s_axi_control_bvalid,
                     s_axi_control_bready, s_axi_control_bresp, s_axi_control_arvalid,
                     s_axi_control_arready, s_axi_control_araddr, s_axi_control_rvalid,
                     s_axi_control_rready, s_axi_control_rdata, s_axi_control_rresp,
                     m_axi_q_awvalid, m_axi_q_awready, m_axi_q_awaddr, m_axi_q_awid, m_axi_q_awlen,
                     m_axi_q_awsize, m_axi_q_awburst, m_axi_q_wvalid, m_axi_q_wready,
                     m_axi_q_wdata, m_axi_q_wstrb, m_axi_q_wlast, m_axi_q_bvalid, m_axi_q_bready,
                     m_axi_q_bresp, m_axi_q_bid, m_axi_q_arvalid, m_axi_q_arready, m_axi_q_araddr,
                     m_axi_q_arid, m_axi_q_arlen, m_axi_q_arsize, m_axi_q_arburst, m_axi_q_rvalid,
                     m_axi_q_rready, m_axi_q_rdata, m_axi_q_rresp, m_axi_q_rlast, m_axi_q_rid,
                     m_axi_idx_awvalid, m_axi_idx_awready, m_axi_idx_awaddr, m_axi_idx_awid,
                     m_axi_idx_awlen, m_axi_idx_awsize, m_axi_idx_awburst, m_axi_idx_wvalid,
                     m_axi_idx_wready, m_axi_idx_wdata, m_axi_idx_wstrb, m_axi_idx_wlast,
                     m_axi_idx_bvalid, m_axi_idx_bready, m_axi_idx_bresp, m_axi_idx_bid,
                     m_axi_idx_arvalid, m_axi_idx_arready, m_axi_idx_araddr, m_axi_idx_arid,
                     m_axi_idx_arlen, m_axi_idx_arsize, m_axi_idx_arburst, m_axi_idx_rvalid,
                     m_axi_idx_rready, m_axi_idx_rdata, m_axi_idx_rresp, m_axi_idx_rlast,
                     m_axi_idx_rid, m_axi_kv_awvalid, m_axi_kv_awready, m_axi_kv_awaddr,
                     m_axi_kv_awid, m_axi_kv_awlen, m_axi_kv_awsize, m_axi_kv_awburst,
                     m_axi_kv_wvalid, m_axi_kv_wready, m_axi_kv_wdata, m_axi_kv_wstrb,
                     m_axi_kv_wlast, m_axi_kv_bvalid, m_axi_kv_bready, m_axi_kv_bresp,
                     m_axi_kv_bid, m_axi_kv_arvalid, m_axi_kv_arready, m_axi_kv_araddr,
                     m_axi_kv_arid, m_axi_kv_arlen, m_axi_kv_arsize, m_axi_kv_arburst,
                     m_axi_kv_rvalid, m_axi_kv_rready, m_axi_kv_rdata, m_axi_kv_rresp,
                     m_axi_kv_rlast, m_axi_kv_rid, m_axi_o_awvalid, m_axi_o_awready,
                     m_axi_o_awaddr, m_axi_o_awid, m_axi_o_awlen, m_axi_o_awsize, m_axi_o_awburst,
                     m_axi_o_wvalid, m_axi_o_wready, m_axi_o_wdata, m_axi_o_wstrb, m_axi_o_wlast,
                     m_axi_o_bvalid, m_axi_o_bready, m_axi_o_bresp, m_axi_o_bid, m_axi_o_arvalid,
                     m_axi_o_arready, m_axi_o_araddr, m_axi_o_arid, m_axi_o_arlen, m_axi_o_arsize,
                     m_axi_o_arburst, m_axi_o_rvalid, m_axi_o_rready, m_axi_o_rdata, m_axi_o_rresp,
                     m_axi_o_rlast, m_axi_o_rid, cfg):
    """The accelerator top (see the module docstring); ports are ``hdl.top.shell.top_ports(cfg)``."""
    port = dict(locals())
    AB, AXW = cfg.axi_addr_bits, cfg.axi_data_bits
    ucfg = cfg.unit_config()        # the per-pass units hold cfg.lanes heads
    b = lambda: Signal(bool(0))  # noqa: E731

    def u(n, v=0):
        return Signal(intbv(v)[n:])

    clk = ap_clk
    rst, urst = b(), b()
    ap_start, accept, done_p, busy, soft_rst = b(), b(), b(), b(), b()
    status = u(8)
    words = arg_signals()
    args = arg_values(words)
    cnt = {n: u(shell.register(n).bits) for n in
           ("cnt_cycles", "cnt_sig_cycles", "cnt_attn_cycles", "cnt_rd_bytes", "cnt_wr_bytes",
            "cnt_kv_bytes", "cnt_hit1", "cnt_hit2", "cnt_miss", "cnt_tiles")}
    ro = dict(cnt, status=status,
              hw_block=u(32, cfg.block), hw_head_dim=u(32, cfg.head_dim),
              hw_max_group=u(32, cfg.max_group), hw_max_seq_len=u(32, cfg.max_seq_len))

    @always_comb
    def resets():
        rst.next = not ap_rst_n
        urst.next = not ap_rst_n or soft_rst

    insts = [resets]
    insts.append(top_ctrl(clk, rst, *(port[f"s_axi_control_{s}"] for s, _, _ in shell.s_axi_control_signals()),
                          ap_start, accept, done_p, busy, interrupt, words, ro))

    # ---------------------------------------------------------------- index generator (m_axi_idx)
    sp = sig_ports(ucfg)
    for name in ("clk", "rst"):
        sp.pop(name)
    # AR and the R handshake through the m_axi_idx multiplexer (sig or sig_pool), R payload shared
    si = {s: Signal(intbv(0)[w:]) if w > 1 else b() for s, _, w in shell.m_axi_signals(cfg)}
    pi = {s: Signal(intbv(0)[w:]) if w > 1 else b() for s, _, w in shell.m_axi_signals(cfg)}
    for s in ("arid", "araddr", "arlen", "arsize", "arburst", "arvalid", "arready", "rvalid", "rready"):
        sp[f"m_axi_{s}"] = si[s]
    for s in ("rid", "rdata", "rresp", "rlast"):
        sp[f"m_axi_{s}"] = port[f"m_axi_idx_{s}"]
    insts.append(sig(clk=clk, rst=urst, **sp, cfg=ucfg))
    s_rd_head, s_rd_blk = sp["rd_head"], sp["rd_blk"]
    x_rd_head, x_rd_blk = u(len(s_rd_head)), u(len(s_rd_blk))

    # ---------------------------------------------------------------- code loader (m_axi_q)
    ld = dict(cmd_valid=b(), cmd_ready=b(), cmd_addr=u(AB), cmd_beats=u(16), o_valid=b(), o_ready=b(),
              o_data=u(AXW), o_err=b(), idle=b())
    lq = {s: Signal(intbv(0)[w:]) if w > 1 else b() for s, _, w in shell.m_axi_signals(cfg)}
    insts.append(sig_axi_rd(clk, urst, ld["cmd_valid"], ld["cmd_ready"], ld["cmd_addr"], ld["cmd_beats"],
                            lq["arid"], lq["araddr"], lq["arlen"], lq["arsize"], lq["arburst"], lq["arvalid"],
                            lq["arready"], m_axi_q_rid, m_axi_q_rdata, m_axi_q_rresp, m_axi_q_rlast,
                            lq["rvalid"], lq["rready"], ld["o_valid"], ld["o_ready"], ld["o_data"],
                            ld["o_err"], ld["idle"], cfg=cfg))

    # ---------------------------------------------------------------- index writer (m_axi_o)
    wr = dict(cmd_valid=b(), cmd_ready=b(), cmd_addr=u(AB), cmd_beats=u(16), d_valid=b(), d_ready=b(),
              d_data=u(AXW), err=b(), idle=b())
    wo = {s: Signal(intbv(0)[w:]) if w > 1 else b() for s, _, w in shell.m_axi_signals(cfg)}
    no_clr = b()
    insts.append(top_axi_wr(clk, urst, wr["cmd_valid"], wr["cmd_ready"], wr["cmd_addr"], wr["cmd_beats"],
                            wr["d_valid"], wr["d_ready"], wr["d_data"],
                            wo["awvalid"], wo["awready"], wo["awaddr"], wo["awid"], wo["awlen"], wo["awsize"],
                            wo["awburst"], wo["wvalid"], wo["wready"], wo["wdata"], wo["wstrb"], wo["wlast"],
                            wo["bvalid"], wo["bready"], m_axi_o_bresp, m_axi_o_bid,
                            no_clr, wr["err"], wr["idle"], cfg=cfg))

    # ---------------------------------------------------------------- attention datapath
    ga = dict(start=b(), seq_len=u(32), group=u(8), q_addr=u(AB), q_stride=u(32), k_addr=u(AB),
              v_addr=u(AB), o_addr=u(AB), o_stride=u(32), busy=b(), done=b(), status=u(8),
              cnt_hit1=u(32), cnt_hit2=u(32), cnt_miss=u(32), cnt_tiles=u(32),
              rd_head=u(8), rd_blk=u(len(s_rd_blk)))
    gq = {s: Signal(intbv(0)[w:]) if w > 1 else b() for s, _, w in shell.m_axi_signals(cfg)}
    go = {s: Signal(intbv(0)[w:]) if w > 1 else b() for s, _, w in shell.m_axi_signals(cfg)}
    attn_unused = []
    gpp = grp_pool_ports(ucfg)          # grp_attn's row_guard and its sig_pool side
    if WITH_ATTN:
        gp = grp_ports(ucfg)
        gp.update(gpp)
        for name in ("clk", "rst"):
            gp.pop(name)
        gp.update({n: ga[n] for n in ga})
        for n in ("rd_nv", "rd_ns", "rd_vi", "rd_si"):
            gp[n] = sp[n]
        for s in ("arid", "araddr", "arlen", "arsize", "arburst", "arvalid", "arready", "rvalid", "rready"):
            gp[f"m_axi_q_{s}"] = gq[s]
        for s in ("rid", "rdata", "rresp", "rlast"):
            gp[f"m_axi_q_{s}"] = port[f"m_axi_q_{s}"]
        for s in ("arid", "araddr", "arlen", "arsize", "arburst", "arvalid", "arready",
                  "rid", "rdata", "rresp", "rlast", "rvalid", "rready"):
            gp[f"m_axi_kv_{s}"] = port[f"m_axi_kv_{s}"]
        for s in ("awid", "awaddr", "awlen", "awsize", "awburst", "awvalid", "awready", "wdata", "wstrb",
                  "wlast", "wvalid", "wready", "bvalid", "bready"):
            gp[f"m_axi_o_{s}"] = go[s]
        for s in ("bid", "bresp"):
            gp[f"m_axi_o_{s}"] = port[f"m_axi_o_{s}"]
        kc_sig = dict(kc_we=gp["kc_we"], kc_addr=gp["kc_addr"], kc_data=gp["kc_data"], qc_we=gp["qc_we"],
                      qc_head=gp["qc_head"], qc_addr=gp["qc_addr"], qc_data=gp["qc_data"])
        insts.append(grp_attn(clk=clk, rst=urst, **gp, cfg=ucfg))
        # diagnostics and the counters the top does not report
        attn_unused = [gp[n] for n in ("cnt_cycles", "cnt_kv_bytes", "cnt_q_bytes", "cnt_o_bytes",
                                       "cnt_kv_stall", "cnt_kv_cycles", "cnt_access", "dec_valid", "dec_hit",
                                       "dec_slot", "dec_evict", "dec_victim", "dec_freed", "dbg_head", "dbg_m",
                                       "dbg_l", "dbg_p_valid", "dbg_p", "eng_idle")]
        attn_unused += [ga["rd_head"]]
    phase_attn = b()
    phase_pool = b()

    # ---------------------------------------------------------------- pooled rows (sig_pool)
    # same settings as sig (the scheduler drives both), the scale codes of the loader, its rows
    # to grp_attn's pr_* ports; its means load runs after sig on m_axi_idx
    pp = pool_unit_ports(ucfg)
    for name in ("clk", "rst"):
        pp.pop(name)
    pp_start = b()
    pp["start"] = pp_start
    for n in ("seq_len", "group", "k_addr", "q_addr", "q_stride"):
        pp[n] = sp[n]
    pp["pr_code"] = args["row_gamma_code"]
    for n in ("pr_start", "pr_row", "pr_done", "pr_err", "pr_rd_head", "pr_word"):
        pp[n] = gpp[n]
    for s in ("arid", "araddr", "arlen", "arsize", "arburst", "arvalid", "arready", "rvalid", "rready"):
        pp[f"m_axi_{s}"] = pi[s]
    for s in ("rid", "rdata", "rresp", "rlast"):
        pp[f"m_axi_{s}"] = port[f"m_axi_idx_{s}"]
    row_guard, row_gamma_code = gpp["row_guard"], args["row_gamma_code"]

    @always_comb
    def guard():
        row_guard.next = row_gamma_code != 0

    insts.append(guard)

    # ---------------------------------------------------------------- scheduler
    kc = dict(kc_we=b(), kc_addr=u(len(sp["kc_addr"])), kc_data=u(32), qc_we=b(), qc_head=u(8),
              qc_addr=u(len(sp["kc_addr"])), qc_data=u(32), sqc_we=b())
    insts.append(top_sched(
        clk, rst, ap_start, accept, done_p, busy, status, soft_rst,
        args["q_addr"], args["k_addr"], args["v_addr"], args["o_addr"], args["scale_addr"], args["idx_addr"],
        args["seq_len"], args["n_heads"], args["n_kv_heads"], args["sel_mode"], args["gamma_code"],
        args["row_gamma_code"], args["min_budget"], args["max_budget"], args["topk_vertical"],
        args["topk_slash"], args["local_window"],
        ld["cmd_valid"], ld["cmd_ready"], ld["cmd_addr"], ld["cmd_beats"], ld["o_valid"], ld["o_ready"],
        ld["o_data"], ld["o_err"], ld["idle"],
        kc["kc_we"], kc["kc_addr"], kc["kc_data"], kc["qc_we"], kc["qc_head"], kc["qc_addr"], kc["qc_data"],
        kc["sqc_we"],
        sp["start"], sp["seq_len"], sp["group"], sp["k_addr"], sp["q_addr"], sp["q_stride"], sp["sel_mode"],
        sp["sel_code"], sp["sel_min"], sp["sel_max"], sp["sel_topk_v"], sp["sel_topk_s"], sp["sel_win"],
        sp["busy"], sp["done"], sp["err"], sp["pv_fault"], x_rd_head, x_rd_blk, sp["rd_nv"], sp["rd_ns"],
        sp["rd_vi"], sp["rd_si"],
        wr["cmd_valid"], wr["cmd_ready"], wr["cmd_addr"], wr["cmd_beats"], wr["d_valid"], wr["d_ready"],
        wr["d_data"], wr["err"], wr["idle"],
        ga["start"], ga["seq_len"], ga["group"], ga["q_addr"], ga["q_stride"], ga["k_addr"], ga["v_addr"],
        ga["o_addr"], ga["o_stride"], ga["busy"], ga["done"], ga["status"], ga["cnt_hit1"], ga["cnt_hit2"],
        ga["cnt_miss"], ga["cnt_tiles"],
        phase_attn, cnt["cnt_cycles"], cnt["cnt_sig_cycles"], cnt["cnt_attn_cycles"], cnt["cnt_hit1"],
        cnt["cnt_hit2"], cnt["cnt_miss"], cnt["cnt_tiles"], pp_start, pp["busy"], pp["done"], pp["err"],
        phase_pool, cfg=cfg, with_attn=WITH_ATTN))

    # codes: K codes to both units, Q codes to the datapath, Q_last codes to the index generator
    s_qc_we, s_qc_head, s_qc_data = sp["qc_we"], sp["qc_head"], sp["qc_data"]
    s_kc_we, s_kc_addr, s_kc_data = sp["kc_we"], sp["kc_addr"], sp["kc_data"]
    kc_we, kc_addr, kc_data, sqc_we = kc["kc_we"], kc["kc_addr"], kc["kc_data"], kc["sqc_we"]
    qc_head, qc_data = kc["qc_head"], kc["qc_data"]
    g_rd_head, g_rd_blk = ga["rd_head"], ga["rd_blk"]

    @always_comb
    def codes():
        s_kc_we.next = kc_we
        s_kc_addr.next = kc_addr
        s_kc_data.next = kc_data
        s_qc_we.next = sqc_we
        s_qc_head.next = qc_head
        s_qc_data.next = qc_data

    @always_comb
    def rd_mux():
        if phase_attn:
            s_rd_head.next = g_rd_head
            s_rd_blk.next = g_rd_blk
        else:
            s_rd_head.next = x_rd_head
            s_rd_blk.next = x_rd_blk

    insts += [codes, rd_mux]
    # sig_pool gets the same code writes as the datapath (Q of (head, block), K of a block)
    pp.update(pq_we=kc["qc_we"], pq_head=kc["qc_head"], pq_blk=kc["qc_addr"], pq_data=kc["qc_data"],
              pk_we=kc["kc_we"], pk_blk=kc["kc_addr"], pk_data=kc["kc_data"])
    insts.append(sig_pool(clk=clk, rst=urst, **pp, cfg=ucfg))
    if WITH_ATTN:
        insts.append(_codes_attn(kc["kc_we"], kc["kc_addr"], kc["kc_data"], kc["qc_we"], kc["qc_head"],
                                 kc["qc_addr"], kc["qc_data"], kc_sig["kc_we"], kc_sig["kc_addr"],
                                 kc_sig["kc_data"], kc_sig["qc_we"], kc_sig["qc_head"], kc_sig["qc_addr"],
                                 kc_sig["qc_data"]))

    # ---------------------------------------------------------------- port multiplexers
    insts.append(_mux_read(phase_pool, m_axi_idx_arvalid, m_axi_idx_arready, m_axi_idx_araddr, m_axi_idx_arid,
                           m_axi_idx_arlen, m_axi_idx_arsize, m_axi_idx_arburst, m_axi_idx_rvalid,
                           m_axi_idx_rready,
                           si["arvalid"], si["arready"], si["araddr"], si["arid"], si["arlen"], si["arsize"],
                           si["arburst"], si["rvalid"], si["rready"],
                           pi["arvalid"], pi["arready"], pi["araddr"], pi["arid"], pi["arlen"], pi["arsize"],
                           pi["arburst"], pi["rvalid"], pi["rready"]))
    insts.append(_mux_read(phase_attn, m_axi_q_arvalid, m_axi_q_arready, m_axi_q_araddr, m_axi_q_arid,
                           m_axi_q_arlen, m_axi_q_arsize, m_axi_q_arburst, m_axi_q_rvalid, m_axi_q_rready,
                           lq["arvalid"], lq["arready"], lq["araddr"], lq["arid"], lq["arlen"], lq["arsize"],
                           lq["arburst"], lq["rvalid"], lq["rready"],
                           gq["arvalid"], gq["arready"], gq["araddr"], gq["arid"], gq["arlen"], gq["arsize"],
                           gq["arburst"], gq["rvalid"], gq["rready"]))
    insts.append(_mux_write(phase_attn, m_axi_o_awvalid, m_axi_o_awready, m_axi_o_awaddr, m_axi_o_awid,
                            m_axi_o_awlen, m_axi_o_awsize, m_axi_o_awburst, m_axi_o_wvalid, m_axi_o_wready,
                            m_axi_o_wdata, m_axi_o_wstrb, m_axi_o_wlast, m_axi_o_bvalid, m_axi_o_bready,
                            wo["awvalid"], wo["awready"], wo["awaddr"], wo["awid"], wo["awlen"], wo["awsize"],
                            wo["awburst"], wo["wvalid"], wo["wready"], wo["wdata"], wo["wstrb"], wo["wlast"],
                            wo["bvalid"], wo["bready"],
                            go["awvalid"], go["awready"], go["awaddr"], go["awid"], go["awlen"], go["awsize"],
                            go["awburst"], go["wvalid"], go["wready"], go["wdata"], go["wstrb"], go["wlast"],
                            go["bvalid"], go["bready"]))
    for bundle in ("q", "idx", "kv"):
        insts.append(_write_idle(*(port[f"m_axi_{bundle}_{s}"] for s in
                                   ("awvalid", "awaddr", "awid", "awlen", "awsize", "awburst", "wvalid",
                                    "wdata", "wstrb", "wlast", "bready")), cfg=cfg))
    if not WITH_ATTN:
        insts.append(_read_idle(m_axi_kv_arvalid, m_axi_kv_araddr, m_axi_kv_arid, m_axi_kv_arlen,
                                m_axi_kv_arsize, m_axi_kv_arburst, m_axi_kv_rready, cfg=cfg))
    insts.append(_read_idle(m_axi_o_arvalid, m_axi_o_araddr, m_axi_o_arid, m_axi_o_arlen, m_axi_o_arsize,
                            m_axi_o_arburst, m_axi_o_rready, cfg=cfg))
    insts.append(_bytes(clk, rst, accept, m_axi_q_rvalid, m_axi_q_rready, m_axi_idx_rvalid, m_axi_idx_rready,
                        m_axi_kv_rvalid, m_axi_kv_rready, m_axi_o_wvalid, m_axi_o_wready,
                        cnt["cnt_rd_bytes"], cnt["cnt_wr_bytes"], cnt["cnt_kv_bytes"], cfg=cfg))

    # ---------------------------------------------------------------- lint: what nothing reads
    unused = [sp["rd_m"], sp["rd_l"], sp["rd_v"], sp["rd_d"], sp["sel_cycles"],
              s_axi_control_awaddr, s_axi_control_araddr, lq["awready"], wo["arready"]]
    for bundle in ("q", "idx", "kv"):
        unused += [port[f"m_axi_{bundle}_{s}"] for s in ("awready", "wready", "bvalid", "bresp", "bid")]
    unused += [m_axi_o_arready, m_axi_o_rvalid, m_axi_o_rdata, m_axi_o_rresp, m_axi_o_rlast, m_axi_o_rid]
    unused += attn_unused
    unused += [pp["pr_busy"], pp["pr_bit"], pp["pr_cycles"]]
    for i, chunk in enumerate(_chunks(unused)):
        insts.append(_unused(i, *chunk))
    return insts


def unsupported(cfg: AcceleratorConfig) -> str | None:
    """Sizes the top cannot build yet: those of its units, and buses wider than the index
    header (its 32-bit words must be whole beats)."""
    from hdl.index import sig as sig_mod
    from hdl.group import grp_attn as grp_mod
    for what, mod in (("index generator", sig_mod), ("attention datapath", grp_mod)):
        reason = mod.unsupported(cfg.unit_config())
        if reason:
            return f"{what}: {reason}"
    if (shell.idx_header_words(cfg.axi_bytes) * 4) % cfg.axi_bytes:
        return f"the index header is not a whole number of {cfg.axi_data_bits}-bit beats"
    return None


def ports(cfg: AcceleratorConfig) -> dict:
    """Fresh signals for every port (``hdl.top.shell.top_ports(cfg)``)."""
    return {name: (Signal(bool(0)) if w == 1 else Signal(intbv(0)[w:]))
            for name, _, w in shell.top_ports(cfg)}


def top(cfg: AcceleratorConfig):
    """The unit to convert for ``cfg`` (used by :mod:`hdl.convert`).

    The Verilog file starts with a ``lint_off SYMRSVDWORD``: Vitis fixes the port name
    ``interrupt``, which Verilator's -Wall flags as a C++ word (it renames it internally)."""
    from myhdl import toVerilog
    toVerilog.header = "// the Vitis port name 'interrupt' is a C++ word:\n// verilator lint_off SYMRSVDWORD"
    return fast_prefill_top(**ports(cfg), cfg=cfg)
