"""Attention group datapath (``grp_attn``): a KV group's merged key-block stream, the cache, and
one attention engine per head lane."""
