"""The Vivado/Vitis scripts of ``fpga/``, run under ``tclsh`` with stand-ins for Vivado.

Every Vivado command the scripts use is replaced by a stand-in that records its call
(JSON, one line each) and returns a plausible handle; the real generator
(``python -m fast_prefill.fpga emit``) runs for real.  The recorded calls are then
checked against the generated RTL and ``hdl/top/shell.py``: the part, the file list, the
top and every kernel port the scripts reference, the HBM bindings, the clock, the
register map of kernel.xml and of the packaged IP.  The stand-ins write no bitstream,
and the scripts must say so and fail rather than claim one.

A Vivado command missing from the stand-ins makes tclsh stop with "invalid command
name", so the list below is also the list of Vivado commands the scripts use.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fast_prefill import fpga
from hdl.errors import UserError
from hdl.top import shell
from hdl.config import ConfigError, preset

ROOT = Path(__file__).resolve().parents[1]
TCLSH = shutil.which("tclsh")
pytestmark = pytest.mark.skipif(TCLSH is None, reason="tclsh missing: apt-get install tcl")

PRESET = "ci"
KERNEL = f"{fpga.TOP_NAME}_0"

STANDINS = r"""
set ::fp_log [open $::env(FP_STANDIN_LOG) w]
proc fp_json {s} {
    return "\"[string map [list \\ \\\\ \" \\\" \n \\n \r \\r \t \\t] $s]\""
}
proc fp_record {name arglist} {
    set parts [list [fp_json $name]]
    foreach a $arglist { lappend parts [fp_json $a] }
    puts $::fp_log "\[[join $parts ,]\]"
    flush $::fp_log
}
# name -> what the stand-in returns: "" nothing, last = its last argument, first = first,
# param = "<first>@<last>" (a register parameter names its register)
set returns {
    create_project "" add_files "" set_property "" current_fileset fileset current_project project
    update_compile_order "" close_project "" update_ip_catalog "" create_bd_design ""
    create_bd_intf_port last create_bd_port last create_bd_cell last
    get_bd_intf_ports last get_bd_intf_pins last get_bd_pins last get_bd_ports last
    get_bd_addr_spaces last get_bd_addr_segs last get_files last get_runs last
    connect_bd_intf_net "" connect_bd_net "" assign_bd_address "" validate_bd_design ""
    save_bd_design "" generate_target "" launch_runs "" wait_on_run "" open_run ""
    close_design "" report_utilization "" report_timing_summary "" package_xo ""
    ipx::package_project "" ipx::unload_core "" ipx::edit_ip_in_project ""
    ipx::current_core core ipx::associate_bus_interfaces "" ipx::get_bus_interfaces first
    ipx::add_bus_parameter first ipx::get_bus_parameters first ipx::add_memory_map first
    ipx::add_address_block first ipx::add_register first ipx::add_register_parameter param
    ipx::create_xgui_files "" ipx::update_checksums "" ipx::check_integrity "" ipx::save_core ""
}
namespace eval ipx {}
foreach {cmd ret} $returns {
    proc $cmd {args} [format {
        fp_record %s $args
        switch -- %s {
            last { return [lindex $args end] }
            first { return [lindex $args 0] }
            param { return "[lindex $args 0]@[lindex $args end]" }
            default { return %s }
        }
    } [list $cmd] [list $ret] [list $ret]]
}
proc get_property {args} {
    fp_record get_property $args
    switch -- [lindex $args 0] {
        PROGRESS { return "100%" }
        STATUS { return "write_bitstream Complete!" }
        DIRECTORY { return [file join $::env(FP_STANDIN_RUNS) [lindex $args end]] }
        default { return "" }
    }
}
proc make_wrapper {args} {
    fp_record make_wrapper $args
    return [file join $::env(FP_STANDIN_RUNS) wrapper.v]
}
"""


# ---- helpers ------------------------------------------------------------------------

def tcl_list(text: str) -> list[str]:
    """Split a Tcl list (words, {braced} and "quoted" elements; no substitution needed here)."""
    out, i, n = [], 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        if text[i] == "{":
            depth, j = 1, i + 1
            while depth:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            out.append(text[i + 1:j - 1])
            i = j
        elif text[i] == '"':
            j = text.index('"', i + 1)
            out.append(text[i + 1:j])
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace():
                j += 1
            out.append(text[i:j])
            i = j
    return out


def port_list_verilog(cfg) -> str:
    """A module with exactly the shell's ports (used only until the real top exists)."""
    ports = shell.top_ports(cfg)
    decls = [f"{'input' if d == 'in' else 'output'} {'' if w == 1 else f'[{w - 1}:0] '}{n};"
             for n, d, w in ports]
    return (f"module {fpga.TOP_NAME} (\n" + ",\n".join(f"    {n}" for n, _, _ in ports)
            + "\n);\n" + "\n".join(decls) + "\nendmodule\n")


@pytest.fixture(scope="module")
def real_top(tmp_path_factory):
    """The converter's output for the top at the ci preset: (folder, [paths])."""
    from hdl.convert import convert_all
    d = tmp_path_factory.mktemp("rtl")
    paths = convert_all(preset(PRESET), d, [fpga.TOP_NAME])
    return d, [Path(p).resolve() for p in paths.values()]


@pytest.fixture(scope="module")
def port_top(tmp_path_factory):
    d = tmp_path_factory.mktemp("ports")
    (d / f"{fpga.TOP_NAME}.v").write_text(port_list_verilog(preset(PRESET)))
    return d


class Run:
    def __init__(self, proc, calls, out):
        self.rc, self.stdout, self.stderr = proc.returncode, proc.stdout, proc.stderr
        self.calls, self.out = calls, out

    def named(self, cmd):
        return [c[1:] for c in self.calls if c[0] == cmd]

    def set_dicts(self, obj):
        """Every ``set_property -dict`` applied to ``obj``, merged."""
        merged = {}
        for a in self.named("set_property"):
            if a[0] == "-dict" and a[-1] == obj:
                items = tcl_list(a[1])
                merged.update(dict(zip(items[::2], items[1::2])))
        return merged

    def prop(self, name, obj):
        vals = [a[1] for a in self.named("set_property") if a[0] == name and a[-1] == obj]
        return vals[-1] if vals else None


def run_tcl(script: str, args: list[str], tmp: Path, env_extra=None) -> Run:
    log, runs = tmp / "calls.jsonl", tmp / "runs"
    runner = tmp / "runner.tcl"
    runner.write_text(STANDINS + "\nset argv [list " + " ".join("{" + a + "}" for a in args) + "]\n"
                      f"set argc [llength $argv]\nsource {{{ROOT / 'fpga' / script}}}\n")
    env = {**os.environ, "FP_STANDIN_LOG": str(log), "FP_STANDIN_RUNS": str(runs), **(env_extra or {})}
    proc = subprocess.run([TCLSH, str(runner)], capture_output=True, text=True, env=env,
                          timeout=900, cwd=tmp)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    out = next((Path(args[i + 1]) for i, a in enumerate(args) if a == "--out"), None)
    return Run(proc, calls, out)


def build_args(vdir, out, *extra):
    return ["--preset", PRESET, "--verilog", str(vdir), "--out", str(out),
            "--python", sys.executable, "--jobs", "2", *extra]


# ---- checks shared by the port-list and the real-RTL runs -----------------------------

def check_build_run(run: Run, cfg, verilog: Path, clock_mhz: float):
    assert run.rc == 1, (run.rc, run.stdout[-2000:], run.stderr[-2000:])
    # The stand-ins write no bitstream: the script must fail saying so, and claim nothing.
    assert "no bitstream was found" in run.stderr
    assert "[fast-prefill] bitstream:" not in run.stdout
    assert not list(run.out.rglob("*.bit")), "a .bit file exists although Vivado never ran"

    # part of every project
    projects = run.named("create_project")
    assert len(projects) == 2
    for p in projects:
        assert p[p.index("-part") + 1] == fpga.PART == "xcu280-fsvh2892-2L-e"

    # RTL file list: the first add_files (packaging project)
    rtl = [a for a in run.named("add_files") if "-fileset" not in a]
    files = [Path(f) for f in tcl_list(rtl[0][-1])]
    assert files == [(verilog / f"{fpga.TOP_NAME}.v").resolve()]

    # top name: the packaging project's top and the block design's cell
    assert ["top", fpga.TOP_NAME, "fileset"] in run.named("set_property")
    cells = {a[-1]: a[a.index("-vlnv") + 1] for a in run.named("create_bd_cell")}
    assert cells[KERNEL] == fpga.VLNV and fpga.VLNV.split(":")[2] == fpga.TOP_NAME

    ports = {n: (d, w) for n, d, w in fpga.parse_module_ports(verilog.joinpath(
        f"{fpga.TOP_NAME}.v").read_text(), fpga.TOP_NAME)}
    check_referenced_ports(run, ports)

    # every bundle of the RTL is connected to the HBM and nothing else is
    rtl_bundles = sorted({m.group(1) for n in ports for m in [re.match(r"m_axi_(\w+?)_awvalid$", n)] if m})
    assert rtl_bundles == sorted(shell.M_AXI_PORTS)
    check_hbm(run, cfg, rtl_bundles)

    # clock: the MMCM, the HBM AXI clock and the IP's FREQ_HZ all ask for the config's clock
    mmcm = run.set_dicts("kernel_clk")
    assert float(mmcm["CONFIG.CLKOUT1_REQUESTED_OUT_FREQ"]) == clock_mhz
    assert float(mmcm["CONFIG.PRIM_IN_FREQ"]) == fpga.REF_CLK_MHZ == 100.0
    assert float(run.set_dicts("hbm_0")["CONFIG.USER_AXI_CLK_FREQ"]) == clock_mhz
    freq = [a[1] for a in run.named("set_property") if a[0] == "value" and a[-1] == "FREQ_HZ"]
    assert freq == [str(round(clock_mhz * 1e6))]

    # registers of the packaged IP: every shell register at its offset and width
    regs = run.named("ipx::add_register")
    offsets = {a[0]: int(run.prop("address_offset", a[0])) for a in regs}
    sizes = {a[0]: int(run.prop("size", a[0])) for a in regs}
    assert offsets == {r.name: r.offset for r in shell.registers()}
    assert sizes == {r.name: r.bits for r in shell.registers()}
    busif = {a[-1].split("@")[1]: a[1] for a in run.named("set_property")
             if a[0] == "value" and a[-1].startswith("ASSOCIATED_BUSIF@")}
    kxml = ET.parse(run.out / "gen" / "kernel.xml").getroot()
    declared = {a.get("name"): a.get("port") for a in kxml.iter("arg") if a.get("addressQualifier") == "1"}
    assert busif == declared

    # kernel.xml: arguments = shell's rw registers at their offsets; ports exist in the RTL
    check_kernel_xml(run.out / "gen" / "kernel.xml", cfg, ports)

    # reports requested into the output folder
    reports = [Path(a[a.index("-file") + 1]) for a in
               run.named("report_utilization") + run.named("report_timing_summary")]
    assert {p.name for p in reports} >= {"utilization.rpt", "timing_summary.rpt"}
    assert all(p.parent == run.out for p in reports)
    assert [a[0] for a in run.named("launch_runs")] == ["synth_1", "impl_1"]
    assert "write_bitstream" in run.named("launch_runs")[1]

    # board constraints name only ports the block design creates
    check_xdc(run)


def check_referenced_ports(run: Run, ports: dict):
    """Every kernel pin or interface the scripts name exists in the RTL's module header."""
    refs = set()
    for c in run.calls:
        for a in c[1:]:
            refs.update(re.findall(rf"\b{KERNEL}/(\w+)", a))
    for a in run.named("ipx::associate_bus_interfaces"):
        if "-busif" in a:
            refs.add(a[a.index("-busif") + 1])
        refs.add(a[a.index("-clock") + 1])
        if "-reset" in a:
            refs.add(a[a.index("-reset") + 1])
    assert {"ap_clk", "ap_rst_n", "s_axi_control", *(f"m_axi_{b}" for b in shell.M_AXI_PORTS)} <= refs
    for ref in sorted(refs):
        if ref in ports:
            continue
        # an interface: all of its signals must be ports with the shell's direction and width
        sigs = shell.s_axi_control_signals() if ref == "s_axi_control" else (
            shell.m_axi_signals(preset(PRESET)) if ref.startswith("m_axi_") else None)
        assert sigs is not None, f"scripts reference {KERNEL}/{ref}, which is no port or interface"
        for s, d, w in sigs:
            assert ports.get(f"{ref}_{s}") == (d, w), f"{ref}_{s}: RTL has {ports.get(f'{ref}_{s}')}"


def check_hbm(run: Run, cfg, rtl_bundles):
    pc_bytes = 256 << 20
    hbm = run.set_dicts("hbm_0")
    bound: dict[str, set[int]] = {}
    saxi_of: dict[str, int] = {}
    for a in run.named("assign_bd_address"):
        space = a[a.index("-target_address_space") + 1]
        m = re.fullmatch(rf"{KERNEL}/m_axi_(\w+)", space)
        if not m:
            continue
        seg = re.fullmatch(r"hbm_0/SAXI_(\d\d)/HBM_MEM(\d\d)", a[-1])
        assert seg, a
        saxi, pc = int(seg.group(1)), int(seg.group(2))
        assert 0 <= pc <= 31 and 0 <= saxi <= 31
        assert int(a[a.index("-offset") + 1], 16) == pc * pc_bytes
        assert a[a.index("-range") + 1] == "256M"
        assert saxi_of.setdefault(m.group(1), saxi) == saxi
        bound.setdefault(m.group(1), set()).add(pc)
    assert sorted(bound) == rtl_bundles
    # the bundle's SmartConnect feeds exactly that HBM slave port, which is enabled
    for b, saxi in saxi_of.items():
        assert [f"sc_{b}/M00_AXI", f"hbm_0/SAXI_{saxi:02d}"] in run.named("connect_bd_intf_net")
        assert [f"{KERNEL}/m_axi_{b}", f"sc_{b}/S00_AXI"] in run.named("connect_bd_intf_net")
        assert hbm[f"CONFIG.USER_SAXI_{saxi:02d}"] == "true"
        assert f"hbm_0/AXI_{saxi:02d}_ACLK" in {a[-1] for a in run.named("connect_bd_net")}
    assert sum(v == "true" for k, v in hbm.items() if k.startswith("CONFIG.USER_SAXI_")) == len(saxi_of)
    assert len(set(saxi_of.values())) == len(saxi_of)
    # a written bundle shares no pseudo-channel with any other bundle
    for b in bound:
        if shell.M_AXI_PORTS[b][0] == "write":
            for o in bound:
                assert o == b or not bound[b] & bound[o], (b, o, bound[b] & bound[o])
    # the Vitis link config binds the same ranges
    link = (run.out / "gen" / "link.cfg").read_text()
    sp = {m.group(1): set(range(int(m.group(2)), int(m.group(3)) + 1))
          for m in re.finditer(rf"^sp={fpga.TOP_NAME}_1\.m_axi_(\w+):HBM\[(\d+):(\d+)\]$", link, re.M)}
    assert sp == bound
    # every buffer a bundle touches may sit anywhere its declaring bundle reaches
    kxml = ET.parse(run.out / "gen" / "kernel.xml").getroot()
    declared = {a.get("name"): a.get("port")[len("m_axi_"):] for a in kxml.iter("arg")
                if a.get("addressQualifier") == "1"}
    for b, bufs in fpga.BUNDLE_BUFFERS.items():
        for buf in bufs:
            assert bound[declared[buf]] <= bound[b], (b, buf)


def check_kernel_xml(path: Path, cfg, ports: dict):
    root = ET.parse(path).getroot()
    kernel = root.find("kernel")
    assert kernel.get("name") == fpga.TOP_NAME and kernel.get("hwControlProtocol") == "ap_ctrl_hs"
    xports = {p.get("name"): p for p in kernel.iter("port")}
    for name, p in xports.items():
        assert any(n.startswith(name + "_") for n in ports), f"kernel.xml port {name} not in the RTL"
        if p.get("mode") == "master":
            assert int(p.get("dataWidth")) == ports[f"{name}_rdata"][1] == cfg.axi_data_bits
    assert int(xports["s_axi_control"].get("range"), 16) == 1 << shell.CTRL_ADDR_BITS
    args = [(a.get("name"), int(a.get("offset"), 16), int(a.get("size"), 16), a.get("port"))
            for a in kernel.iter("arg")]
    want = [(r.name, r.offset, r.bits // 8) for r in shell.registers() if r.access == "rw"]
    assert [a[:3] for a in args] == want
    assert [int(a.get("id")) for a in kernel.iter("arg")] == list(range(len(want)))
    for name, _, _, port in args:
        assert port in xports
        assert (port != "s_axi_control") == name.endswith("_addr")


def check_xdc(run: Run):
    bd_ports = {a[-1] for a in run.named("create_bd_port")}
    for a in run.named("create_bd_intf_port"):
        if "diff_clock" in a[a.index("-vlnv") + 1]:
            bd_ports |= {f"{a[-1]}_clk_p", f"{a[-1]}_clk_n"}
    xdc = (ROOT / "fpga" / "u280.xdc").read_text()
    named = set(re.findall(r"get_ports\s+\{?(\w+)", xdc))
    assert named and named <= bd_ports, named - bd_ports
    assert re.search(r"create_clock -period 10\.000 .*sysclk0_clk_p", xdc)
    added = [a for a in run.named("add_files") if "constrs_1" in a]
    assert [Path(a[-1]).name for a in added] == ["u280.xdc"]


# ---- the tests --------------------------------------------------------------------------

def test_build_tcl_against_real_rtl(real_top, tmp_path):
    """build.tcl on the converter's real top: files, ports, HBM, clock, registers, no bitstream."""
    vdir, paths = real_top
    cfg = preset(PRESET)
    run = run_tcl("build.tcl", build_args(vdir, tmp_path / "out"), tmp_path)
    rtl = [a for a in run.named("add_files") if "-fileset" not in a]
    assert [Path(f) for f in tcl_list(rtl[0][-1])] == paths        # = the converter's output
    check_build_run(run, cfg, vdir, cfg.clock_mhz)


def test_build_tcl_with_port_list(port_top, tmp_path):
    """Every check that needs only the port list, against a module with the shell's ports."""
    cfg = preset(PRESET)
    run = run_tcl("build.tcl", build_args(port_top, tmp_path / "out"), tmp_path)
    check_build_run(run, cfg, port_top, cfg.clock_mhz)


def test_build_tcl_clock_override(port_top, tmp_path):
    run = run_tcl("build.tcl", build_args(port_top, tmp_path / "out", "--clock-mhz", "237.5"), tmp_path)
    check_build_run(run, preset(PRESET), port_top, 237.5)
    assert "freqHz=237500000:" in (tmp_path / "out" / "gen" / "link.cfg").read_text()


@pytest.mark.slow
def test_build_tcl_regenerates_rtl(real_top, tmp_path):
    """Without --verilog the script converts the top itself: same file as the converter's.

    Slow: a second conversion of the whole top (about 35 s of CPU at ci)."""
    vdir, paths = real_top
    out = tmp_path / "out"
    args = ["--preset", PRESET, "--out", str(out), "--python", sys.executable]
    run = run_tcl("build.tcl", args, tmp_path)
    rtl = [a for a in run.named("add_files") if "-fileset" not in a]
    files = [Path(f) for f in tcl_list(rtl[0][-1])]
    assert files == [(out / "verilog" / f"{fpga.TOP_NAME}.v").resolve()]
    assert [f.read_bytes() for f in files] == [p.read_bytes() for p in paths]
    check_build_run(run, preset(PRESET), out / "verilog", preset(PRESET).clock_mhz)


def test_package_xo_tcl(port_top, tmp_path):
    """Vitis path: the IP is packaged with the generated kernel.xml; no .xo is claimed."""
    out = tmp_path / "out"
    run = run_tcl("package_xo.tcl", build_args(port_top, out), tmp_path)
    assert run.rc == 1 and "package_xo wrote no" in run.stderr, run.stderr[-2000:]
    assert "[fast-prefill] kernel:" not in run.stdout
    (xo,) = run.named("package_xo")
    assert xo[xo.index("-kernel_name") + 1] == fpga.TOP_NAME
    assert Path(xo[xo.index("-kernel_xml") + 1]) == out / "gen" / "kernel.xml"
    assert Path(xo[xo.index("-ip_directory") + 1]) == out / "ip"
    assert [p[p.index("-part") + 1] for p in run.named("create_project")] == [fpga.PART]
    assert ["sdx_kernel", "true", "core"] in run.named("set_property")
    assert not list(out.rglob("*.xo")) and not list(out.rglob("*.bit"))


@pytest.mark.parametrize("args,message", [
    (["--jobs", "0"], "--jobs must be a positive integer"),
    (["--clock-mhz", "fast"], "--clock-mhz must be a positive number"),
    (["--bogus", "1"], "unknown argument '--bogus'"),
    (["--preset"], "option --preset needs a value"),
])
def test_build_tcl_bad_arguments(tmp_path, args, message):
    run = run_tcl("build.tcl", args, tmp_path)
    assert run.rc == 1 and message in run.stderr
    assert run.named("create_project") == []


def test_build_tcl_missing_top(tmp_path):
    """An empty --verilog folder stops the build before any project, naming the missing file."""
    (tmp_path / "empty").mkdir()
    run = run_tcl("build.tcl", build_args(tmp_path / "empty", tmp_path / "out"), tmp_path)
    assert run.rc == 1 and f"no {fpga.TOP_NAME}.v in" in run.stdout + run.stderr
    assert run.named("create_project") == []


def test_generator_rejects_rtl_that_misses_a_shell_port(tmp_path):
    cfg = preset(PRESET)
    text = port_list_verilog(cfg)
    (tmp_path / f"{fpga.TOP_NAME}.v").write_text(
        text.replace("    m_axi_o_bid,\n", "").replace("input m_axi_o_bid;\n", ""))
    with pytest.raises(UserError, match="missing ports.*m_axi_o_bid"):
        fpga.write_inputs(cfg, tmp_path, tmp_path / "gen")
    (tmp_path / f"{fpga.TOP_NAME}.v").write_text(text.replace("[255:0] m_axi_q_rdata", "[127:0] m_axi_q_rdata"))
    with pytest.raises(UserError, match="m_axi_q_rdata"):
        fpga.write_inputs(cfg, tmp_path, tmp_path / "gen")
    assert not (tmp_path / "gen").exists()


def test_parse_module_ports_both_header_styles():
    ansi = "module t #(parameter W = 4) (input wire clk, output reg [7:0] q, input signed [3:0] a, b);\nendmodule"
    assert fpga.parse_module_ports(ansi, "t") == [("clk", "in", 1), ("q", "out", 8), ("a", "in", 4),
                                                  ("b", "in", 4)]
    plain = "module t (\n  clk, // c\n  q\n);\ninput clk;\noutput [7:0] q;\nreg [7:0] q;\nendmodule"
    assert fpga.parse_module_ports(plain, "t") == [("clk", "in", 1), ("q", "out", 8)]
    with pytest.raises(ValueError, match="no module 'u'"):
        fpga.parse_module_ports(plain, "u")


def test_bundle_checks_reject_bad_bindings():
    good = fpga.bundles(preset(PRESET))
    fpga.check_bundles(good)
    q, idx, kv, o = good
    import dataclasses as dc
    with pytest.raises(ConfigError, match="written bundle 'o' shares pseudo-channel"):
        fpga.check_bundles([q, idx, kv, dc.replace(o, pcs=tuple(range(23, 32)))])
    with pytest.raises(ConfigError, match=r"outside 0\.\.31"):
        fpga.check_bundles([q, idx, kv, dc.replace(o, pcs=tuple(range(24, 33)))])
    with pytest.raises(ConfigError, match="does not reach"):
        fpga.check_bundles([q, idx, dc.replace(kv, pcs=tuple(range(8, 24))), o])
    with pytest.raises(ConfigError, match="same slave port"):
        fpga.check_bundles([q, dc.replace(idx, saxi=0), kv, o])
    with pytest.raises(ConfigError, match="not contiguous"):
        fpga.check_bundles([q, idx, kv, dc.replace(o, pcs=(24, 26))])
    with pytest.raises(ConfigError, match="pointer arguments declared"):
        fpga.check_bundles([q, idx, dc.replace(kv, args=()), o])
    with pytest.raises(ConfigError, match="clock_mhz"):
        fpga.link_cfg(preset(PRESET), clock_mhz=0.5)


def test_bitstream_without_vivado_says_what_to_install(tmp_path):
    """`nox -s bitstream`'s command with no vivado on PATH: non-zero exit, the install line."""
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if p and not (Path(p) / "vivado").exists())
    proc = subprocess.run([sys.executable, "-m", "fast_prefill.cli", "bitstream", "--preset", "u280",
                           "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, env={**os.environ, "PATH": path}, cwd=ROOT)
    assert proc.returncode != 0
    msg = proc.stdout + proc.stderr
    for needed in ("vivado is not on PATH", "2023.2", fpga.PART, "xilinx_u280_gen3x16_xdma",
                   "nothing was built"):
        assert needed in msg, needed
    assert not list(tmp_path.rglob("*.bit"))
    # the nox session runs exactly this command
    nox_src = (ROOT / "noxfile.py").read_text()
    body = nox_src[nox_src.index("def bitstream("):]
    assert '"fast-prefill", "bitstream"' in body.split("\n@nox.session")[0]


def test_area_figures_and_projection():
    """fast-prefill synth top's arithmetic: resource totals, memory bits, MAC scaling."""
    from fast_prefill import area
    from hdl.synth import parse_stat

    st = parse_stat("  12 LUT6\n  3 LUT2\n  7 FDRE\n  1 FDSE\n  2 DSP48E2\n  3 RAMB36E2\n  1 RAMB18E2\n"
                    "  4 URAM288\n  2 RAM64M8\n")
    assert area.resources(st) == {"lut": 17, "ff": 8, "dsp": 2, "bram": 3.5, "uram": 4}
    text = ("reg [7:0] a [0:16-1];\nreg signed [31:0] b [0:4-1];\nreg c [0:8-1];\nreg [3:0] d;\n"
            "reg [256-1:0] mem_x [0:1024-1];\n")
    assert area.memory_bits(text) == 8 * 16 + 32 * 4 + 8 + 256 * 1024
    ci, u = preset("ci"), preset("u280")
    row = {"name": "mpu", "lut": 1000, "ff": 500, "dsp": 64}
    p = area.project(row, ci, u, bits_to=2 * area.BRAM36_BITS)
    assert p["scale"] == (64 * 128) / (16 * 16) and p["lut"] == 1000 * p["scale"]
    assert p["bram_eq"] == 2.0
    # no MACs: the logic grows by at most max(B ratio, D ratio) = 128 / 16
    assert area.logic_scale(ci, u) == 8
    assert area.project({**row, "name": "kv_cache"}, ci, u, 0)["lut"] == 8000
    # with the measured array: the arrays scale with an array's MACs, the logic beside them by 8
    top = {"name": "fast_prefill_top", "lut": 1500, "ff": 800, "dsp": 70}
    one_ci = ci.replace(head_lanes=1)
    split = area.project(top, one_ci, u.replace(head_lanes=1), 0, array=row)
    assert split["array_lut"] == 1000 * 32 and split["lut"] == 1000 * 32 + 500 * 8
    assert split["dsp"] == 64 * 32 + 6 * 8 and split["logic_scale"] == 8
    # DSP rows and LUT rows at their own per-MAC costs; the logic beside the array at a fitted growth
    costs = area.row_costs({"lut": 2560, "ff": 256, "dsp": 128}, {"lut": 25600, "ff": 512, "dsp": 0}, ci)
    assert costs["dsp_row"] == {"lut": 10.0, "ff": 1.0, "dsp": 0.5} and costs["lut_row"]["lut"] == 100.0
    growth = area.fit_growth({"lut": 100, "ff": 100, "dsp": 10}, {"lut": 200, "ff": 400, "dsp": 5},
                             ci, preset("mid"))
    assert growth == {"lut": 1.0, "ff": 2.0, "dsp": 0.0}
    u1 = u.replace(head_lanes=1, lut_rows=8)
    fitted = area.project(top, one_ci, u1, 0, array=row, costs=costs, growth=growth)
    assert fitted["array_lut"] == 56 * 128 * 10 + 8 * 128 * 100 and fitted["array_dsp"] == 56 * 128 * 0.5
    assert fitted["lut"] == fitted["array_lut"] + 500 * 8 and fitted["ff"] == 56 * 128 + 8 * 128 * 2 + 300 * 64
    assert fitted["dsp"] == 56 * 128 * 0.5 + 6
    assert area.macs("sig", u) == u.max_group * 64 * 128
    one = u.replace(head_lanes=1)           # one lane: one MPU, shared by the index generator and the engine
    assert area.macs("fast_prefill_top", one) == 64 * 128
    from hdl.convert import build_config
    assert area.macs("sig", build_config("sig", one)) == 64 * 128
    assert build_config("mpu", one) is one and build_config("grp_attn", one).max_group == 1
