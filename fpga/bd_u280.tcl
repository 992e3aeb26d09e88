# Block design of the U280 build: kernel, HBM, clocking, resets, control path.
#
#   sysclk0 (100 MHz) -> IBUFDS -> HBM reference clocks
#                                -> BUFG -> APB clocks of the HBM, MMCM (clk_wiz) -> kernel clock
#   kernel clock drives the kernel, the SmartConnects and the HBM AXI ports (one domain)
#   each m_axi bundle -> SmartConnect (AXI4 -> AXI3, 64 -> 33 address bits) -> one HBM
#       slave port; the HBM switch (global addressing) reaches the bundle's pseudo-channels,
#       and only those are mapped into the bundle's address space
#   JTAG-to-AXI master -> SmartConnect -> s_axi_control (host access without a shell)
#   hbm_cattrip <- OR of both stacks' catastrophic-temperature flags (the board cuts power)
#
# The bundles, their HBM slave ports and pseudo-channel ranges, the clock and the
# control range come from the generated design.tcl (fp_* variables).

proc fp_pin {path} {
    return [get_bd_pins $path]
}

proc fp_smartconnect {name} {
    set sc [create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect:1.0 $name]
    set_property -dict [list CONFIG.NUM_SI 1 CONFIG.NUM_MI 1] $sc
    return $sc
}

proc fp_create_bd {bd_name} {
    global fp_vlnv fp_top fp_clock_mhz fp_ref_clk_mhz fp_bundles fp_clk_port fp_rst_port
    global fp_ctrl_intf fp_ctrl_range fp_hbm_pc_bytes
    create_bd_design $bd_name
    set kernel ${fp_top}_0

    # ---- board ports ----
    set sysclk [create_bd_intf_port -mode Slave -vlnv xilinx.com:interface:diff_clock_rtl:1.0 sysclk0]
    set_property CONFIG.FREQ_HZ [expr {round($fp_ref_clk_mhz * 1e6)}] $sysclk
    create_bd_port -dir O -from 0 -to 0 hbm_cattrip

    # ---- clocks ----
    set ibuf [create_bd_cell -type ip -vlnv xilinx.com:ip:util_ds_buf:2.2 refclk_ibufds]
    set_property CONFIG.C_BUF_TYPE IBUFDS $ibuf
    set bufg [create_bd_cell -type ip -vlnv xilinx.com:ip:util_ds_buf:2.2 refclk_bufg]
    set_property CONFIG.C_BUF_TYPE BUFG $bufg
    connect_bd_intf_net [get_bd_intf_ports sysclk0] [get_bd_intf_pins refclk_ibufds/CLK_IN_D]
    connect_bd_net [fp_pin refclk_ibufds/IBUF_OUT] [fp_pin refclk_bufg/BUFG_I]

    set mmcm [create_bd_cell -type ip -vlnv xilinx.com:ip:clk_wiz:6.0 kernel_clk]
    set_property -dict [list \
        CONFIG.PRIM_SOURCE Global_buffer \
        CONFIG.PRIM_IN_FREQ $fp_ref_clk_mhz \
        CONFIG.CLKOUT1_REQUESTED_OUT_FREQ $fp_clock_mhz \
        CONFIG.USE_RESET false \
        CONFIG.USE_LOCKED true] $mmcm
    connect_bd_net [fp_pin refclk_bufg/BUFG_O] [fp_pin kernel_clk/clk_in1]
    set kclk [fp_pin kernel_clk/clk_out1]

    # ---- resets (released once the MMCM has locked) ----
    set one [create_bd_cell -type ip -vlnv xilinx.com:ip:xlconstant:1.1 const_one]
    set_property -dict [list CONFIG.CONST_WIDTH 1 CONFIG.CONST_VAL 1] $one
    foreach rst {kernel_rst apb_rst} {
        set r [create_bd_cell -type ip -vlnv xilinx.com:ip:proc_sys_reset:5.0 $rst]
        set_property CONFIG.C_EXT_RESET_HIGH 0 $r
        connect_bd_net [fp_pin const_one/dout] [fp_pin $rst/ext_reset_in]
    }
    connect_bd_net $kclk [fp_pin kernel_rst/slowest_sync_clk]
    connect_bd_net [fp_pin kernel_clk/locked] [fp_pin kernel_rst/dcm_locked]
    connect_bd_net [fp_pin refclk_bufg/BUFG_O] [fp_pin apb_rst/slowest_sync_clk]
    connect_bd_net [fp_pin const_one/dout] [fp_pin apb_rst/dcm_locked]
    set krst [fp_pin kernel_rst/peripheral_aresetn]

    # ---- the kernel ----
    create_bd_cell -type ip -vlnv $fp_vlnv $kernel
    connect_bd_net $kclk [fp_pin $kernel/$fp_clk_port]
    connect_bd_net $krst [fp_pin $kernel/$fp_rst_port]

    # ---- HBM: both stacks, global addressing, the bundles' slave ports enabled ----
    set used [dict create]
    foreach b $fp_bundles {
        dict set used [lindex $b 3] 1
    }
    set hcfg [list CONFIG.USER_HBM_DENSITY 8GB CONFIG.USER_HBM_STACK 2 \
                  CONFIG.USER_MEMORY_DISPLAY 8192 CONFIG.USER_APB_EN false \
                  CONFIG.USER_SWITCH_ENABLE_00 TRUE CONFIG.USER_SWITCH_ENABLE_01 TRUE \
                  CONFIG.USER_HBM_REF_CLK_0 $fp_ref_clk_mhz CONFIG.USER_HBM_REF_CLK_1 $fp_ref_clk_mhz \
                  CONFIG.USER_AXI_CLK_FREQ $fp_clock_mhz]
    for {set mc 0} {$mc < 16} {incr mc} {
        lappend hcfg [format CONFIG.USER_MC_ENABLE_%02d $mc] TRUE [format CONFIG.USER_PHY_ENABLE_%02d $mc] TRUE
    }
    for {set p 0} {$p < 32} {incr p} {
        lappend hcfg [format CONFIG.USER_SAXI_%02d $p] [expr {[dict exists $used $p] ? "true" : "false"}]
    }
    # each stack's switch is clocked by one of its enabled AXI ports
    foreach {stack lo hi} {0 0 15 1 16 31} {
        foreach p [lsort -integer [dict keys $used]] {
            if {$p >= $lo && $p <= $hi} {
                lappend hcfg CONFIG.USER_CLK_SEL_LIST$stack [format AXI_%02d_ACLK $p]
                break
            }
        }
    }
    set hbm [create_bd_cell -type ip -vlnv xilinx.com:ip:hbm:1.0 hbm_0]
    set_property -dict $hcfg $hbm
    foreach ref {HBM_REF_CLK_0 HBM_REF_CLK_1} {
        connect_bd_net [fp_pin refclk_ibufds/IBUF_OUT] [fp_pin hbm_0/$ref]
    }
    foreach s {0 1} {
        connect_bd_net [fp_pin refclk_bufg/BUFG_O] [fp_pin hbm_0/APB_${s}_PCLK]
        connect_bd_net [fp_pin apb_rst/peripheral_aresetn] [fp_pin hbm_0/APB_${s}_PRESET_N]
    }
    set trip [create_bd_cell -type ip -vlnv xilinx.com:ip:util_vector_logic:2.0 cattrip_or]
    set_property -dict [list CONFIG.C_SIZE 1 CONFIG.C_OPERATION or] $trip
    connect_bd_net [fp_pin hbm_0/DRAM_0_STAT_CATTRIP] [fp_pin cattrip_or/Op1]
    connect_bd_net [fp_pin hbm_0/DRAM_1_STAT_CATTRIP] [fp_pin cattrip_or/Op2]
    connect_bd_net [fp_pin cattrip_or/Res] [get_bd_ports hbm_cattrip]

    # ---- m_axi bundles -> HBM ----
    foreach b $fp_bundles {
        lassign $b name intf dir saxi first last
        set sp [format %02d $saxi]
        set sc sc_$name
        fp_smartconnect $sc
        connect_bd_intf_net [get_bd_intf_pins $kernel/$intf] [get_bd_intf_pins $sc/S00_AXI]
        connect_bd_intf_net [get_bd_intf_pins $sc/M00_AXI] [get_bd_intf_pins hbm_0/SAXI_$sp]
        connect_bd_net $kclk [fp_pin $sc/aclk]
        connect_bd_net $krst [fp_pin $sc/aresetn]
        connect_bd_net $kclk [fp_pin hbm_0/AXI_${sp}_ACLK]
        connect_bd_net $krst [fp_pin hbm_0/AXI_${sp}_ARESET_N]
        for {set pc $first} {$pc <= $last} {incr pc} {
            assign_bd_address -offset [format 0x%09X [expr {$pc * $fp_hbm_pc_bytes}]] \
                -range [expr {$fp_hbm_pc_bytes >> 20}]M \
                -target_address_space [get_bd_addr_spaces $kernel/$intf] \
                [get_bd_addr_segs [format hbm_0/SAXI_%s/HBM_MEM%02d $sp $pc]]
        }
    }

    # ---- control path: JTAG-to-AXI master -> s_axi_control ----
    set jtag [create_bd_cell -type ip -vlnv xilinx.com:ip:jtag_axi:1.2 jtag_axi]
    set_property CONFIG.PROTOCOL 2 $jtag
    fp_smartconnect sc_ctrl
    connect_bd_intf_net [get_bd_intf_pins jtag_axi/M_AXI] [get_bd_intf_pins sc_ctrl/S00_AXI]
    connect_bd_intf_net [get_bd_intf_pins sc_ctrl/M00_AXI] [get_bd_intf_pins $kernel/$fp_ctrl_intf]
    foreach cell {jtag_axi sc_ctrl} {
        connect_bd_net $kclk [fp_pin $cell/aclk]
        connect_bd_net $krst [fp_pin $cell/aresetn]
    }
    # the address block needs at least 4 KiB in the block design
    set range [expr {$fp_ctrl_range < 4096 ? 4096 : $fp_ctrl_range}]
    assign_bd_address -offset 0x00000000 -range [expr {$range >> 10}]K \
        -target_address_space [get_bd_addr_spaces jtag_axi/Data] \
        [get_bd_addr_segs $kernel/$fp_ctrl_intf/reg0]

    validate_bd_design
    save_bd_design
}
