# Shared by build.tcl and package_xo.tcl: argument parsing and the generation step.
#
# Nothing about the kernel is written here by hand: fp_generate runs
# `python -m fast_prefill.fpga emit`, which converts the top (`fast-prefill convert`)
# unless --verilog names a folder, checks the top's ports against hdl/top/shell.py and writes design.tcl (the fp_*
# variables: part, top, files, clock, m_axi bundles with their HBM binding, register
# map), kernel.xml and link.cfg.  Plain Tcl 8.5 (Vivado's interpreter).

proc fp_fail {msg} {
    puts stderr "ERROR: \[fast-prefill\] $msg"
    exit 1
}

proc fp_usage {} {
    return "usage: vivado -mode batch -source fpga/build.tcl -tclargs \[--preset P\] \[--verilog DIR\]\
\[--out DIR\] \[--jobs N\] \[--clock-mhz F\] \[--python EXE\]"
}

# Parse the -tclargs list into a dict; unknown options stop the build with the usage line.
proc fp_parse_args {argv} {
    set opts [dict create preset u280 verilog "" out "" jobs 8 clock_mhz "" python ""]
    set keys [dict create --preset preset --verilog verilog --out out --jobs jobs \
                  --clock-mhz clock_mhz --python python]
    set i 0
    while {$i < [llength $argv]} {
        set a [lindex $argv $i]
        if {$a eq "-h" || $a eq "--help"} {
            puts [fp_usage]
            exit 0
        }
        if {![dict exists $keys $a]} {
            fp_fail "unknown argument '$a'\n[fp_usage]"
        }
        if {$i + 1 >= [llength $argv]} {
            fp_fail "option $a needs a value\n[fp_usage]"
        }
        dict set opts [dict get $keys $a] [lindex $argv [expr {$i + 1}]]
        incr i 2
    }
    if {![string is integer -strict [dict get $opts jobs]] || [dict get $opts jobs] < 1} {
        fp_fail "--jobs must be a positive integer, got '[dict get $opts jobs]'"
    }
    set f [dict get $opts clock_mhz]
    if {$f ne "" && (![string is double -strict $f] || $f <= 0)} {
        fp_fail "--clock-mhz must be a positive number, got '$f'"
    }
    if {[dict get $opts out] eq ""} {
        dict set opts out [file join $::fp_root build fpga [dict get $opts preset]]
    }
    dict set opts out [file normalize [dict get $opts out]]
    return $opts
}

# The Python that runs the project's generators: --python, $FAST_PREFILL_PYTHON, the
# repository's .venv, then python3 on PATH.
proc fp_python {opts} {
    if {[dict get $opts python] ne ""} {
        return [dict get $opts python]
    }
    if {[info exists ::env(FAST_PREFILL_PYTHON)] && $::env(FAST_PREFILL_PYTHON) ne ""} {
        return $::env(FAST_PREFILL_PYTHON)
    }
    set venv [file join $::fp_root .venv bin python]
    if {[file executable $venv]} {
        return $venv
    }
    set py [auto_execok python3]
    if {$py eq ""} {
        fp_fail "no Python found: pass --python EXE (the interpreter the project is installed in)"
    }
    return [lindex $py 0]
}

proc fp_run {cmd} {
    puts "\[fast-prefill\] running: $cmd"
    set here [pwd]
    cd $::fp_root
    set rc [catch {exec {*}$cmd 2>@1} output]
    cd $here
    puts $output
    if {$rc} {
        fp_fail "command failed: $cmd"
    }
    return $output
}

# Convert (unless --verilog), emit the generated inputs and source design.tcl into the
# global namespace.  Returns the folder of the generated inputs.
proc fp_generate {opts} {
    set py [fp_python $opts]
    set out [dict get $opts out]
    set gen [file join $out gen]
    set cmd [list $py -m fast_prefill.fpga emit --preset [dict get $opts preset] --out $gen]
    if {[dict get $opts verilog] ne ""} {
        lappend cmd --verilog [file normalize [dict get $opts verilog]]
    } else {
        # emit runs `fast-prefill convert --unit <top>` into this folder first
        lappend cmd --convert-to [file join $out verilog]
    }
    if {[dict get $opts clock_mhz] ne ""} {
        lappend cmd --clock-mhz [dict get $opts clock_mhz]
    }
    fp_run $cmd
    uplevel #0 [list source [file join $gen design.tcl]]
    return $gen
}
