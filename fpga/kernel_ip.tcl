# Package fast_prefill_top as a Vivado IP / Vitis RTL kernel (ipx).
#
# Reads the fp_* variables of the generated design.tcl: the RTL files, the top, its
# VLNV, the clock/reset port names, the AXI4-Lite register map and the m_axi bundles.
# The AXI interfaces themselves are inferred by Vivado from the port names
# (s_axi_control_*, m_axi_<bundle>_*), which hdl/top/shell.py fixes.

proc fp_package_kernel {ip_dir work_dir} {
    global fp_part fp_files fp_top fp_vlnv fp_clk_port fp_rst_port fp_irq_port
    global fp_ctrl_intf fp_bundles fp_registers fp_pointer_args fp_clock_mhz
    lassign [split $fp_vlnv :] vendor library name version

    # A throw-away project that holds the RTL while it is packaged.
    create_project -force kernel_pack $work_dir -part $fp_part
    add_files -norecurse $fp_files
    set_property top $fp_top [current_fileset]
    update_compile_order -fileset sources_1

    ipx::package_project -root_dir $ip_dir -vendor $vendor -library $library \
        -taxonomy /KernelIP -import_files -set_current false
    ipx::unload_core [file join $ip_dir component.xml]
    ipx::edit_ip_in_project -upgrade true -name kernel_edit -directory [file join $work_dir edit] \
        [file join $ip_dir component.xml]
    set core [ipx::current_core]
    set_property name $name $core
    set_property version $version $core
    set_property core_revision 1 $core
    set_property sdx_kernel true $core
    set_property sdx_kernel_type rtl $core
    set_property supported_families {virtexuplushbm Production} $core

    # Clock and reset: every AXI interface is synchronous to the kernel clock.
    ipx::associate_bus_interfaces -busif $fp_ctrl_intf -clock $fp_clk_port $core
    foreach b $fp_bundles {
        ipx::associate_bus_interfaces -busif [lindex $b 1] -clock $fp_clk_port $core
    }
    ipx::associate_bus_interfaces -clock $fp_clk_port -reset $fp_rst_port $core
    set clk_if [ipx::get_bus_interfaces $fp_clk_port -of_objects $core]
    ipx::add_bus_parameter FREQ_TOLERANCE_HZ $clk_if
    set_property value -1 [ipx::get_bus_parameters FREQ_TOLERANCE_HZ -of_objects $clk_if]
    ipx::add_bus_parameter FREQ_HZ $clk_if
    set_property value [expr {round($fp_clock_mhz * 1e6)}] \
        [ipx::get_bus_parameters FREQ_HZ -of_objects $clk_if]

    # The register map of hdl/top/shell.py; pointer arguments name the bundle they address.
    set mem_map [ipx::add_memory_map $fp_ctrl_intf $core]
    set block [ipx::add_address_block reg0 $mem_map]
    set_property range $::fp_ctrl_range $block
    set pointers [dict create]
    foreach pa $fp_pointer_args {
        dict set pointers [lindex $pa 0] m_axi_[lindex $pa 1]
    }
    foreach r $fp_registers {
        lassign $r rname offset bits access
        set reg [ipx::add_register $rname $block]
        set_property address_offset $offset $reg
        set_property size $bits $reg
        if {[dict exists $pointers $rname]} {
            set param [ipx::add_register_parameter ASSOCIATED_BUSIF $reg]
            set_property value [dict get $pointers $rname] $param
        }
    }
    set_property slave_memory_map_ref $fp_ctrl_intf [ipx::get_bus_interfaces $fp_ctrl_intf -of_objects $core]

    ipx::create_xgui_files $core
    ipx::update_checksums $core
    ipx::check_integrity -kernel $core
    ipx::save_core $core
    close_project -delete
    close_project
}
