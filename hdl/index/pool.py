"""Pooled per-row estimate of the index generator (``row_gamma``): block means of Q and K, pooled
logits, and per query block r the fewest key blocks c <= r that cover ``row_gamma`` of the row.

Bit-exact with ``golden.estimator_fixed.pooled_row_mask_fixed`` for one KV group (g query heads):

1. **means** (after ``start``, hdl/index/pool_means.py): an own AXI read master reads K blocks
   0..nb-1, then every block of the Q of the g heads; each block's rows are summed and the means
   ``rshift_round(sum, log2 B - pool_bits)`` go into the K mean memory or the head's Q mean
   memory (a partial last block sums its rows only: the golden zero padding);
2. **one row** (``pr_start`` with ``pr_row`` = r, any order, once the means are in): every head
   at once (hdl/index/pool_head.py), (a) for c = 0..r the pooled score ``qmean[h, r] . kmean[c]``
   and its logit ``scale_logits(s, mult, shift + 2*pool_bits)`` from the blocks' scale codes,
   into a logit buffer while the row max runs; (b) for c = 0..r, ``p = exp2_neg(x - ceil(max))``
   enters a sorted list (hdl/index/select.py, rising c, ties to the lower index: the golden
   stable order); (c) the list pops the fewest leading entries whose sum covers ``code / 2**GB``
   of the row mass (min 1, no max) into an nb_max-bit map; the map is copied to the head's
   output row (the second buffer) and ``pr_done`` pulses.  (a) and (b) are the front, (c) the
   back of a two-stage row pipeline (hdl/index/pool_rows.py): the front takes the next row
   (``pr_busy`` low) while the back still pops, and waits for the back only before its own
   inserts.  A row's result replaces the output rows at its own ``pr_done``, so a reader has
   until the next ``pr_done`` to read row r, and can hold that ``pr_done`` back with ``pr_hold``.

Cycles per row: about ``2 (r + 1) + 12`` back to back (the pop hides under the next row's
score sweep), latency ``2 (r + 1) + kept + ~16``; the same for every head (heads in parallel).

Memories: K means ``nb_max x D*PMW`` bits, Q means ``g_max x nb_max x D*PMW``, scale codes
``(g_max + 1) x nb_max x 32``, per head a logit buffer ``nb_max x LB`` and the selector's sorted
list ``nb_max x (ACC + IW)``; all O(nb) per head, no B x L buffer.

Ports (``clk`` rising edge, ``rst`` synchronous active high, a ``ResetSignal``)
    start                  pulse: load the means of one KV group (ignored while busy)
    seq_len [32], group [8], k_addr, q_addr [AB], q_stride [32]   as in hdl/index/sig.py
    pr_code [32]           the row_gamma code (1..2**GB, golden gamma_code), sampled at start
    pq_we, pq_head [8], pq_blk [IW], pq_data [32]   Q scale code of (head, block):
                           mant [15:0], exp [31:16] signed (golden.quant codes)
    pk_we, pk_blk [IW], pk_data [32]                 K scale code of a block
    busy, done, err [3]    the means load (done stays high until the next start); err as
                           hdl.index.params.ERR_* (L = 0, L too big, g, alignment, AXI, and
                           ERR_SEL for a code outside 1..2**GB); rows are refused unless
                           done and err = 0
    m_axi_ar*, m_axi_r*    AXI4 read master (64-bit address, INCR, as hdl/index/sig.py)
    pr_start, pr_row [IW]  pulse: compute row r for all g heads (ignored while a row runs)
    pr_busy, pr_done       the front of a row runs (pr_start is taken while low, possibly
                           before the previous row's pr_done); pulse when a row's result is in
                           the output rows (one pulse per request, in request order)
    pr_err                 the last pr_start was refused (means not loaded, or r >= nb);
                           pr_done still pulses (after the previous row's), the output rows
                           are then left unchanged
    pr_hold                while high, no row is published (its pr_done waits): a reader that
                           copies the output rows over several cycles holds them this way
                           while the next row runs
    pr_rd_head [HIW], pr_rd_blk [IW] -> pr_bit   output row of a head (combinational)
    pr_word [NBMAX]        the whole output row of head pr_rd_head (bit c = block c; combinational)
    pr_cycles [32]         latency of the last finished row (pr_start to pr_done)
Parameters: ``cfg`` (AcceleratorConfig).
"""

from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, block, intbv

from hdl.common.tag_ram import tag_ram
from hdl.common.reset import sync_reset
from hdl.config import AcceleratorConfig
from hdl.index.params import pool_widths
from hdl.index.pool_head import sig_pool_head
from hdl.index.pool_means import sig_pool_means
from hdl.index.pool_rows import sig_pool_rows

UNIT_NAME = "sig_pool"

def _s(bits: int, signed: bool = False, val: int = 0) -> Signal:
    if signed:
        return Signal(intbv(val, min=-(1 << (bits - 1)), max=1 << (bits - 1)))
    return Signal(intbv(val)[bits:])


@block
def sig_pool(clk, rst, start, seq_len, group, k_addr, q_addr, q_stride, pr_code,
             pq_we, pq_head, pq_blk, pq_data, pk_we, pk_blk, pk_data,
             busy, done, err,
             m_axi_arid, m_axi_araddr, m_axi_arlen, m_axi_arsize, m_axi_arburst, m_axi_arvalid,
             m_axi_arready, m_axi_rid, m_axi_rdata, m_axi_rresp, m_axi_rlast, m_axi_rvalid, m_axi_rready,
             pr_start, pr_row, pr_busy, pr_done, pr_err, pr_hold, pr_rd_head, pr_rd_blk, pr_bit, pr_word,
             pr_cycles, cfg):
    w = pool_widths(cfg)
    G, max_blocks, block_index_bits = w["G"], w["NBMAX"], w["IW"]
    mean_word_bits = w["D"] * w["PMW"]
    b = lambda: Signal(bool(0))  # noqa: E731

    # ------------------------------------------------------------ means load -> mean write bus
    nb, code, loaded = _s(w["NBW"]), _s(32), b()
    wr, wr_t, wr_c, wr_word = b(), Signal(intbv(0, min=0, max=G + 2)), _s(block_index_bits), _s(mean_word_bits)
    insts = [sig_pool_means(clk, rst, start, seq_len, group, k_addr, q_addr, q_stride, pr_code, pr_busy,
                            busy, done, err,
                            m_axi_arid, m_axi_araddr, m_axi_arlen, m_axi_arsize, m_axi_arburst,
                            m_axi_arvalid, m_axi_arready, m_axi_rid, m_axi_rdata, m_axi_rresp,
                            m_axi_rlast, m_axi_rvalid, m_axi_rready,
                            nb, code, loaded, wr, wr_t, wr_c, wr_word, cfg=cfg)]

    # ------------------------------------------------------------ memories: means and scale codes
    # K (tag 0) is read at rd_c (the score sweep), the Q of head h (tag h + 1) at the row rr
    rd_c, rr = _s(block_index_bits), _s(block_index_bits)
    kword, kcode = _s(mean_word_bits), _s(32)
    qwords = [_s(mean_word_bits) for _ in range(G)]
    qcodes = [_s(32) for _ in range(G)]
    pq_sel = Signal(intbv(0, min=0, max=256 + 1))
    kc_sel = Signal(intbv(0, min=0, max=1))
    insts.append(tag_ram(clk, wr, wr_t, wr_c, wr_word, rd_c, kword, tag=0, depth=max_blocks))
    insts.append(tag_ram(clk, pk_we, kc_sel, pk_blk, pk_data, rd_c, kcode, tag=0, depth=max_blocks))
    for h in range(G):
        insts.append(tag_ram(clk, wr, wr_t, wr_c, wr_word, rr, qwords[h], tag=h + 1, depth=max_blocks))
        insts.append(tag_ram(clk, pq_we, pq_sel, pq_blk, pq_data, rr, qcodes[h], tag=h + 1,
                             depth=max_blocks))

    # ------------------------------------------------------------ row control and the heads
    a_v, a_first, b_v = b(), b(), b()
    a_cr, b_c = _s(block_index_bits), _s(block_index_bits)
    sel_clr, sel_go, sel_all_idle, publish = b(), b(), b(), b()
    insts.append(sig_pool_rows(clk, rst, pr_start, pr_row, pr_busy, pr_done, pr_err, pr_hold, pr_cycles,
                               loaded, nb, rd_c, rr, a_v, a_cr, a_first, b_v, b_c,
                               sel_clr, sel_go, sel_all_idle, publish))
    sel_idle = [b() for _ in range(G)]
    maps = [_s(max_blocks) for _ in range(G)]
    outs = [_s(max_blocks) for _ in range(G)]
    for h in range(G):
        insts.append(sig_pool_head(clk, rst, qwords[h], kword, qcodes[h], kcode, a_v, a_cr, a_first,
                                   b_v, b_c, sel_clr, sel_go, code, sel_idle[h], maps[h], cfg=cfg))
    idle_cat = ConcatSignal(*sel_idle) if G > 1 else sel_idle[0]
    out_cat = ConcatSignal(*reversed(outs)) if G > 1 else outs[0]

    @always_comb
    def wiring():
        sel_all_idle.next = idle_cat == (1 << G) - 1
        pr_bit.next = (out_cat >> (max_blocks * pr_rd_head + pr_rd_blk)) & 1
        pr_word.next = (out_cat >> (max_blocks * pr_rd_head)) & ((1 << max_blocks) - 1)
        pq_sel.next = pq_head + 1
        kc_sel.next = 0

    @always(clk.posedge)
    def output_rows():
        # the second buffer: a row's maps replace the output rows at its pr_done
        if publish and not rst:
            for h in range(G):
                outs[h].next = maps[h]

    return insts, wiring, output_rows


def ports(cfg: AcceleratorConfig) -> dict:
    """Fresh signals for every port of the unit (for conversion and benches)."""
    w = pool_widths(cfg)
    b = lambda: Signal(bool(0))  # noqa: E731
    addr_bits = w["AB"]
    return dict(
        clk=b(), rst=sync_reset(), start=b(), seq_len=_s(32), group=_s(8), k_addr=_s(addr_bits), q_addr=_s(addr_bits),
        q_stride=_s(32), pr_code=_s(32), pq_we=b(), pq_head=_s(8), pq_blk=_s(w["IW"]), pq_data=_s(32),
        pk_we=b(), pk_blk=_s(w["IW"]), pk_data=_s(32), busy=b(), done=b(), err=_s(3),
        m_axi_arid=_s(1), m_axi_rid=_s(1), m_axi_araddr=_s(addr_bits), m_axi_arlen=_s(8), m_axi_arsize=_s(3),
        m_axi_arburst=_s(2), m_axi_arvalid=b(), m_axi_arready=b(), m_axi_rdata=_s(w["AXW"]),
        m_axi_rresp=_s(2), m_axi_rlast=b(), m_axi_rvalid=b(), m_axi_rready=b(),
        pr_start=b(), pr_row=_s(w["IW"]), pr_busy=b(), pr_done=b(), pr_err=b(), pr_hold=b(),
        pr_rd_head=_s(w["HIW"]), pr_rd_blk=_s(w["IW"]), pr_bit=b(), pr_word=_s(w["NBMAX"]),
        pr_cycles=_s(32))


def top(cfg: AcceleratorConfig):
    """The unit to convert for ``cfg`` (used by :mod:`hdl.convert`)."""
    return sig_pool(**ports(cfg), cfg=cfg)
