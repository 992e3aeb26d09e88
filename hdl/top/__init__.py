"""The accelerator top (``fast_prefill_top``): the Vitis-style AXI shell, the control registers
and the scheduler over KV groups and head passes."""
