# Alveo U280 board constraints for the block design of bd_u280.tcl.
# Only board pins live here; the kernel clock is derived by the MMCM from sysclk0,
# so its period follows the config's clock_mhz without an edit here.

# SYSCLK0: 100 MHz LVDS reference (HBM reference clocks, HBM APB clocks, MMCM input)
set_property PACKAGE_PIN BJ43 [get_ports sysclk0_clk_p]
set_property PACKAGE_PIN BJ44 [get_ports sysclk0_clk_n]
set_property IOSTANDARD LVDS [get_ports sysclk0_clk_p]
set_property IOSTANDARD LVDS [get_ports sysclk0_clk_n]
set_property DQS_BIAS TRUE [get_ports sysclk0_clk_p]
create_clock -period 10.000 -name sysclk0 [get_ports sysclk0_clk_p]

# HBM catastrophic-temperature output to the board controller: must stay low
set_property PACKAGE_PIN D32 [get_ports hbm_cattrip]
set_property IOSTANDARD LVCMOS18 [get_ports hbm_cattrip]
set_property PULLDOWN TRUE [get_ports hbm_cattrip]
set_false_path -to [get_ports hbm_cattrip]

# Configuration (the U280's quad-SPI flash, 1.8 V configuration bank)
set_property CONFIG_VOLTAGE 1.8 [current_design]
set_property CONFIG_MODE SPIx4 [current_design]
set_property BITSTREAM.CONFIG.SPI_BUSWIDTH 4 [current_design]
set_property BITSTREAM.CONFIG.CONFIGRATE 85.0 [current_design]
set_property BITSTREAM.CONFIG.EXTMASTERCCLK_EN disable [current_design]
set_property BITSTREAM.CONFIG.SPI_FALL_EDGE YES [current_design]
set_property BITSTREAM.CONFIG.SPI_32BIT_ADDR YES [current_design]
set_property BITSTREAM.CONFIG.UNUSEDPIN Pullup [current_design]
set_property BITSTREAM.GENERAL.COMPRESS TRUE [current_design]
