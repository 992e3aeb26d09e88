"""Runner helper: convert a unit for a config, build it once with Verilator, run a cocotb module.

Public API
    build_dir_for(unit, cfg, waves=False) -> Path   build/sim/<unit>-<config-hash>[-waves]/
    build(unit, cfg, waves=False, build_args=())  -> Path   (cached: no rebuild while the
                                                              Verilog and the options are unchanged)
    run(unit, cfg, test_module, *, testcase=None, extra_env=None, seed=None,
        waves=None, tag="run")                   -> RunResult   (raises BenchFailure)
    save_inputs(unit, cfg, name, obj)            -> Path   a torch file in the unit's build folder
                                                           (the cases a bench reads)
Bench side (inside the simulator)
    config_from_env()                            the config of the run (FAST_PREFILL_CFG)
    inputs_from_env(var)                         the torch file named by ``var`` (save_inputs)
    write_output(var, data, key=None)            JSON into the file named by ``var``, if set

``run`` fails (raises :class:`BenchFailure`, an AssertionError) when any
cocotb test failed or the simulator ended abnormally, inside pytest or not.
Waves: ``waves=None`` follows the environment variable ``FAST_PREFILL_WAVES``
(``nox -s waves`` sets it); with waves on, the build gets its own folder, the
trace is FST when Verilator can write it (VCD otherwise) and the file path is
printed.

Environment (for measurements; the defaults are what every bench uses):
    FAST_PREFILL_SIM_ROOT        build root instead of build/sim (a cold build without
                                 touching the shared cache; the runtime objects live there too)
    FAST_PREFILL_VERILATOR_ARGS  extra Verilator arguments, split on blanks, appended to the
                                 base ones (part of the build stamp, so a change rebuilds)
    FAST_PREFILL_OPT_FAST        the C++ optimisation flags of the model's fast path (make's
                                 OPT_FAST; Verilator's default is -Os)
    FAST_PREFILL_PUBLIC          ``ports``: only the ports of a unit of PORT_PATTERNS visible
                                 to cocotb (instead of cocotb's --public-flat-rw)
Each build writes ``build-times.json`` (seconds: convert, verilate, compile) into its folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from hdl.toolchain import setup_verilator_env
from hdl.config import AcceleratorConfig
from hdl.convert import config_hash, convert_unit

REPO = Path(__file__).resolve().parents[2]
SIM_ROOT = Path(os.environ.get("FAST_PREFILL_SIM_ROOT", REPO / "build" / "sim"))
BASE_BUILD_ARGS = ("-Wno-WIDTH", "-O3", "--x-assign", "fast", "--x-initial", "fast")
WAVES_ENV = "FAST_PREFILL_WAVES"
EXTRA_ARGS_ENV = "FAST_PREFILL_VERILATOR_ARGS"
# Units whose benches touch only their ports (tb/test_top.py, the host driver's transport):
# a build may make just these ports visible to cocotb instead of every signal (cocotb passes
# --public-flat-rw), so Verilator may keep internal signals in locals and fold them.  Measured
# on the top (docs/top.md): at ci the simulation takes ~20 % less CPU and the bench is
# exact, but at smollm2 Verilator then needs more than 8.8 GB (killed out of memory; 0.6 GB with
# every signal public), so it is opt-in only (FAST_PREFILL_PUBLIC=ports).
PORT_PATTERNS: dict[str, tuple[str, ...]] = {
    "fast_prefill_top": ("ap_*", "interrupt", "s_axi_control_*", "m_axi_*")}


class BenchFailure(AssertionError):
    """A cocotb bench failed (the message names the failing tests)."""


@dataclass
class RunResult:
    results_xml: Path
    tests: int
    failed: int
    skipped: list[str]
    waves_file: Path | None


def waves_requested() -> bool:
    return os.environ.get(WAVES_ENV, "").strip().lower() not in ("", "0", "false", "no")


def build_dir_for(unit: str, cfg: AcceleratorConfig, waves: bool = False) -> Path:
    return SIM_ROOT / f"{unit}-{config_hash(cfg)}{'-waves' if waves else ''}"


def _fst_supported() -> bool:
    # Verilator's FST writer needs lz4 headers (Debian liblz4-dev).
    return any(Path(p, "lz4.h").exists() for p in ("/usr/include", "/usr/local/include"))


def build(unit: str, cfg: AcceleratorConfig, waves: bool = False, build_args=()) -> Path:
    """Convert ``unit`` for ``cfg`` and build the simulator once; returns the build folder.

    Parallel test workers may ask for the same build: an exclusive lock on the build folder
    makes the second one wait and then reuse the first one's simulator.
    """
    import fcntl

    bdir = build_dir_for(unit, cfg, waves)
    bdir.mkdir(parents=True, exist_ok=True)
    with open(bdir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _build_locked(unit, cfg, bdir, waves, build_args)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build_locked(unit: str, cfg: AcceleratorConfig, bdir: Path, waves: bool, build_args) -> Path:
    from cocotb_tools.runner import get_runner

    setup_verilator_env()
    t0 = time.perf_counter()
    src = convert_unit(unit, cfg, bdir / "verilog")
    times = {"convert": time.perf_counter() - t0}
    args = list(BASE_BUILD_ARGS) + list(build_args) + os.environ.get(EXTRA_ARGS_ENV, "").split()
    if waves:
        args += ["--trace-fst"] if _fst_supported() else []
        args += ["--trace-structs"]
    public = PORT_PATTERNS.get(unit) if os.environ.get("FAST_PREFILL_PUBLIC") == "ports" else None
    opt_fast = os.environ.get("FAST_PREFILL_OPT_FAST", "")
    stamp_data = {"verilog": hashlib.sha256(src.read_bytes()).hexdigest(), "args": args, "waves": waves}
    if public:
        stamp_data["public"] = list(public)
    if opt_fast:
        stamp_data["opt_fast"] = opt_fast
    stamp_text = json.dumps(stamp_data, sort_keys=True)
    stamp = bdir / "build.stamp"
    exe = bdir / unit
    if exe.exists() and stamp.exists() and stamp.read_text() == stamp_text:
        return bdir
    obj = bdir / "obj"
    if obj.exists():
        shutil.rmtree(obj)
    obj.mkdir(parents=True)
    cache = SIM_ROOT / "_runtime" / _runtime_key(waves)
    runner = get_runner("verilator")
    run_cmds = runner._execute

    def execute(cmds, cwd):
        # build = [verilator, make]: drop the cached runtime objects in between,
        # newer than the Vtop.mk that verilator just wrote (make's prerequisite).
        if len(cmds) == 2:
            cmds = [list(c) for c in cmds]
            if public:
                vlt = obj / "public.vlt"
                vlt.write_text("`verilator_config\n" + "".join(
                    f'public_flat_rw -module "{unit}" -var "{pat}"\n' for pat in public))
                cmds[0] = [a for a in cmds[0] if a != "--public-flat-rw"]
                cmds[0].insert(1, str(vlt))
            if opt_fast:
                cmds[1].append(f"OPT_FAST={opt_fast}")
            t1 = time.perf_counter()
            run_cmds(cmds[:1], cwd)
            t2 = time.perf_counter()
            _reuse_runtime(cache, obj)
            run_cmds(cmds[1:], cwd)
            times.update(verilate=t2 - t1, compile=time.perf_counter() - t2)
        else:
            run_cmds(cmds, cwd)

    runner._execute = execute
    runner.build(sources=[src], hdl_toplevel=unit, build_dir=obj, build_args=args,
                 waves=waves, timescale=("1ns", "1ps"), always=True)
    shutil.copy2(obj / unit, exe)
    _save_runtime(obj, cache)
    (bdir / "build-times.json").write_text(json.dumps(times))
    stamp.write_text(stamp_text)
    return bdir


# Verilator's runtime (verilated*.cpp) and cocotb's verilator.cpp do not depend on
# the design; compiling them dominates a small design's build.  Their objects are
# kept once per flavour and copied into each new build folder after verilator
# ran, so make finds them up to date.
# Design-independent objects only: cocotb's verilator.o includes Vtop.h, so reusing it from
# another design corrupts memory at exit ("double free").
_RUNTIME_OBJS = ("verilated", "verilated_dpi", "verilated_vpi", "verilated_threads",
                 "verilated_fst_c", "verilated_vcd_c")


def _runtime_key(waves: bool) -> str:
    """The runtime objects depend on the tool versions, the make flags and tracing."""
    import cocotb
    from hdl.toolchain import verilator_bin_dir

    stamp = json.dumps([cocotb.__version__, str(verilator_bin_dir()),
                        (verilator_bin_dir() / "verilator_bin").stat().st_mtime,
                        os.environ.get("MAKEFLAGS", ""), waves])
    return ("waves-" if waves else "plain-") + hashlib.sha256(stamp.encode()).hexdigest()[:10]


def _reuse_runtime(cache: Path, obj: Path) -> None:
    if not cache.is_dir():
        return
    for f in cache.iterdir():
        shutil.copyfile(f, obj / f.name)  # fresh mtime: newer than Vtop.mk


def _save_runtime(obj: Path, cache: Path) -> None:
    if cache.is_dir():
        return
    tmp = cache.with_name(cache.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    for stem in _RUNTIME_OBJS:
        for ext in (".o", ".d"):
            if (obj / (stem + ext)).exists():
                shutil.copy2(obj / (stem + ext), tmp / (stem + ext))
    try:
        tmp.rename(cache)
    except OSError:  # another process saved it first
        shutil.rmtree(tmp, ignore_errors=True)


def _case_names(xml: Path, *kinds: str) -> list[str]:
    names = []
    for case in ElementTree.parse(xml).getroot().iter("testcase"):
        if any(case.find(k) is not None for k in kinds):
            names.append(case.get("name", "?"))
    return names


def run(unit: str, cfg: AcceleratorConfig, test_module: str, *, testcase=None,
        extra_env: dict | None = None, seed: int | None = None, waves: bool | None = None,
        tag: str = "run") -> RunResult:
    """Build (cached) and run ``test_module`` against ``unit``; raise BenchFailure on failure."""
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    waves = waves_requested() if waves is None else waves
    bdir = build(unit, cfg, waves=waves)
    safe_tag = re.sub(r"[^A-Za-z0-9_.-]+", "_", tag)[:80] or "run"
    test_dir = bdir / "runs" / safe_tag
    test_dir.mkdir(parents=True, exist_ok=True)
    results = test_dir / "results.xml"
    env = {"PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "FAST_PREFILL_CFG": json.dumps(_cfg_fields(cfg))}
    env.update(extra_env or {})
    runner = get_runner("verilator")
    # Point the runner at the cached build without rebuilding.
    runner.build_dir = bdir / "obj"
    runner.parameters = {}
    old = os.environ.pop("PYTEST_CURRENT_TEST", None)  # we check the results ourselves
    try:
        runner.test(test_module=test_module, hdl_toplevel=unit, hdl_toplevel_lang="verilog",
                    testcase=testcase, seed=seed, extra_env=env, waves=waves,
                    build_dir=bdir / "obj", test_dir=test_dir, results_xml=str(results))
    except SystemExit as exc:  # the simulator exited abnormally
        if not results.exists():
            raise BenchFailure(f"{unit}: simulator exited with {exc.code} and wrote no results "
                               f"(log in {test_dir})") from None
    finally:
        if old is not None:
            os.environ["PYTEST_CURRENT_TEST"] = old
    try:
        tests, failed = get_results(results)
    except RuntimeError as exc:
        raise BenchFailure(f"{unit}: {exc}") from None
    wave_file = None
    if waves:
        for name in ("dump.fst", "dump.vcd"):
            if (test_dir / name).exists():
                wave_file = test_dir / name
        print(f"\nwaves: {wave_file if wave_file else '(no wave file written) in ' + str(test_dir)}")
    if tests == 0:
        raise BenchFailure(f"{unit}: no cocotb test ran (module {test_module}, testcase {testcase})")
    if failed:
        raise BenchFailure(f"{unit}: {failed} of {tests} cocotb tests failed: "
                           f"{', '.join(_case_names(results, 'failure', 'error'))} (see {results})")
    return RunResult(results, tests, failed, _case_names(results, 'skipped'), wave_file)


def _cfg_fields(cfg: AcceleratorConfig) -> dict:
    import dataclasses
    data = dataclasses.asdict(cfg)
    data.pop("sparsity", None)
    return data


def config_from_env() -> AcceleratorConfig:
    """The config a bench runs with (cocotb side): FAST_PREFILL_CFG as set by :func:`run`."""
    text = os.environ.get("FAST_PREFILL_CFG")
    if not text:
        raise RuntimeError("FAST_PREFILL_CFG is not set: run benches through tb.kit.runner.run")
    return AcceleratorConfig(**json.loads(text))


def save_inputs(unit: str, cfg: AcceleratorConfig, name: str, obj) -> Path:
    """Save ``obj`` (torch) as ``name`` in the build folder of (unit, cfg); returns the path, which
    the runner hands to the bench in an environment variable."""
    import torch
    bdir = build_dir_for(unit, cfg)
    bdir.mkdir(parents=True, exist_ok=True)
    path = bdir / name
    torch.save(obj, path)
    return path


def inputs_from_env(var: str):
    """What :func:`save_inputs` wrote to the file that ``var`` names (cocotb side)."""
    import torch
    path = os.environ.get(var)
    if not path:
        raise RuntimeError(f"{var} is not set: run the bench through its runner in tests/")
    return torch.load(path, weights_only=False)


def write_output(var: str, data, key: str | None = None) -> None:
    """Write ``data`` as JSON to the file that ``var`` names, when it is set; with ``key``, as
    that entry of the file's object (the other entries are kept)."""
    path = os.environ.get(var)
    if not path:
        return
    if key is not None:
        whole = json.loads(Path(path).read_text()) if os.path.exists(path) else {}
        whole[key] = data
        data = whole
    with open(path, "w") as f:
        json.dump(data, f)
