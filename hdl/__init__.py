"""MyHDL units of the accelerator, one ``@block`` per file, sized by ``hdl.config``."""
