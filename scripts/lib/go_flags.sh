# shellcheck shell=bash
# go_flags.sh - what every `go build` of this project adds (sourced, never run): flags for
# GOFLAGS, and a `go` function that runs the go command with a lazier garbage collector.
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

# GOGC=400 for the go command and the compilers and linkers it starts: a cold build is ~3,100 s
# of `compile` CPU on 2 cores that stay busy from start to end (process accounting and vmstat
# over the cold builds of `.ci/run`), and the compiler's garbage collector is a good part of
# it. From an empty GOCACHE, two runs each way: actionlint 38.3/44.9 -> 35.4/35.6 s of CPU,
# crane 80.5/86.5 -> 67.9/68.5 s; a k8s.io/api/core/v1 compile grew from 340 to 544 MB at its
# peak. GOMEMLIMIT bounds that: past 3 GiB a compiler collects as often as it needs to. Only
# the go command gets them (a function, not an export): the cluster's daemons that
# cluster.sh starts after its build keep the Go runtime's defaults. Set either variable to
# override it.
GO_BUILD_GOGC=400
GO_BUILD_GOMEMLIMIT=3GiB
go() {
  GOGC="${GOGC:-$GO_BUILD_GOGC}" GOMEMLIMIT="${GOMEMLIMIT:-$GO_BUILD_GOMEMLIMIT}" command go "$@"
}
