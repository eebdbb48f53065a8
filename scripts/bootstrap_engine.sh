#!/usr/bin/env bash
# bootstrap_engine.sh - provide the Pulumi engine binaries this project needs,
# built only from Go modules served by the Go module proxy. GitHub and
# get.pulumi.com are not reachable from developer machines or CI, so no
# prebuilt release can be downloaded.
#
# Result, in ENGINE_HOME=${INVOLUTION_ENGINE_HOME:-$HOME/.cache/involution-engine}:
#   bin/pulumi                        CLI / engine
#   bin/pulumi-language-python        Python language host (found by the CLI beside itself)
#   bin/pulumi-language-python-exec   Python shim the host runs (must sit beside the host)
#   bin/pulumi-analyzer-policy-python  shim the CLI runs for a Python policy pack
#   providers/pulumi-resource-kubernetes
# and the provider registered in the plugin cache (${PULUMI_HOME:-~/.pulumi}/plugins)
# as "resource kubernetes $K8S_PROVIDER_VERSION", the version the pinned
# pulumi-kubernetes Python SDK asks the engine for.
#
# The provider is deliberately NOT in bin/: a pulumi-resource-* found on PATH
# overrides the plugin cache for every requested version and makes the engine
# print "using pulumi-resource-kubernetes from $PATH" on every run.
#
# Idempotent: every component has a stamp; a second run only reads stamps.
#
# Usage:  scripts/bootstrap_engine.sh     # prints the bin dir on stdout, logs on stderr
#         export PATH="$(scripts/bootstrap_engine.sh):$PATH"
#         scripts/bootstrap_engine.sh --print-bin   # just print the bin dir
#
# Why these versions (checked against the proxy, which serves only some modules):
#  * CLI: github.com/pulumi/pulumi/pkg/v3 v3.274.1 is the newest served pkg/v3
#    (v3.271.0-v3.274.0 answer 403). A CLI newer than the Python SDK (3.272.0) is fine.
#  * Python language host: its own module
#    github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3 is not
#    served at any version (list, tags, pseudo-versions all answer 403). Up to
#    v3.79.0 the host lived inside github.com/pulumi/pulumi/sdk/v3, which is
#    served, so we build it from sdk/v3@v3.79.0 (the last release before the
#    host became a module of its own in v3.80.0). That host predates the
#    ProgramInfo protocol field, through which today's CLI passes the project
#    root and `runtime.options` (e.g. `virtualenv: venv`) and the directory of
#    a policy pack. Without it, the venv of Pulumi.yaml is ignored and policy
#    packs fail to start. A small compatibility file (written below, our own
#    code) reads that field from the request's unknown protobuf fields.
#  * pulumi-language-python-exec: a Python script taken from the sdk/v3 module
#    zip at the CLI version (the PyPI `pulumi` wheel does not ship it). Its
#    argument parser accepts everything the v3.79 host passes.
#  * Kubernetes provider: github.com/pulumi/pulumi-kubernetes/provider/v4 is only
#    served at v4.0.0-20260115033456-f47bc2d6f199, the commit of release tag
#    v4.25.0 (the commits of v4.24.1, v4.26.0-v4.32.0 answer 403). Hence the
#    Python SDK pin pulumi-kubernetes==4.25.0 and the plugin version 4.25.0.
set -euo pipefail

# ------------------------------------------------------------------ pins -----
PULUMI_VERSION="3.274.1"            # pkg/v3 + sdk/v3: CLI, and the -exec shim
LANGHOST_SDK_VERSION="3.79.0"       # last sdk/v3 that contains the python host
# The CLI starts a Python policy pack through the language host's RunPlugin, which the v3.79
# host lacks, so it falls back to this shim (python -u -m pulumi.policy in the pack's venv);
# upstream dropped it from sdk/v3 after 3.220.0, the newest served release that has it.
ANALYZER_SHIM_SDK_VERSION="3.220.0"
K8S_PROVIDER_VERSION="4.25.0"
K8S_PROVIDER_MODULE="github.com/pulumi/pulumi-kubernetes/provider/v4"
K8S_PROVIDER_MODVER="v4.0.0-20260115033456-f47bc2d6f199"   # = tag v4.25.0
K8S_GO_SDK_VERSION="v4.25.0"        # stands in for the provider's `../sdk` replace

ENGINE_HOME="${INVOLUTION_ENGINE_HOME:-$HOME/.cache/involution-engine}"
BIN="$ENGINE_HOME/bin"
PROVIDERS="$ENGINE_HOME/providers"
STAMPS="$ENGINE_HOME/stamps"

if [[ "${1:-}" == "--print-bin" ]]; then
  echo "$BIN"
  exit 0
fi

# No pulumi call below may try the network.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

log() { echo "bootstrap_engine: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

mkdir -p "$BIN" "$PROVIDERS" "$STAMPS"

# stamp_ok NAME KEY FILE...: the stamp of NAME holds KEY and every FILE exists
# and is executable.
stamp_ok() {
  local name="$1" key="$2" f; shift 2
  [[ -f "$STAMPS/$name" && "$(<"$STAMPS/$name")" == "$key" ]] || return 1
  for f in "$@"; do [[ -x "$f" ]] || return 1; done
}
stamp_write() { printf '%s' "$2" > "$STAMPS/$1"; }

# install_file SRC DEST: atomic copy with mode 0755 (a half-written binary is
# never visible under its final name).
install_file() { install -m 0755 "$1" "$2.tmp.$$" && mv -f "$2.tmp.$$" "$2"; }

timed() {  # timed LABEL CMD...: run CMD and log its wall time
  local label="$1" t0=$SECONDS; shift
  "$@"
  log "$label: $((SECONDS - t0))s"
}

# The CLI's background build (main, below), stopped when this script ends before it does.
cli_build=""
stop_cli_build() {
  [[ -n $cli_build ]] || return 0
  kill -- -"$cli_build" 2>/dev/null || true
  wait "$cli_build" || true
}

# ------------------------------------------------------- Go environment ------
# Only set up when something has to be built, so a cached run needs no Go.
GO_READY=false
go_env() {
  $GO_READY && return 0
  command -v go >/dev/null || die "go is needed to build the engine and was not found on PATH"
  export CGO_ENABLED=0
  # Proxy and checksum database stay at their defaults: `go build` runs with
  # -mod=readonly, so each module's own go.sum is honoured as is, and the only
  # go.sum lines we add (provider -> sdk/v4, via `go get`) are verified against
  # sum.golang.org, which the proxy serves. So GOFLAGS / GONOSUMDB / GONOSUMCHECK
  # are not touched, except for the compiler flag every build here adds
  # (scripts/lib/go_flags.sh). Every module here declares go <= 1.26.x; a future pin
  # needing Go 1.27 would need GOTOOLCHAIN=go1.27.3 (served by the proxy).
  export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"
  # shellcheck source=scripts/lib/go_flags.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib/go_flags.sh"
  export GOFLAGS="${GOFLAGS:-} $GO_BUILD_GOFLAGS"
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/involution-engine-build.XXXXXX")"
  mkdir -p "$WORK/out"
  trap 'stop_cli_build; chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
  GO_READY=true
}

# mod_dir MODULE VERSION: fetch the module through the proxy (checksum-verified
# into the read-only module cache) and print its directory.
mod_dir() {
  local json dir
  json="$(go mod download -json "$1@$2")" || die "go mod download $1@$2 failed: $json"
  dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")"
  [[ -n "$dir" && -d "$dir" ]] || die "no module directory for $1@$2: $json"
  echo "$dir"
}

# copy_mod SRC DEST: writable copy of a module-cache directory to build in.
copy_mod() { mkdir -p "$(dirname "$2")" && cp -R "$1" "$2" && chmod -R u+w "$2"; }

# ------------------------------------------------------- 1. pulumi CLI -------
CLI_KEY="pulumi v$PULUMI_VERSION+lazy-zxcvbn"
LH_KEY="pulumi-language-python sdk/v3@v$LANGHOST_SDK_VERSION+programinfo-compat+pulumi-package-list, exec from sdk/v3@v$PULUMI_VERSION"

# A pulumi at exactly the pinned version already on PATH (an upstream install on
# a laptop) is copied in instead of building; so are the upstream python host
# and exec of the same release if they sit beside it, as in upstream tarballs.
cli_from_path() {
  local p d
  p="$(PATH="$(tr ':' '\n' <<<"$PATH" | grep -vxF "$BIN" | paste -sd: -)" command -v pulumi || true)"
  [[ -n "$p" && "$("$p" version 2>/dev/null || true)" == "v$PULUMI_VERSION" ]] || return 1
  p="$(readlink -f "$p")"; d="$(dirname "$p")"
  install_file "$p" "$BIN/pulumi"
  stamp_write pulumi "$CLI_KEY"
  log "copied pulumi v$PULUMI_VERSION from $p"
  if [[ -x "$d/pulumi-language-python" && -f "$d/pulumi-language-python-exec" ]]; then
    install_file "$d/pulumi-language-python-exec" "$BIN/pulumi-language-python-exec"
    install_file "$d/pulumi-language-python" "$BIN/pulumi-language-python"
    stamp_write langhost "$LH_KEY"   # the host shipped with a v$PULUMI_VERSION CLI beats ours
    log "copied pulumi-language-python and -exec shipped beside it in $d"
  fi
}

# The CLI links zxcvbn-go (a password-strength estimator; `pulumi config set` asks it whether
# a plaintext value under a key like *password* or *token* looks like a secret, and refuses
# it). Its packages parse their word lists in Go `init`, on every start of every command:
# 34 ms of the 0.20 s of CPU a `pulumi version` costs here (GODEBUG=inittrace=1 puts them
# first), about 700 times in `make test` and once per operator command. Our copy parses them
# on first use instead (sync.Once), the same lists and the same answers, only later.
patch_zxcvbn_lazy() {
  local d="$1"
  awk '
    $0 == "\t\"log\"" && !a { print; print "\t\"sync\""; a = 1; next }
    $0 == "func init() {" && !b {
      print "var loadOnce sync.Once\n"
      print "// Load fills Lists on first use (scripts/bootstrap_engine.sh: no parsing in init)."
      print "func Load() { loadOnce.Do(load) }\n"
      print "func load() {"
      b = 1; next
    }
    { print }
    END { if (!(a && b)) exit 1 }
  ' "$d/frequency/frequency.go" > "$d/frequency/frequency.go.new" \
    && mv "$d/frequency/frequency.go.new" "$d/frequency/frequency.go" || return 1
  # matching: its init only called loadFrequencyList, which Omnimatch already calls when
  # nothing is loaded; it now loads the lists first.
  awk '
    $0 == "func init() {" { skip = 3 }
    skip > 0 { skip--; if (skip == 0) n++; next }
    $0 == "func loadFrequencyList() {" { print; print "\tfrequency.Load()"; m++; next }
    { print }
    END { if (n != 1 || m != 1) exit 1 }
  ' "$d/matching/matching.go" > "$d/matching/matching.go.new" \
    && mv "$d/matching/matching.go.new" "$d/matching/matching.go"
}

build_cli() {
  # pkg/go.mod says `replace github.com/pulumi/pulumi/sdk/v3 => ../sdk`, so lay
  # out pkg/ and sdk/ of the same release side by side as in the upstream repo.
  # Flags as upstream .goreleaser.yml: -trimpath, tags osusergo,grpcnotrace,
  # -w -s and the version ldflag; CGO off.
  local pkg sdk zx zx_version
  pkg="$(mod_dir github.com/pulumi/pulumi/pkg/v3 "v$PULUMI_VERSION")"
  sdk="$(mod_dir github.com/pulumi/pulumi/sdk/v3 "v$PULUMI_VERSION")"
  copy_mod "$pkg" "$WORK/cli/pkg"
  copy_mod "$sdk" "$WORK/cli/sdk"
  # The zxcvbn-go the release requires (its go.mod), patched as above and put in its place.
  zx_version="$(awk '$1 == "github.com/ccojocar/zxcvbn-go" { print $2; exit }' "$WORK/cli/pkg/go.mod")"
  [[ -n $zx_version ]] || die "pkg/go.mod of v$PULUMI_VERSION requires no zxcvbn-go"
  zx="$(mod_dir github.com/ccojocar/zxcvbn-go "$zx_version")"
  copy_mod "$zx" "$WORK/cli/zxcvbn-go"
  patch_zxcvbn_lazy "$WORK/cli/zxcvbn-go" || die "could not patch zxcvbn-go $zx_version"
  (cd "$WORK/cli/pkg" && go mod edit -replace github.com/ccojocar/zxcvbn-go=../zxcvbn-go)
  (cd "$WORK/cli/pkg" && go build -trimpath -tags osusergo,grpcnotrace \
     -ldflags "-w -s -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
     -o "$WORK/out/pulumi" ./cmd/pulumi)
  install_file "$WORK/out/pulumi" "$BIN/pulumi"
  stamp_write pulumi "$CLI_KEY"
}

# ------------------------------------------- 2. python language host ---------
# Compatibility file added to the v3.79 host package. Today's CLI sends a
# ProgramInfo message (root dir, program dir, runtime options) in field
# `info` of Run(14), RunPlugin(5), GetRequiredPlugins(4),
# InstallDependencies(3) and GetProgramDependencies(5); the v3.79 protobuf
# types do not know it, so protobuf-go keeps it as unknown bytes. We decode
# root_directory(1), program_directory(2) and options(4, a Struct) from there.
write_programinfo_compat() {
  cat > "$1" <<'GO'
// Added by scripts/bootstrap_engine.sh: newer-CLI compatibility for this old host.
package main

import (
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// withProgramInfo returns the host to serve this request with: a copy whose
// virtualenv comes from the request's ProgramInfo runtime options (resolved
// against its root directory) unless -virtualenv was given, plus the
// ProgramInfo program directory.
func (host *pythonLanguageHost) withProgramInfo(
	req proto.Message, field protowire.Number,
) (*pythonLanguageHost, string) {
	info := compatBytesField(req.ProtoReflect().GetUnknown(), field)
	if info == nil {
		return host, ""
	}
	root := string(compatBytesField(info, 1))
	programDir := string(compatBytesField(info, 2))
	var opts structpb.Struct
	if raw := compatBytesField(info, 4); raw != nil {
		_ = proto.Unmarshal(raw, &opts)
	}
	if ve := opts.GetFields()["virtualenv"].GetStringValue(); ve != "" && host.virtualenv == "" {
		h := *host
		h.virtualenv = ve
		h.virtualenvPath = resolveVirtualEnvironmentPath(root, ve)
		return &h, programDir
	}
	return host, programDir
}

// compatBytesField returns the last length-delimited field `want` in b, or nil.
func compatBytesField(b []byte, want protowire.Number) []byte {
	var out []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return out
		}
		b = b[n:]
		if num == want && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return out
			}
			out, b = v, b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return out
		}
		b = b[m:]
	}
	return out
}
GO
}

# Insert one line after the signature of each RPC method that needs ProgramInfo.
# RunPlugin: the new CLI leaves the deprecated `program` field empty (the old
# host would then run `python ""`, i.e. the project's __main__.py instead of
# the policy pack), so fall back to ProgramInfo.program_directory.
patch_langhost_main() {
  awk '
    BEGIN {
      f["Run"]                    = "host, _ = host.withProgramInfo(req, 14)"
      f["RunPlugin"]              = "host, programDir := host.withProgramInfo(req, 5)\n\tif req.Program == \"\" {\n\t\treq.Program = programDir\n\t}"
      f["GetRequiredPlugins"]     = "host, _ = host.withProgramInfo(req, 4)"
      f["InstallDependencies"]    = "host, _ = host.withProgramInfo(req, 3)"
      f["GetProgramDependencies"] = "host, _ = host.withProgramInfo(req, 5)"
    }
    match($0, /^func \(host \*pythonLanguageHost\) [A-Za-z]+\(/) {
      name = substr($0, 33, RLENGTH - 33); if (name in f) pending = name
    }
    { print }
    pending != "" && /\{$/ { print "\t" f[pending]; n++; pending = "" }
    END { if (n != 5) { print "patched " n " of 5 methods" > "/dev/stderr"; exit 1 } }
  ' "$1" > "$1.new" && mv "$1.new" "$1"
}

# GetRequiredPlugins finds the Pulumi packages of the venv with `python -m pip list -v
# --format json`, on every `up` and `preview`: 0.44 s of a 2.4 s `up`, almost all of it pip's
# own import. The host keeps only the packages named pulumi-* or holding
# <module>/pulumi-plugin.json, and reads their name, version and location: this script lists
# those, from the dist-info folder names on sys.path, and parses the metadata of those alone
# (importlib.metadata over every package of the venv was 0.11 s of CPU, this 0.05 s), on the
# same interpreter and sys.path.
write_package_list_compat() {
  cat > "$1" <<'GO'
// Added by scripts/bootstrap_engine.sh: `pip list -v --format json` without pip's start-up,
// of the packages the host keeps (isPulumiPackage): named pulumi*, or with pulumi-plugin.json.
package main

const packageListScript = `import importlib.metadata as m, json, os, sys
names = set()
for entry in sys.path:
    try:
        listing = os.listdir(entry or ".")
    except OSError:
        continue
    for item in listing:
        stem, _, suffix = item.rpartition(".")
        name = stem.split("-", 1)[0]
        plugin = os.path.join(entry or ".", name, "pulumi-plugin.json")
        if suffix in ("dist-info", "egg-info") and (
            name.lower().startswith("pulumi") or os.path.exists(plugin)
        ):
            names.add(name)
found = [m.distribution(name) for name in sorted(names)]
print(json.dumps([{"name": d.metadata["Name"], "version": d.version, "location": str(d.locate_file(""))} for d in found if d.metadata["Name"]]))`
GO
}

patch_package_list() {
  local line='args := []string{"-m", "pip", "list", "-v", "--format", "json"}'
  awk -v line="$line" '
    index($0, line) { sub(/args := .*/, "args := []string{\"-c\", packageListScript}"); n++ }
    { print }
    END { if (n != 1) exit 1 }
  ' "$1" > "$1.new" && mv "$1.new" "$1"
}

build_langhost() {
  local old new d
  old="$(mod_dir github.com/pulumi/pulumi/sdk/v3 "v$LANGHOST_SDK_VERSION")"
  copy_mod "$old" "$WORK/lh/sdk"
  d="$WORK/lh/sdk/python/cmd/pulumi-language-python"
  write_programinfo_compat "$d/programinfo_compat.go"
  patch_langhost_main "$d/main.go" || die "could not patch $d/main.go"
  write_package_list_compat "$d/package_list_compat.go"
  patch_package_list "$d/main.go" || die "could not patch the package list of $d/main.go"
  (cd "$WORK/lh/sdk" && go build -trimpath -tags osusergo,grpcnotrace \
     -ldflags "-w -s -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$LANGHOST_SDK_VERSION" \
     -o "$WORK/out/pulumi-language-python" ./python/cmd/pulumi-language-python)
  # The host runs `python <dir of its own executable>/pulumi-language-python-exec`.
  new="$(mod_dir github.com/pulumi/pulumi/sdk/v3 "v$PULUMI_VERSION")"
  install_file "$new/python/cmd/pulumi-language-python-exec" "$BIN/pulumi-language-python-exec"
  install_file "$WORK/out/pulumi-language-python" "$BIN/pulumi-language-python"
  stamp_write langhost "$LH_KEY"
}

# ------------------------------------------- 3. kubernetes provider ----------
K8S_KEY="pulumi-resource-kubernetes $K8S_PROVIDER_VERSION from $K8S_PROVIDER_MODULE@$K8S_PROVIDER_MODVER + sdk/v4@$K8S_GO_SDK_VERSION"

build_k8s() {
  local src d
  src="$(mod_dir "$K8S_PROVIDER_MODULE" "$K8S_PROVIDER_MODVER")"
  d="$WORK/k8s/provider"
  copy_mod "$src" "$d"
  # Upstream builds with `replace .../sdk/v4 => ../sdk` (the repo's sdk/ at the
  # same commit), which a module zip cannot carry. Use the sdk/v4 release of the
  # same version instead; `go get` checks it against sum.golang.org and only adds
  # its two go.sum lines (no other requirement moves).
  (cd "$d" && go mod edit -dropreplace=github.com/pulumi/pulumi-kubernetes/sdk/v4 \
     && go get "github.com/pulumi/pulumi-kubernetes/sdk/v4@$K8S_GO_SDK_VERSION")
  # As the provider Makefile's k8sprovider target: generate.go (go:generate in
  # main.go) writes schema-embed.json from the committed schema.json, stamped
  # with VERSION, and terraform-mapping-embed.json; main.go //go:embed-s both.
  (cd "$d/cmd/pulumi-resource-kubernetes" && VERSION="$K8S_PROVIDER_VERSION" go generate ./main.go)
  (cd "$d" && go build -trimpath \
     -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PROVIDER_VERSION" \
     -o "$WORK/out/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes)
  install_file "$WORK/out/pulumi-resource-kubernetes" "$PROVIDERS/pulumi-resource-kubernetes"
  stamp_write k8s "$K8S_KEY"
}

# ------------------------------------------------------------------ main -----
# The CLI builds in the background while the language host and the provider build here: one
# `go build` leaves a core idle while it links, downloads or waits on a package the others
# need (the two share few compiled packages: the provider is on sdk/v3 v3.215.0).
if ! stamp_ok pulumi "$CLI_KEY" "$BIN/pulumi"; then
  if ! cli_from_path; then
    go_env
    # Its own process group (job control on for this one job): a failed step here stops the
    # whole build, `go` and its compilers included, before the work folder is removed.
    set -m
    timed "built pulumi v$PULUMI_VERSION" build_cli &
    cli_build=$!
    set +m
  fi
fi
# cli_built: the background build of the CLI, if any, has ended well.
cli_built() {
  [[ -z $cli_build ]] && return 0
  wait "$cli_build" || die "the build of pulumi v$PULUMI_VERSION failed"
  cli_build=""
}

if ! stamp_ok langhost "$LH_KEY" "$BIN/pulumi-language-python" "$BIN/pulumi-language-python-exec"; then
  go_env
  timed "built pulumi-language-python (sdk/v3@v$LANGHOST_SDK_VERSION)" build_langhost
fi

SHIM_KEY="pulumi-analyzer-policy-python from sdk/v3@v$ANALYZER_SHIM_SDK_VERSION"
if ! stamp_ok analyzer-shim "$SHIM_KEY" "$BIN/pulumi-analyzer-policy-python"; then
  go_env
  shim_dir="$(mod_dir github.com/pulumi/pulumi/sdk/v3 "v$ANALYZER_SHIM_SDK_VERSION")"
  install_file "$shim_dir/python/dist/pulumi-analyzer-policy-python" \
    "$BIN/pulumi-analyzer-policy-python"
  stamp_write analyzer-shim "$SHIM_KEY"
  log "installed pulumi-analyzer-policy-python from sdk/v3@v$ANALYZER_SHIM_SDK_VERSION"
fi

# The plugin cache the CLI reads: $PULUMI_HOME, else .pulumi in the user's home directory of
# the passwd database (Go's user.Current()), which is not always $HOME (sudo -E, containers
# and CI runners that set HOME). Looking in $HOME/.pulumi there found nothing, so every call
# of this script (every scripts/pulumi.sh) reinstalled the provider with --reinstall, removing
# it under the engines running beside: "no resource plugin 'pulumi-resource-kubernetes'".
pulumi_home() {
  if [[ -n ${PULUMI_HOME:-} ]]; then
    echo "$PULUMI_HOME"
    return
  fi
  local home
  home="$(getent passwd "$(id -u)" | cut -d: -f6 || true)"
  echo "${home:-$HOME}/.pulumi"
}

# The plugin cache entry is what the engine uses. If it already holds this
# version (installed by us or by anyone else) there is nothing to do.
PLUGIN_DIR="$(pulumi_home)/plugins/resource-kubernetes-v$K8S_PROVIDER_VERSION"
if [[ -x "$PLUGIN_DIR/pulumi-resource-kubernetes" && ! -e "$PLUGIN_DIR.partial" ]]; then
  :
else
  if ! stamp_ok k8s "$K8S_KEY" "$PROVIDERS/pulumi-resource-kubernetes"; then
    go_env
    timed "built pulumi-resource-kubernetes $K8S_PROVIDER_VERSION" build_k8s
  fi
  cli_built
  PULUMI_HOME="$(pulumi_home)" "$BIN/pulumi" plugin install resource kubernetes \
    "$K8S_PROVIDER_VERSION" --file "$PROVIDERS/pulumi-resource-kubernetes" --reinstall >&2
fi

cli_built
log "engine ready: $BIN (pulumi v$PULUMI_VERSION, kubernetes $K8S_PROVIDER_VERSION in $(dirname "$PLUGIN_DIR"))"
echo "$BIN"
