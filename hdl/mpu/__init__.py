"""Hybrid Matrix Processing Unit: the ``mpu`` array, its rows and the DSP / LUT (bit-plane) PEs."""
