"""Host driver of the accelerator top (``hdl/fast_prefill_top.py``).

driver      Accelerator (plan / execute / decode / run), AcceleratorError, RunResult
transport   the abstract Transport (registers, memory per m_axi bundle, interrupt)
sim         CocotbTransport: cocotbext-axi models with an HBM pseudo-channel (imports cocotb)
"""

from fast_prefill.host.driver import Accelerator, AcceleratorError, RunResult
from fast_prefill.host.transport import Transport

__all__ = ["Accelerator", "AcceleratorError", "RunResult", "Transport"]
