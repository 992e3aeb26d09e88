"""How the host driver reaches the accelerator: the abstract :class:`Transport`.

A transport moves 32-bit register words over ``s_axi_control`` and bytes into / out of the
memory that an ``m_axi`` bundle sees (``hdl.top.shell.M_AXI_PORTS``: q, idx, kv, o; on the U280
every bundle is bound to HBM, all in one address space).  Every method is a coroutine, so
that a simulator backend (``tb.kit.host_sim.CocotbTransport``) and a board backend
(XRT / pyxrt: ``xrt.kernel`` register access, ``xrt.bo`` buffers; not written yet) share the
driver.  A synchronous backend simply returns from its coroutines at once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from hdl.top.shell import M_AXI_PORTS


class Transport(ABC):
    """Register and memory access of one accelerator instance."""

    #: True when :meth:`wait_interrupt` works (else the driver polls ap_done)
    has_interrupt: bool = False

    @abstractmethod
    async def write_reg(self, offset: int, value: int) -> None:
        """Write one 32-bit word at byte ``offset`` of s_axi_control."""

    @abstractmethod
    async def read_reg(self, offset: int) -> int:
        """Read one 32-bit word at byte ``offset`` of s_axi_control."""

    @abstractmethod
    async def write_mem(self, bundle: str, addr: int, data: bytes) -> None:
        """Store ``data`` at ``addr`` of the memory that m_axi bundle ``bundle`` reads."""

    @abstractmethod
    async def read_mem(self, bundle: str, addr: int, length: int) -> bytes:
        """Read ``length`` bytes at ``addr`` of the memory that bundle ``bundle`` writes."""

    async def wait_interrupt(self, max_cycles: int) -> bool:
        """Wait for the interrupt line (at most ``max_cycles`` kernel cycles); False on timeout."""
        raise NotImplementedError("this transport has no interrupt line")

    async def idle(self, cycles: int) -> None:
        """Let ``cycles`` kernel cycles pass (polling interval); a board backend sleeps."""

    @staticmethod
    def check_bundle(bundle: str) -> None:
        if bundle not in M_AXI_PORTS:
            raise ValueError(f"bundle: unknown m_axi bundle {bundle!r}; choose one of {sorted(M_AXI_PORTS)}")
