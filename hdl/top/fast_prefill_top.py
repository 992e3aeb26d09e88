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
in ``cfg.head_passes(g)`` passes (``head_lanes``), each streaming the group's K again through
the index generator and its K / V through the cache, which keeps its blocks from one pass of
the group to the next.

Sharing (the phases of a group never overlap, so plain multiplexers suffice):
* m_axi_q: the code loader, except while the attention phase runs (then grp_attn's Q reader);
* m_axi_o: the index writer, except during the attention phase (then grp_attn's O writer);
* sig's ``rd_head`` / ``rd_blk``: the index writer, except during the attention phase;
* m_axi_idx: the index generator, except during the pooled rows' means load (then sig_pool).
``grp_attn``'s ``row_guard`` is ``row_gamma_code != 0``; its ``pr_*`` ports are sig_pool's.
The multiplexers and the tie-offs of the channels a bundle never uses are hdl/top/wiring.py.

Ports: exactly ``hdl.top.shell.top_ports(cfg)`` (``ap_clk``, ``ap_rst_n`` active low, ``interrupt``,
``s_axi_control_*``, ``m_axi_{q,idx,kv,o}_*`` with all five AXI4 channels each; a read-only
bundle drives its write channels idle and accepts any response, likewise the read channel of
m_axi_o).  Register map and memory layout: hdl/top/shell.py; behaviour: docs/top.md.
Parameters: ``cfg`` (AcceleratorConfig).
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv

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
from hdl.common.reset import sync_reset
from hdl.top.ctrl import arg_signals, arg_values, top_ctrl
from hdl.top.sched import top_sched
from hdl.top.wiring import top_axi_mux, top_axi_tie_off, top_wires
from hdl.mpu.share import mpu_bus, mpu_shared

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


#: the AXI signals a read master drives (through a multiplexer) and those it receives back
READ_FORWARD = ("arvalid", "araddr", "arid", "arlen", "arsize", "arburst", "rready")
READ_BACKWARD = ("arready", "rvalid")
#: the R payload, wired from the port to every read master
R_PAYLOAD = ("rid", "rdata", "rresp", "rlast")
WRITE_FORWARD = ("awvalid", "awaddr", "awid", "awlen", "awsize", "awburst", "wvalid", "wdata", "wstrb",
                 "wlast", "bready")
WRITE_BACKWARD = ("awready", "wready", "bvalid")
B_PAYLOAD = ("bid", "bresp")


def _bundle(cfg: AcceleratorConfig) -> dict:
    """Fresh signals for one m_axi bundle, by channel signal name (``arvalid``, ``rdata`` ...)."""
    return {s: Signal(intbv(0)[w:]) if w > 1 else Signal(bool(0)) for s, _, w in shell.m_axi_signals(cfg)}


def _port_bundle(port: dict, name: str, cfg: AcceleratorConfig) -> dict:
    """The top's ports of bundle ``m_axi_<name>``, by channel signal name."""
    return {s: port[f"m_axi_{name}_{s}"] for s, _, _ in shell.m_axi_signals(cfg)}


def _master_ports(prefix: str, own: dict, shared: dict, own_names, shared_names) -> dict:
    """A unit's AXI master ports (``<prefix><name>``): ``own_names`` from ``own`` (its side of a
    multiplexer), ``shared_names`` from ``shared`` (the top's port, e.g. the R payload)."""
    ports = {f"{prefix}{s}": own[s] for s in own_names}
    ports.update({f"{prefix}{s}": shared[s] for s in shared_names})
    return ports


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
    ADDR_BITS, BUS_BITS = cfg.axi_addr_bits, cfg.axi_data_bits
    ucfg = cfg.unit_config()        # the per-pass units hold cfg.lanes heads
    b = lambda: Signal(bool(0))  # noqa: E731

    def u(n, v=0):
        return Signal(intbv(v)[n:])

    bundle = {name: _port_bundle(port, name, cfg) for name in ("q", "idx", "kv", "o")}
    clk = ap_clk
    rst, urst = sync_reset(), sync_reset()       # the shell's reset; with the scheduler's soft reset
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
    # its own AR side and R handshake through the m_axi_idx multiplexer (sig or sig_pool), the R
    # payload shared
    sig_idx = _bundle(cfg)
    sig_p = sig_ports(ucfg)
    for name in ("clk", "rst"):
        sig_p.pop(name)
    sig_p.update(_master_ports("m_axi_", sig_idx, bundle["idx"], READ_FORWARD + READ_BACKWARD, R_PAYLOAD))
    # one MPU per lane serves the lane's index-generator scores and its attention engine: the
    # phases never overlap (mpu_shared below, switched by phase_attn)
    sig_mpus = [mpu_bus(ucfg) for _ in range(ucfg.lanes)] if WITH_ATTN else None
    eng_mpus = [mpu_bus(ucfg) for _ in range(ucfg.lanes)] if WITH_ATTN else None
    insts.append(sig(clk=clk, rst=urst, **sig_p, cfg=ucfg, mpu_buses=sig_mpus))
    dump_rd_head, dump_rd_blk = u(len(sig_p["rd_head"])), u(len(sig_p["rd_blk"]))

    # ---------------------------------------------------------------- code loader (m_axi_q)
    ld = dict(cmd_valid=b(), cmd_ready=b(), cmd_addr=u(ADDR_BITS), cmd_beats=u(16), o_valid=b(),
              o_ready=b(), o_data=u(BUS_BITS), o_err=b(), idle=b())
    loader_q = _bundle(cfg)
    q_in = bundle["q"]
    insts.append(sig_axi_rd(clk, urst, ld["cmd_valid"], ld["cmd_ready"], ld["cmd_addr"], ld["cmd_beats"],
                            loader_q["arid"], loader_q["araddr"], loader_q["arlen"], loader_q["arsize"],
                            loader_q["arburst"], loader_q["arvalid"], loader_q["arready"], q_in["rid"],
                            q_in["rdata"], q_in["rresp"], q_in["rlast"], loader_q["rvalid"],
                            loader_q["rready"], ld["o_valid"], ld["o_ready"], ld["o_data"],
                            ld["o_err"], ld["idle"], cfg=cfg))

    # ---------------------------------------------------------------- index writer (m_axi_o)
    wr = dict(cmd_valid=b(), cmd_ready=b(), cmd_addr=u(ADDR_BITS), cmd_beats=u(16), d_valid=b(),
              d_ready=b(), d_data=u(BUS_BITS), err=b(), idle=b())
    writer_o = _bundle(cfg)
    no_clr = b()
    insts.append(top_axi_wr(clk, urst, wr["cmd_valid"], wr["cmd_ready"], wr["cmd_addr"], wr["cmd_beats"],
                            wr["d_valid"], wr["d_ready"], wr["d_data"],
                            *(writer_o[s] for s in ("awvalid", "awready", "awaddr", "awid", "awlen",
                                                    "awsize", "awburst", "wvalid", "wready", "wdata",
                                                    "wstrb", "wlast", "bvalid", "bready")),
                            m_axi_o_bresp, m_axi_o_bid, no_clr, wr["err"], wr["idle"], cfg=cfg))

    # ---------------------------------------------------------------- attention datapath
    attn = dict(start=b(), seq_len=u(32), group=u(8), q_addr=u(ADDR_BITS), q_stride=u(32),
                k_addr=u(ADDR_BITS), v_addr=u(ADDR_BITS), o_addr=u(ADDR_BITS), o_stride=u(32), busy=b(),
                done=b(), status=u(8), cnt_hit1=u(32), cnt_hit2=u(32), cnt_miss=u(32),
                cnt_tiles=u(32), rd_head=u(8), rd_blk=u(len(sig_p["rd_blk"])),
                cache_resident=b(), cache_group_end=b())
    attn_q, attn_o = _bundle(cfg), _bundle(cfg)
    code_names = ("kc_we", "kc_addr", "kc_data", "qc_we", "qc_head", "qc_addr", "qc_data")
    attn_codes = {}
    attn_unused = []
    attn_pool = grp_pool_ports(ucfg)          # grp_attn's row_guard and its sig_pool side
    if WITH_ATTN:
        attn_p = grp_ports(ucfg)
        attn_p.update(attn_pool)
        for name in ("clk", "rst"):
            attn_p.pop(name)
        attn_p.update(attn)
        attn_codes = {n: attn_p[n] for n in code_names}
        for n in ("rd_nv", "rd_ns", "rd_vi", "rd_si"):
            attn_p[n] = sig_p[n]
        attn_p.update(_master_ports("m_axi_q_", attn_q, q_in, READ_FORWARD + READ_BACKWARD, R_PAYLOAD))
        attn_p.update(_master_ports("m_axi_kv_", bundle["kv"], bundle["kv"],
                                    READ_FORWARD + READ_BACKWARD + R_PAYLOAD, ()))
        attn_p.update(_master_ports("m_axi_o_", attn_o, bundle["o"], WRITE_FORWARD + WRITE_BACKWARD,
                                    B_PAYLOAD))
        insts.append(grp_attn(clk=clk, rst=urst, **attn_p, cfg=ucfg, mpu_buses=eng_mpus))
        # diagnostics and the counters the top does not report
        attn_unused = [attn_p[n] for n in ("cnt_cycles", "cnt_kv_bytes", "cnt_q_bytes", "cnt_o_bytes",
                                           "cnt_kv_stall", "cnt_kv_cycles", "cnt_access", "dec_valid",
                                           "dec_hit", "dec_slot", "dec_evict", "dec_victim", "dec_freed",
                                           "dbg_head", "dbg_m", "dbg_l", "dbg_p_valid", "dbg_p", "eng_idle")]
        attn_unused += [attn["rd_head"]]
    phase_attn = b()
    if WITH_ATTN:
        insts += [mpu_shared(clk, phase_attn, s, e, ucfg) for s, e in zip(sig_mpus, eng_mpus)]
    phase_pool = b()

    # ---------------------------------------------------------------- pooled rows (sig_pool)
    # same settings as sig (the scheduler drives both), the scale codes of the loader, its rows
    # to grp_attn's pr_* ports; its means load runs after sig on m_axi_idx
    pool_idx = _bundle(cfg)
    pool_p = pool_unit_ports(ucfg)
    for name in ("clk", "rst"):
        pool_p.pop(name)
    pool_start = b()
    pool_p["start"] = pool_start
    for n in ("seq_len", "group", "k_addr", "q_addr", "q_stride"):
        pool_p[n] = sig_p[n]
    pool_p["pr_code"] = args["row_gamma_code"]
    for n in ("pr_start", "pr_row", "pr_busy", "pr_done", "pr_err", "pr_hold", "pr_rd_head", "pr_word"):
        pool_p[n] = attn_pool[n]
    pool_p.update(_master_ports("m_axi_", pool_idx, bundle["idx"], READ_FORWARD + READ_BACKWARD, R_PAYLOAD))
    row_guard, row_gamma_code = attn_pool["row_guard"], args["row_gamma_code"]

    @always_comb
    def guard():
        row_guard.next = row_gamma_code != 0

    insts.append(guard)

    # ---------------------------------------------------------------- scheduler
    kc = dict(kc_we=b(), kc_addr=u(len(sig_p["kc_addr"])), kc_data=u(32), qc_we=b(), qc_head=u(8),
              qc_addr=u(len(sig_p["kc_addr"])), qc_data=u(32), sqc_we=b())
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
        sig_p["start"], sig_p["seq_len"], sig_p["group"], sig_p["k_addr"], sig_p["q_addr"], sig_p["q_stride"],
        sig_p["sel_mode"], sig_p["sel_code"], sig_p["sel_min"], sig_p["sel_max"], sig_p["sel_topk_v"],
        sig_p["sel_topk_s"], sig_p["sel_win"], sig_p["busy"], sig_p["done"], sig_p["err"], sig_p["pv_fault"],
        dump_rd_head, dump_rd_blk, sig_p["rd_nv"], sig_p["rd_ns"], sig_p["rd_vi"], sig_p["rd_si"],
        wr["cmd_valid"], wr["cmd_ready"], wr["cmd_addr"], wr["cmd_beats"], wr["d_valid"], wr["d_ready"],
        wr["d_data"], wr["err"], wr["idle"],
        attn["start"], attn["seq_len"], attn["group"], attn["q_addr"], attn["q_stride"], attn["k_addr"],
        attn["v_addr"], attn["o_addr"], attn["o_stride"], attn["busy"], attn["done"], attn["status"],
        attn["cnt_hit1"], attn["cnt_hit2"], attn["cnt_miss"], attn["cnt_tiles"],
        phase_attn, cnt["cnt_cycles"], cnt["cnt_sig_cycles"], cnt["cnt_attn_cycles"], cnt["cnt_hit1"],
        cnt["cnt_hit2"], cnt["cnt_miss"], cnt["cnt_tiles"], pool_start, pool_p["busy"], pool_p["done"],
        pool_p["err"], phase_pool, cfg=cfg, with_attn=WITH_ATTN,
        a_resident=attn["cache_resident"], a_group_end=attn["cache_group_end"]))

    # codes: K codes to both units, Q codes to the datapath, Q_last codes to the index generator;
    # the index generator's readback: the datapath's set load during the attention phase, the
    # scheduler's index dump otherwise
    insts.append(top_wires([kc[n] for n in ("kc_we", "kc_addr", "kc_data", "sqc_we", "qc_head", "qc_data")],
                           [sig_p[n] for n in ("kc_we", "kc_addr", "kc_data", "qc_we", "qc_head", "qc_data")]))
    readback = dict(rd_head=sig_p["rd_head"], rd_blk=sig_p["rd_blk"])
    insts.append(top_axi_mux(phase_attn, readback, dict(rd_head=dump_rd_head, rd_blk=dump_rd_blk),
                             dict(rd_head=attn["rd_head"], rd_blk=attn["rd_blk"]), ("rd_head", "rd_blk"), ()))
    # sig_pool gets the same code writes as the datapath (Q of (head, block), K of a block)
    pool_p.update(pq_we=kc["qc_we"], pq_head=kc["qc_head"], pq_blk=kc["qc_addr"], pq_data=kc["qc_data"],
                  pk_we=kc["kc_we"], pk_blk=kc["kc_addr"], pk_data=kc["kc_data"])
    insts.append(sig_pool(clk=clk, rst=urst, **pool_p, cfg=ucfg))
    if WITH_ATTN:
        insts.append(top_wires([kc[n] for n in code_names], [attn_codes[n] for n in code_names]))

    # ---------------------------------------------------------------- port multiplexers, tie-offs
    insts.append(top_axi_mux(phase_pool, bundle["idx"], sig_idx, pool_idx, READ_FORWARD, READ_BACKWARD))
    insts.append(top_axi_mux(phase_attn, q_in, loader_q, attn_q, READ_FORWARD, READ_BACKWARD))
    insts.append(top_axi_mux(phase_attn, bundle["o"], writer_o, attn_o, WRITE_FORWARD, WRITE_BACKWARD))
    idle = {}
    for name in ("q", "idx", "kv"):
        idle.update({f"{name}_{s}": bundle[name][s] for s in WRITE_FORWARD})
    if not WITH_ATTN:
        idle.update({f"kv_{s}": bundle["kv"][s] for s in READ_FORWARD})
    idle.update({f"o_{s}": bundle["o"][s] for s in READ_FORWARD})
    insts.append(top_axi_tie_off(idle, cfg))
    insts.append(_bytes(clk, rst, accept, m_axi_q_rvalid, m_axi_q_rready, m_axi_idx_rvalid, m_axi_idx_rready,
                        m_axi_kv_rvalid, m_axi_kv_rready, m_axi_o_wvalid, m_axi_o_wready,
                        cnt["cnt_rd_bytes"], cnt["cnt_wr_bytes"], cnt["cnt_kv_bytes"], cfg=cfg))

    # ---------------------------------------------------------------- lint: what nothing reads
    unused = [sig_p["rd_m"], sig_p["rd_l"], sig_p["rd_v"], sig_p["rd_d"], sig_p["sel_cycles"],
              s_axi_control_awaddr, s_axi_control_araddr, loader_q["awready"], writer_o["arready"]]
    for name in ("q", "idx", "kv"):
        unused += [bundle[name][s] for s in ("awready", "wready", "bvalid", "bresp", "bid")]
    unused += [m_axi_o_arready, m_axi_o_rvalid, m_axi_o_rdata, m_axi_o_rresp, m_axi_o_rlast, m_axi_o_rid]
    unused += attn_unused
    unused += [pool_p["pr_bit"], pool_p["pr_cycles"]]
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
