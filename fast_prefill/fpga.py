"""Inputs of the Vivado and Vitis flows in ``fpga/``, generated from the config and the shell.

The TCL in ``fpga/`` hard-codes no port name, register offset, HBM binding or clock:
``build.tcl`` runs ``python -m fast_prefill.fpga emit ...`` and sources the
``design.tcl`` this module writes, and the Vitis path reads the ``kernel.xml`` and
``link.cfg`` written beside it.  Everything comes from :mod:`hdl.top.shell` (ports,
registers, m_axi bundles) and :class:`hdl.config.AcceleratorConfig` (widths, clock).

HBM plan (U280: 32 pseudo-channels of 256 MiB).  Each pointer argument has a home
group of pseudo-channels (where the host puts the buffer for bandwidth) and is declared
in kernel.xml on one bundle.  XRT may place a buffer in any pseudo-channel its
declared bundle reaches, so a bundle that touches a buffer declared elsewhere must
reach all of that bundle's range too; the ranges below are that closure:

============  =====================  ==================  ===============
bundle        buffers it touches     declared on it      reaches (PCs)
============  =====================  ==================  ===============
``m_axi_q``   Q, scale codes         q_addr, scale_addr  0-7
``m_axi_idx`` K, Q (last block)      k_addr              0-15
``m_axi_kv``  V, K                   v_addr              0-23
``m_axi_o``   O, index sets          o_addr, idx_addr    24-31 (alone)
============  =====================  ==================  ===============

Home groups: Q and scale codes 0-7, K 8-15, V 16-23, O and index sets 24-31.  Each
bundle enters the HBM switch at the first pseudo-channel of its first buffer's home.

Public API
    TOP_NAME, PART, PLATFORM, VLNV, REF_CLK_MHZ
    bundles(cfg) -> list[Bundle]              the m_axi bundles with their HBM binding
    check_bundles(bundles)                    raises ConfigError on a bad binding
    parse_module_ports(text, module) -> [(name, dir, width)]
    check_top_ports(path, cfg)                raises UserError when the RTL misses a shell port
    kernel_files(verilog_dir) -> [Path]       the RTL files of the kernel
    kernel_xml(cfg) -> str                    Vitis kernel description
    link_cfg(cfg, clock_mhz=None) -> str      ``v++ --link`` configuration
    design_tcl(cfg, files, clock_mhz=None) -> str   variables that fpga/*.tcl read
    write_inputs(cfg, verilog_dir, out_dir, clock_mhz=None) -> {name: Path}
    convert_top(preset_name, out_dir) -> Path   runs `fast-prefill convert --unit fast_prefill_top`
    install_message() -> str                  what to install when vivado is missing
    main(argv)                                ``python -m fast_prefill.fpga emit ...``
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from hdl.errors import UserError
from hdl.top import shell
from hdl.config import PRESETS, AcceleratorConfig, ConfigError, preset

TOP_NAME = "fast_prefill_top"
PART = "xcu280-fsvh2892-2L-e"
PLATFORM = "xilinx_u280_gen3x16_xdma_1_202211_1"
VLNV = f"fastprefill.org:kernel:{TOP_NAME}:1.0"
REF_CLK_MHZ = 100.0            # U280 SYSCLK0, the HBM reference and the MMCM input
HBM_PCS = 32
HBM_PC_BYTES = 256 << 20
VIVADO_MIN = "2023.2"

# Where each pointer argument lives: first and last pseudo-channel of its group.
BUFFER_PCS: dict[str, tuple[int, int]] = {
    "q_addr": (0, 7), "scale_addr": (0, 7),
    "k_addr": (8, 15),
    "v_addr": (16, 23),
    "o_addr": (24, 31), "idx_addr": (24, 31),
}
# Which buffers each m_axi bundle reads or writes (hdl.top.shell.M_AXI_PORTS says what
# travels), the main one first: the bundle enters the HBM at that buffer's home.
BUNDLE_BUFFERS: dict[str, tuple[str, ...]] = {
    "q": ("q_addr", "scale_addr"),
    "idx": ("k_addr", "q_addr"),
    "kv": ("v_addr", "k_addr"),
    "o": ("o_addr", "idx_addr"),
}
# The one port each pointer argument is declared on in kernel.xml (every port gets one).
ARG_BUNDLE: dict[str, str] = {
    "q_addr": "q", "scale_addr": "q", "k_addr": "idx", "v_addr": "kv",
    "o_addr": "o", "idx_addr": "o",
}


@dataclass(frozen=True)
class Bundle:
    """One m_axi bundle of the top and its HBM binding.

    name       bundle name of ``hdl.top.shell.M_AXI_PORTS`` (``q``)
    interface  the port prefix in the RTL (``m_axi_q``)
    direction  "read" or "write"
    pcs        pseudo-channels it reaches (contiguous, ascending)
    saxi       the HBM IP slave port it enters by (Vivado flow)
    args       the pointer arguments declared on it in kernel.xml
    touches    the pointer arguments whose buffers it reads or writes
    """

    name: str
    interface: str
    direction: str
    pcs: tuple[int, ...]
    saxi: int
    args: tuple[str, ...]
    touches: tuple[str, ...]

    @property
    def hbm_range(self) -> str:
        return f"HBM[{self.pcs[0]}:{self.pcs[-1]}]" if len(self.pcs) > 1 else f"HBM[{self.pcs[0]}]"


def _home(arg: str) -> set[int]:
    lo, hi = BUFFER_PCS[arg]
    return set(range(lo, hi + 1))


def bundles(cfg: AcceleratorConfig) -> list[Bundle]:
    """The m_axi bundles of the top, in ``hdl.top.shell.M_AXI_PORTS`` order, with their binding."""
    if not isinstance(cfg, AcceleratorConfig):
        raise ConfigError(f"cfg: expected an AcceleratorConfig, got {type(cfg).__name__}")
    if set(BUNDLE_BUFFERS) != set(shell.M_AXI_PORTS):
        raise ConfigError(f"fpga: HBM plan covers bundles {sorted(BUNDLE_BUFFERS)} but the shell "
                          f"has {sorted(shell.M_AXI_PORTS)}")
    # Reach: the homes of its own arguments and of every buffer it touches, grown until a
    # bundle reaches everything the bundle declaring a touched buffer reaches (fixed point).
    reach = {b: set().union(*(_home(a) for a in BUNDLE_BUFFERS[b]),
                            *(_home(a) for a, o in ARG_BUNDLE.items() if o == b))
             for b in BUNDLE_BUFFERS}
    changed = True
    while changed:
        changed = False
        for b, bufs in BUNDLE_BUFFERS.items():
            grown = reach[b].union(*(reach[ARG_BUNDLE[a]] for a in bufs))
            if grown != reach[b]:
                reach[b], changed = grown, True
    out, used_saxi = [], set()
    for name, (direction, _) in shell.M_AXI_PORTS.items():
        pcs = sorted(reach[name])
        home = BUFFER_PCS[BUNDLE_BUFFERS[name][0]][0]
        saxi = next((pc for pc in pcs if pc >= home and pc not in used_saxi),
                    next((pc for pc in pcs if pc not in used_saxi), None))
        if saxi is None:
            raise ConfigError(f"fpga: no free HBM slave port in the range of bundle {name!r}")
        used_saxi.add(saxi)
        args = tuple(a for a, b in ARG_BUNDLE.items() if b == name)
        out.append(Bundle(name, f"m_axi_{name}", direction, tuple(pcs), saxi, args,
                          BUNDLE_BUFFERS[name]))
    check_bundles(out)
    return out


def check_bundles(bnds: list[Bundle]) -> None:
    """Raise ConfigError unless every binding is legal.

    PCs in 0..31 and contiguous (``HBM[a:b]``), a written bundle shares no PC with any
    other bundle, distinct HBM slave ports inside the bundle's range, every pointer
    argument of the shell declared on exactly one bundle, and every bundle reaches every
    PC where a buffer it touches may be placed (the range of the declaring bundle).
    """
    pointers = [r.name for r in shell.registers() if r.access == "rw" and r.name.endswith("_addr")]
    declared = [a for b in bnds for a in b.args]
    if sorted(declared) != sorted(pointers):
        raise ConfigError(f"fpga: pointer arguments declared {sorted(declared)}, shell has {sorted(pointers)}")
    owner = {a: b for b in bnds for a in b.args}
    for b in bnds:
        if not b.pcs:
            raise ConfigError(f"fpga: bundle {b.name!r} is bound to no pseudo-channel")
        bad = [pc for pc in b.pcs if not 0 <= pc < HBM_PCS]
        if bad:
            raise ConfigError(f"fpga: bundle {b.name!r} bound to pseudo-channel(s) {bad} outside 0..31")
        if list(b.pcs) != list(range(b.pcs[0], b.pcs[-1] + 1)):
            raise ConfigError(f"fpga: bundle {b.name!r} pseudo-channels {list(b.pcs)} are not contiguous")
        if b.saxi not in b.pcs:
            raise ConfigError(f"fpga: bundle {b.name!r} enters the HBM at port {b.saxi}, "
                              f"outside its range {b.hbm_range}")
        for arg in b.touches:
            if arg not in owner:
                raise ConfigError(f"fpga: bundle {b.name!r} touches {arg!r}, which no bundle declares")
            missing = sorted(set(owner[arg].pcs) - set(b.pcs))
            if missing:
                raise ConfigError(f"fpga: {arg!r} may be placed in pseudo-channel(s) {missing} "
                                  f"({owner[arg].name!r} reaches them) which bundle {b.name!r} "
                                  f"({b.hbm_range}) does not reach")
        for arg in b.args:
            if not _home(arg) <= set(b.pcs):
                raise ConfigError(f"fpga: {arg!r}'s home {sorted(_home(arg))} is outside "
                                  f"bundle {b.name!r}'s range {b.hbm_range}")
    for b in bnds:
        if b.direction != "write":
            continue
        for other in bnds:
            shared = sorted(set(b.pcs) & set(other.pcs)) if other is not b else []
            if shared:
                raise ConfigError(f"fpga: written bundle {b.name!r} shares pseudo-channel(s) "
                                  f"{shared} with bundle {other.name!r}")
    saxis = [b.saxi for b in bnds]
    if len(set(saxis)) != len(saxis):
        raise ConfigError(f"fpga: two bundles enter the HBM by the same slave port: {saxis}")


# ---- the RTL ---------------------------------------------------------------------------

_DECL = re.compile(r"^\s*(input|output|inout)\b\s*(?:wire|reg)?\s*(?:signed)?\s*"
                   r"(?:\[\s*(\d+)\s*:\s*(\d+)\s*\])?\s*([^;]+);", re.M)


def parse_module_ports(text: str, module: str) -> list[tuple[str, str, int]]:
    """(name, "in"/"out"/"inout", width) of every port of ``module`` in Verilog ``text``.

    Reads the non-ANSI header that MyHDL writes (``module m (a, b); input a; ...``) and
    ANSI headers (``module m (input wire [7:0] a, ...)``).  Raises ValueError when the
    module is absent.
    """
    m = re.search(rf"\bmodule\s+{re.escape(module)}\s*(?:#\s*\(.*?\)\s*)?\((.*?)\)\s*;(.*?)\bendmodule\b",
                  text, re.S)
    if not m:
        raise ValueError(f"no module {module!r} in the Verilog text")
    header, body = m.group(1), m.group(2)
    header = re.sub(r"//[^\n]*", "", header)
    dirs = {"input": "in", "output": "out", "inout": "inout"}
    ports: list[tuple[str, str, int]] = []
    if re.search(r"\b(input|output|inout)\b", header):        # ANSI
        for dm in re.finditer(r"(input|output|inout)\b\s*(?:wire|reg)?\s*(?:signed)?\s*"
                              r"(?:\[\s*(\d+)\s*:\s*(\d+)\s*\])?\s*(.+?)(?=,\s*(?:input|output|inout)\b|$)",
                              header.strip(), re.S):
            width = abs(int(dm.group(2)) - int(dm.group(3))) + 1 if dm.group(2) else 1
            for name in dm.group(4).split(","):
                ports.append((name.strip(), dirs[dm.group(1)], width))
        return ports
    order = [n.strip() for n in header.split(",") if n.strip()]
    decl: dict[str, tuple[str, int]] = {}
    for dm in _DECL.finditer(re.sub(r"//[^\n]*", "", body)):
        width = abs(int(dm.group(2)) - int(dm.group(3))) + 1 if dm.group(2) else 1
        for name in dm.group(4).split(","):
            decl[name.strip()] = (dirs[dm.group(1)], width)
    missing = [n for n in order if n not in decl]
    if missing:
        raise ValueError(f"module {module!r}: ports without a direction declaration: {missing[:5]}")
    return [(n, *decl[n]) for n in order]


def check_top_ports(path: str | Path, cfg: AcceleratorConfig) -> list[tuple[str, str, int]]:
    """Check that ``path`` declares ``fast_prefill_top`` with exactly ``shell.top_ports(cfg)``.

    Returns the parsed ports; raises UserError naming the missing, extra or mis-sized ports.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"fpga: no such Verilog file: {path}")
    try:
        got = parse_module_ports(path.read_text(), TOP_NAME)
    except ValueError as exc:
        raise UserError(f"fpga: {path}: {exc}") from None
    want = {n: (d, w) for n, d, w in shell.top_ports(cfg)}
    have = {n: (d, w) for n, d, w in got}
    problems = []
    missing = sorted(set(want) - set(have))
    extra = sorted(set(have) - set(want))
    if missing:
        problems.append(f"missing ports {missing[:8]}{' ...' if len(missing) > 8 else ''}")
    if extra:
        problems.append(f"ports not in hdl.top.shell {extra[:8]}{' ...' if len(extra) > 8 else ''}")
    for n in sorted(set(want) & set(have)):
        if want[n] != have[n]:
            problems.append(f"{n}: shell says {want[n]}, RTL has {have[n]}")
    if problems:
        raise UserError(f"fpga: {path} does not match hdl.top.shell.top_ports (config {cfg.name!r}): "
                        + "; ".join(problems[:10]))
    return got


def kernel_files(verilog_dir: str | Path) -> list[Path]:
    """The RTL files of the kernel: the converter's file of the top.

    MyHDL flattens the hierarchy into one module per converted unit, so the top's file
    holds the whole kernel.
    """
    d = Path(verilog_dir)
    top = d / f"{TOP_NAME}.v"
    if not top.exists():
        raise UserError(f"fpga: no {TOP_NAME}.v in {d}: run `fast-prefill convert --preset P "
                        f"--unit {TOP_NAME} --out {d}` (or leave --verilog out)")
    return [top.resolve()]


# ---- generated files -------------------------------------------------------------------

def _args() -> list[shell.Register]:
    return [r for r in shell.registers() if r.access == "rw"]


def kernel_xml(cfg: AcceleratorConfig) -> str:
    """The Vitis RTL kernel description (``package_xo -kernel_xml``)."""
    ctrl_range = 1 << shell.CTRL_ADDR_BITS
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<root versionMajor="1" versionMinor="6">',
             f'  <kernel name="{TOP_NAME}" language="ip_c" vlnv="{VLNV}" attributes="" '
             'preferredWorkGroupSizeMultiple="0" workGroupSize="1" interrupt="true" '
             'hwControlProtocol="ap_ctrl_hs">',
             '    <ports>',
             f'      <port name="s_axi_control" mode="slave" range="0x{ctrl_range:X}" '
             f'dataWidth="{shell.CTRL_DATA_BITS}" portType="addressable" base="0x0"/>']
    for b in bundles(cfg):
        lines.append(f'      <port name="{b.interface}" mode="master" range="0xFFFFFFFFFFFFFFFF" '
                     f'dataWidth="{cfg.axi_data_bits}" portType="addressable" base="0x0"/>')
    lines += ['    </ports>', '    <args>']
    for i, reg in enumerate(_args()):
        size = reg.bits // 8
        if reg.name in ARG_BUNDLE:
            port, qual, typ = f"m_axi_{ARG_BUNDLE[reg.name]}", 1, "void*"
        else:
            port, qual, typ = "s_axi_control", 0, "uint"
        lines.append(f'      <arg name="{reg.name}" addressQualifier="{qual}" id="{i}" port="{port}" '
                     f'size="0x{size:X}" offset="0x{reg.offset:X}" type="{typ}" '
                     f'hostOffset="0x0" hostSize="0x{size:X}"/>')
    lines += ['    </args>', '  </kernel>', '</root>', '']
    return "\n".join(lines)


def link_cfg(cfg: AcceleratorConfig, clock_mhz: float | None = None) -> str:
    """``v++ --link --config`` file: one compute unit, each m_axi bundle bound to its HBM range."""
    mhz = _clock(cfg, clock_mhz)
    cu = f"{TOP_NAME}_1"
    lines = [f"# generated by fast_prefill.fpga for config {cfg.name!r}; do not edit",
             f"platform={PLATFORM}", "", "[connectivity]", f"nk={TOP_NAME}:1:{cu}"]
    for b in bundles(cfg):
        lines.append(f"sp={cu}.{b.interface}:{b.hbm_range}")
    lines += ["", "[clock]", f"freqHz={round(mhz * 1e6)}:{cu}.ap_clk", ""]
    return "\n".join(lines)


def _clock(cfg: AcceleratorConfig, clock_mhz: float | None) -> float:
    mhz = cfg.clock_mhz if clock_mhz is None else float(clock_mhz)
    if not 10.0 <= mhz <= 500.0:
        raise ConfigError(f"clock_mhz: {mhz} MHz is outside the MMCM output range used here (10..500)")
    return mhz


def _tcl_quote(s: str) -> str:
    if re.search(r"[\s{}\\\[\]$\"]", s) or not s:
        if "{" in s or "}" in s or "\\" in s:
            raise ValueError(f"cannot quote {s!r} for TCL")
        return "{" + s + "}"
    return s


def design_tcl(cfg: AcceleratorConfig, files: list[Path], clock_mhz: float | None = None) -> str:
    """TCL that sets the ``fp_*`` variables the scripts in ``fpga/`` read."""
    mhz = _clock(cfg, clock_mhz)
    q = _tcl_quote
    out = [f"# generated by fast_prefill.fpga for config {cfg.name!r}; do not edit",
           f"set fp_config {q(cfg.name)}",
           f"set fp_part {PART}",
           f"set fp_platform {PLATFORM}",
           f"set fp_top {TOP_NAME}",
           f"set fp_vlnv {VLNV}",
           f"set fp_clock_mhz {mhz:g}",
           f"set fp_ref_clk_mhz {REF_CLK_MHZ:g}",
           f"set fp_files [list {' '.join(q(str(f)) for f in files)}]",
           "set fp_clk_port ap_clk",
           "set fp_rst_port ap_rst_n",
           "set fp_irq_port interrupt",
           "set fp_ctrl_intf s_axi_control",
           f"set fp_ctrl_range {1 << shell.CTRL_ADDR_BITS}",
           f"set fp_axi_data_bits {cfg.axi_data_bits}",
           f"set fp_hbm_pc_bytes {HBM_PC_BYTES}",
           "# bundles: name interface direction saxi first_pc last_pc",
           "set fp_bundles [list \\"]
    for b in bundles(cfg):
        out.append(f"  [list {b.name} {b.interface} {b.direction} {b.saxi} {b.pcs[0]} {b.pcs[-1]}] \\")
    out.append("]")
    out.append("# registers: name offset bits access")
    out.append("set fp_registers [list \\")
    for r in shell.registers():
        out.append(f"  [list {r.name} {r.offset} {r.bits} {r.access}] \\")
    out.append("]")
    out.append("# pointer arguments: name bundle")
    out.append("set fp_pointer_args [list " + " ".join(f"[list {a} {b}]" for a, b in ARG_BUNDLE.items()) + "]")
    return "\n".join(out) + "\n"


def write_inputs(cfg: AcceleratorConfig, verilog_dir: str | Path, out_dir: str | Path,
                 clock_mhz: float | None = None) -> dict[str, Path]:
    """Check the top's RTL against the shell and write design.tcl, kernel.xml, link.cfg."""
    files = kernel_files(verilog_dir)
    check_top_ports(files[0], cfg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {"design.tcl": design_tcl(cfg, files, clock_mhz), "kernel.xml": kernel_xml(cfg),
               "link.cfg": link_cfg(cfg, clock_mhz)}
    paths = {}
    for name, text in written.items():
        (out / name).write_text(text)
        paths[name] = out / name
    return paths


def install_message() -> str:
    return (f"vivado is not on PATH, so no bitstream can be built here (nothing was built).\n"
            f"Install AMD Vivado (or Vitis, which includes it) {VIVADO_MIN} or later with Alveo U280 "
            f"device support ({PART}),\n"
            f"and for the Vitis path the Alveo U280 platform {PLATFORM} "
            f"(xilinx_u280_gen3x16_xdma, deployment and development packages) with XRT;\n"
            f"then `source <install dir>/Vivado/<version>/settings64.sh` (and "
            f"`source /opt/xilinx/xrt/setup.sh` for v++) and run this command again.")


def convert_top(preset_name: str, out_dir: str | Path) -> Path:
    """Run ``fast-prefill convert --preset P --unit fast_prefill_top --out DIR``; returns DIR.

    Raises UserError when the converter fails or writes no top (unit missing or
    unsupported at this preset).
    """
    import subprocess

    out_dir = Path(out_dir)
    cmd = [sys.executable, "-m", "fast_prefill.cli", "convert", "--preset", preset_name,
           "--unit", TOP_NAME, "--out", str(out_dir)]
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    sys.stdout.write(proc.stdout)
    if proc.returncode != 0 or not (out_dir / f"{TOP_NAME}.v").exists():
        raise UserError(f"fpga: `fast-prefill convert --preset {preset_name} --unit {TOP_NAME}` "
                        f"wrote no {TOP_NAME}.v (exit {proc.returncode}): "
                        f"{(proc.stderr or proc.stdout).strip()[-600:]}")
    return out_dir


def main(argv: list[str] | None = None) -> int:
    """``python -m fast_prefill.fpga emit --preset P --out DIR (--verilog DIR | --convert-to DIR)
    [--clock-mhz F]``: write design.tcl, kernel.xml and link.cfg (what fpga/*.tcl source)."""
    p = argparse.ArgumentParser(prog="python -m fast_prefill.fpga")
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("emit", help="write design.tcl, kernel.xml and link.cfg")
    e.add_argument("--preset", required=True, choices=sorted(PRESETS))
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--verilog", type=Path, help="folder holding the converted top")
    src.add_argument("--convert-to", type=Path, help="convert the top into this folder first")
    e.add_argument("--out", required=True, type=Path)
    e.add_argument("--clock-mhz", type=float, default=None)
    args = p.parse_args(argv)
    try:
        vdir = args.verilog or convert_top(args.preset, args.convert_to)
        paths = write_inputs(preset(args.preset), vdir, args.out, args.clock_mhz)
    except (UserError, ConfigError) as exc:
        print(f"fast_prefill.fpga: error: {exc}", file=sys.stderr)
        return 2
    for path in paths.values():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
