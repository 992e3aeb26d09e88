# Vitis path: package fast_prefill_top as an RTL kernel (.xo) for the U280 platform.
#
#   vivado -mode batch -source fpga/package_xo.tcl -tclargs --preset u280 \
#       [--verilog DIR] [--out DIR] [--clock-mhz F] [--python EXE]
#   v++ --link -t hw --platform xilinx_u280_gen3x16_xdma_1_202211_1 \
#       --config OUT/gen/link.cfg -o OUT/fast_prefill.xclbin OUT/fast_prefill_top.xo
#
# kernel.xml (arguments and offsets of hdl/top/shell.py) and link.cfg (each m_axi bundle
# bound to its HBM pseudo-channels) are generated into OUT/gen by fast_prefill.fpga.

set fp_root [file normalize [file join [file dirname [info script]] ..]]
set fp_dir [file join $fp_root fpga]
source [file join $fp_dir common.tcl]

set opts [fp_parse_args $argv]
set out [dict get $opts out]
file mkdir $out
set gen [fp_generate $opts]

source [file join $fp_dir kernel_ip.tcl]
set ip_dir [file join $out ip]
fp_package_kernel $ip_dir [file join $out kernel_pack]

set xo [file join $out $fp_top.xo]
file delete -force $xo
package_xo -xo_path $xo -kernel_name $fp_top -ip_directory $ip_dir \
    -kernel_xml [file join $gen kernel.xml]
if {![file exists $xo]} {
    fp_fail "package_xo wrote no $xo"
}
puts "\[fast-prefill\] kernel: $xo"
puts "\[fast-prefill\] link: v++ --link -t hw --platform $fp_platform --config [file join $gen link.cfg]\
-o [file join $out fast_prefill.xclbin] $xo"
