"""cocotb testbenches and the shared verification kit."""
