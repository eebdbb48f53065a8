# shellcheck shell=bash
# go_flags.sh - what every `go build` of this project adds to GOFLAGS (sourced, never run).
#
# -gcflags=all=-dwarf=false: no DWARF debug info from the compiler, for any package. Every
# binary here is linked with -s -w, which drops the symbol table and the DWARF anyway, so the
# compiler made it only for the linker to throw away. Without it a cold build took 15% less
# CPU (actionlint from an empty GOCACHE, two runs each way: 36.9 -> 31.2 s), though a cold
# `.ci/run` was not shorter for it (2,001 s of engine builds against 1,920: they also wait on
# the module proxy and on each other); the binaries run the same (stack traces come from the
# pcln table, which stays).
# shellcheck disable=SC2034  # read by the scripts that source this file
GO_BUILD_GOFLAGS="-gcflags=all=-dwarf=false"
