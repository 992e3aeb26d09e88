"""Host driver of the accelerator top (``hdl/top/fast_prefill_top.py``).

driver      Accelerator (plan / execute / decode / run), AcceleratorError, RunResult
transport   the abstract Transport (registers, memory per m_axi bundle, interrupt)

The simulator backend, ``tb.kit.host_sim.CocotbTransport``, lives with the benches.
Layering: ``host`` imports ``hdl`` and ``golden`` only (tests/test_layering.py).
"""

from host.driver import Accelerator, AcceleratorError, RunResult
from host.transport import Transport

__all__ = ["Accelerator", "AcceleratorError", "RunResult", "Transport"]
