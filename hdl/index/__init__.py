"""Sparse Index Generator: the two-pass vertical-slash scorer (``sig``) and the pooled per-row
estimate (``sig_pool``), with their fetch, per-head and selection stages."""
