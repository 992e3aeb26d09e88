"""Torch golden models: patterns, float and fixed-point attention, cache simulator,
real-tensor loader and performance model.  The fixed-point model is the RTL's contract."""
