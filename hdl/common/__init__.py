"""Primitives shared by the units: FIFO, AXI4 read and write masters, the synchronous reset."""
