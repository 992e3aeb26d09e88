"""MyHDL units of the accelerator, one ``@block`` per file, sized by ``hdl.config``.

Layering: ``hdl`` imports nothing from ``golden``, ``tb`` or ``fast_prefill`` (torch-free; see
``tests/test_layering.py``).  ``hdl.numerics`` holds the widths and tables of the fixed-point
contract, ``hdl.errors`` and ``hdl.toolchain`` the user-facing errors and the tool locator.
"""
