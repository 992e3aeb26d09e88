"""Liveness-driven dual-tier KV cache (``kv_cache``): slots, liveness, RAM, HBM DMA, output path."""
