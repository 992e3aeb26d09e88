"""Sparse attention engine (``attn_engine``): QK, fixed-point online softmax, PV, normalisation."""
