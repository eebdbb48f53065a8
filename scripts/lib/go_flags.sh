# shellcheck shell=bash
# go_flags.sh - what every `go build` of this project adds to GOFLAGS (sourced, never run).
#
# -gcflags=all=-dwarf=false: no DWARF debug info from the compiler, for any package. Every
# binary here is linked with -s -w, which drops the symbol table and the DWARF anyway, so the
# compiler made it only for the linker to throw away. With it a cold build took 15% less
# CPU (actionlint from an empty GOCACHE, two runs each way: 36.9 -> 31.2 s), though a cold
# `.ci/run` was not shorter for it (2,001 s of engine builds against 1,920: they also wait on
# the module proxy and on each other); the binaries run the same (stack traces come from the
# pcln table, which stays).
# shellcheck disable=SC2034  # read by the scripts that source this file
GO_BUILD_GOFLAGS="-gcflags=all=-dwarf=false"

# Tried and left out: GOGC=400 (GOMEMLIMIT 3GiB) for the go command and its compilers. From an
# empty GOCACHE it cut the CPU of actionlint's build 15% and crane's 19%, but only 2% of a
# k8s.io/api/core/v1 compile (the compiler already starts with a large heap), and a cold
# `.ci/run` with it built the engine in 1,988 s against 2,001 s without: within the machine's
# noise (and its tests took longer, 1,105 s against 965: the machine's speed varies).
