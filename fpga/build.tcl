# Vivado build of FAST-Prefill for the Alveo U280 (bare board, no Vitis shell).
#
#   vivado -mode batch -source fpga/build.tcl -tclargs --preset u280 \
#       [--verilog DIR] [--out DIR] [--jobs N] [--clock-mhz F] [--python EXE]
#
# 1. python -m fast_prefill.fpga emit: converts the top (unless --verilog), checks its
#    ports against hdl/top/shell.py, writes OUT/gen/{design.tcl,kernel.xml,link.cfg}
# 2. packages the kernel as IP (kernel_ip.tcl) into OUT/ip
# 3. project for the part, block design (bd_u280.tcl), board constraints (u280.xdc)
# 4. synthesis, implementation, bitstream; utilisation and timing reports into OUT
# The bitstream is copied to OUT/fast_prefill_<preset>.bit only when Vivado wrote one.

set fp_root [file normalize [file join [file dirname [info script]] ..]]
set fp_dir [file join $fp_root fpga]
source [file join $fp_dir common.tcl]

set opts [fp_parse_args $argv]
set out [dict get $opts out]
set jobs [dict get $opts jobs]
file mkdir $out
set gen [fp_generate $opts]
puts "\[fast-prefill\] config $fp_config, part $fp_part, top $fp_top, kernel clock $fp_clock_mhz MHz"

# ---- kernel IP ----
source [file join $fp_dir kernel_ip.tcl]
set ip_dir [file join $out ip]
fp_package_kernel $ip_dir [file join $out kernel_pack]

# ---- project and block design ----
set proj_dir [file join $out vivado]
create_project -force fast_prefill_u280 $proj_dir -part $fp_part
set_property target_language Verilog [current_project]
set_property ip_repo_paths [list $ip_dir] [current_project]
update_ip_catalog

source [file join $fp_dir bd_u280.tcl]
set bd_name fast_prefill_u280
fp_create_bd $bd_name
set bd_file [get_files $bd_name.bd]
generate_target all $bd_file
add_files -norecurse [make_wrapper -files $bd_file -top]
set_property top ${bd_name}_wrapper [current_fileset]
add_files -fileset constrs_1 -norecurse [file join $fp_dir u280.xdc]
update_compile_order -fileset sources_1

# ---- synthesis ----
launch_runs synth_1 -jobs $jobs
wait_on_run synth_1
if {[get_property PROGRESS [get_runs synth_1]] ne "100%"} {
    fp_fail "synthesis did not complete: [get_property STATUS [get_runs synth_1]] (see $proj_dir)"
}
open_run synth_1
report_utilization -file [file join $out utilization_synth.rpt]
close_design

# ---- implementation and bitstream ----
launch_runs impl_1 -to_step write_bitstream -jobs $jobs
wait_on_run impl_1
if {[get_property PROGRESS [get_runs impl_1]] ne "100%"} {
    fp_fail "implementation did not complete: [get_property STATUS [get_runs impl_1]] (see $proj_dir)"
}
open_run impl_1
report_utilization -file [file join $out utilization.rpt]
report_utilization -hierarchical -file [file join $out utilization_hier.rpt]
report_timing_summary -max_paths 20 -file [file join $out timing_summary.rpt]
puts "\[fast-prefill\] reports: [file join $out utilization.rpt], [file join $out timing_summary.rpt]"

set bits [glob -nocomplain -directory [get_property DIRECTORY [get_runs impl_1]] *.bit]
if {[llength $bits] != 1} {
    fp_fail "implementation reported completion but no bitstream was found in\
[get_property DIRECTORY [get_runs impl_1]]"
}
set bit [file join $out fast_prefill_$fp_config.bit]
file copy -force [lindex $bits 0] $bit
puts "\[fast-prefill\] bitstream: $bit"
