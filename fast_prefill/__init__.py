"""FAST-Prefill: FPGA accelerator for long-context prefill with dynamic sparse attention."""

__version__ = "0.1.0"
