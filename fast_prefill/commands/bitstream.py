"""``fast-prefill bitstream``: the Vivado build for the Alveo U280 (``fpga/build.tcl``).

Runs ``vivado -mode batch -source fpga/build.tcl`` when ``vivado`` is on PATH; with
``--vitis`` also packages the RTL kernel (``fpga/package_xo.tcl``) and links it with
``v++`` for the xilinx_u280_gen3x16_xdma platform.  Without Vivado it says exactly
what to install and exits non-zero (nothing is built).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from hdl.config import PRESETS

ROOT = Path(__file__).resolve().parents[2]


def register(sub) -> None:
    p = sub.add_parser("bitstream", help="Vivado build of the U280 bitstream (needs vivado on PATH)")
    p.add_argument("--preset", default="u280", choices=sorted(PRESETS))
    p.add_argument("--verilog", type=Path, default=None,
                   help="folder with the converted top (default: convert it into OUT/verilog)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default build/fpga/<preset>)")
    p.add_argument("--jobs", type=int, default=8, help="parallel Vivado jobs")
    p.add_argument("--clock-mhz", type=float, default=None, help="kernel clock (default: the preset's)")
    p.add_argument("--vitis", action="store_true",
                   help="also package the .xo and run v++ --link (needs v++ and the U280 platform)")
    p.set_defaults(func=run)


def _tclargs(args, out: Path) -> list[str]:
    a = ["--preset", args.preset, "--out", str(out), "--python", sys.executable]
    if args.verilog:
        a += ["--verilog", str(args.verilog.resolve())]
    if args.clock_mhz:
        a += ["--clock-mhz", str(args.clock_mhz)]
    return a


def run(args) -> int:
    from hdl.errors import UserError
    from fast_prefill.fpga import PLATFORM, install_message

    vivado = shutil.which("vivado")
    if not vivado:
        raise UserError(install_message())
    if args.jobs < 1:
        raise UserError(f"--jobs must be >= 1, got {args.jobs}")
    out = (args.out or ROOT / "build" / "fpga" / args.preset).resolve()
    out.mkdir(parents=True, exist_ok=True)
    cmd = [vivado, "-mode", "batch", "-nojournal", "-log", str(out / "vivado_build.log"),
           "-source", str(ROOT / "fpga" / "build.tcl"), "-tclargs",
           *_tclargs(args, out), "--jobs", str(args.jobs)]
    print(" ".join(cmd), flush=True)
    rc = subprocess.call(cmd, cwd=ROOT)
    if rc != 0 or not args.vitis:
        return rc
    vpp = shutil.which("v++")
    if not vpp:
        raise UserError("v++ is not on PATH: install Vitis with the U280 platform "
                        f"{PLATFORM} and `source /opt/xilinx/xrt/setup.sh`; the bitstream of the "
                        "Vivado flow was built, the Vitis .xclbin was not")
    xo_out = out / "vitis"
    cmd = [vivado, "-mode", "batch", "-nojournal", "-log", str(out / "vivado_xo.log"),
           "-source", str(ROOT / "fpga" / "package_xo.tcl"), "-tclargs", *_tclargs(args, xo_out)]
    print(" ".join(cmd), flush=True)
    rc = subprocess.call(cmd, cwd=ROOT)
    if rc != 0:
        return rc
    cmd = [vpp, "--link", "-t", "hw", "--platform", PLATFORM, "--config", str(xo_out / "gen" / "link.cfg"),
           "-o", str(xo_out / "fast_prefill.xclbin"), str(xo_out / "fast_prefill_top.xo")]
    print(" ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=xo_out)
