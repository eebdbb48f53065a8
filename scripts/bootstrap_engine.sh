#!/usr/bin/env bash
# bootstrap_engine.sh - provide the Pulumi engine binaries this project needs,
# built only from Go modules served by the Go module proxy (no GitHub, no
# get.pulumi.com: neither is reachable from developer machines or CI).
#
# Provides, in ${INVOLUTION_ENGINE_HOME:-$HOME/.cache/involution-engine}/bin:
#   pulumi                        the CLI / engine
#   pulumi-language-python        the Python language host
#   pulumi-language-python-exec   the Python shim the host runs (must sit beside it)
#   pulumi-resource-kubernetes    the Kubernetes provider
# and registers the provider in the Pulumi plugin cache (${PULUMI_HOME:-~/.pulumi})
# as "resource kubernetes ${K8S_PROVIDER_VERSION}", the version the pinned
# pulumi-kubernetes Python SDK asks the engine for.
#
# Idempotent: each binary has a stamp file; a second run with the same pins
# only checks stamps and exits in well under a second.
#
# Usage:  scripts/bootstrap_engine.sh            # build/verify, print bin dir
#         export PATH="$(scripts/bootstrap_engine.sh --print-bin):$PATH"
#
# Why the versions below (all checked against the proxy, which filters modules):
#  * CLI: github.com/pulumi/pulumi/pkg/v3 v3.274.1 is the newest served pkg/v3
#    (v3.271-v3.274.0 answer 403). A CLI newer than the Python SDK (3.272.0) is fine.
#  * Python language host: its module
#    github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3 is NOT
#    served at any version (tags, pseudo-versions, @latest all answer 403).
#    Until v3.79.0 the host lived inside github.com/pulumi/pulumi/sdk/v3, which
#    IS served, so we build the host from sdk/v3@v3.79.0 (the last release
#    before the host became its own module in v3.80.0). That host predates
#    ProgramInfo: it does not read `runtime.options.virtualenv` from
#    Pulumi.yaml (the new CLI passes it only over gRPC), so the caller must
#    make the venv's python the one it finds: PATH=<venv>/bin:$PATH or
#    PULUMI_PYTHON_CMD=<venv>/bin/python.
#  * pulumi-language-python-exec: a Python script; taken from the sdk/v3 module
#    zip at the CLI version (the PyPI `pulumi` wheel does not ship it). Its
#    argument parser is a superset of what the v3.79 host passes.
#  * Kubernetes provider: github.com/pulumi/pulumi-kubernetes/provider/v4 is only
#    served at v4.0.0-20260115033456-f47bc2d6f199 = the commit of release tag
#    v4.25.0 (other release commits answer 403). So the Python SDK must be
#    pinned to pulumi-kubernetes==4.25.0 and the plugin is registered as 4.25.0.
set -euo pipefail

# ---------------------------------------------------------------- pins -------
PULUMI_VERSION="3.274.1"                     # pkg/v3 + sdk/v3 (CLI and -exec)
LANGHOST_SDK_VERSION="3.79.0"                # sdk/v3 that still contains the python host
K8S_PROVIDER_VERSION="4.25.0"
K8S_PROVIDER_MODULE="github.com/pulumi/pulumi-kubernetes/provider/v4"
K8S_PROVIDER_MODVER="v4.0.0-20260115033456-f47bc2d6f199"   # commit of tag v4.25.0
K8S_GO_SDK_VERSION="v4.25.0"                 # replaces the provider's `../sdk` replace

ENGINE_HOME="${INVOLUTION_ENGINE_HOME:-$HOME/.cache/involution-engine}"
BIN="$ENGINE_HOME/bin"
STAMPS="$ENGINE_HOME/stamps"

if [[ "${1:-}" == "--print-bin" ]]; then
  echo "$BIN"
  exit 0
fi

# Never let any pulumi invocation below phone home.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

log() { echo "bootstrap_engine: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

mkdir -p "$BIN" "$STAMPS"

# stamp_ok NAME KEY FILE...: true when the stamp for NAME holds KEY and every
# FILE exists and is executable (a dangling symlink fails -x, forcing a rebuild).
stamp_ok() {
  local name="$1" key="$2"; shift 2
  [[ -f "$STAMPS/$name" && "$(cat "$STAMPS/$name")" == "$key" ]] || return 1
  local f; for f in "$@"; do [[ -x "$f" ]] || return 1; done
}
stamp_write() { printf '%s' "$2" > "$STAMPS/$1"; }

# ------------------------------------------------------- Go environment ------
# Build settings shared by all binaries. Only set when a build is needed, so a
# cached run does not even require Go.
go_env() {
  command -v go >/dev/null || die "go is required to build the engine (not found on PATH)"
  export CGO_ENABLED=0
  # Keep the proxy and checksum database at their defaults: go.sum of every
  # module is honoured (-mod=readonly is the default for go build), and the
  # one go.sum line we add (provider -> sdk/v4) is verified against
  # sum.golang.org, which the proxy serves. GOFLAGS/GONOSUMDB are left alone.
  export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"
  # All modules here declare go <= 1.26.x; if a future pin needs Go 1.27 run
  # with GOTOOLCHAIN=go1.27.3 (served by the proxy).
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/involution-engine-build.XXXXXX")"
  trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
}

# mod_dir MODULE VERSION: download the module via the proxy (checksum-verified
# into the read-only module cache) and print its directory.
mod_dir() {
  local dir
  dir="$(go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -n "$dir" && -d "$dir" ]] || die "could not download $1@$2 from the Go module proxy"
  echo "$dir"
}

# copy_mod SRC DEST: writable copy of a (read-only) module cache directory.
copy_mod() { cp -R "$1" "$2" && chmod -R u+w "$2"; }

# install_bin SRC NAME: atomically place a built file into $BIN.
install_bin() { install -m 0755 "$1" "$BIN/.$2.tmp" && mv -f "$BIN/.$2.tmp" "$BIN/$2"; }

timed() {  # timed LABEL CMD...: run CMD, report wall time
  local label="$1" t0=$SECONDS; shift
  "$@"
  log "$label took $((SECONDS - t0))s"
}

# ------------------------------------------------------- 1. pulumi CLI -------
CLI_KEY="pulumi v$PULUMI_VERSION"
LH_KEY="pulumi-language-python sdk/v3@v$LANGHOST_SDK_VERSION exec@v$PULUMI_VERSION"

# A pulumi already on PATH at exactly the pinned version is used as is (e.g. an
# upstream install on a developer laptop); its own language hosts sit beside it
# in the upstream distribution and are then used as well.
use_cli_from_path() {
  local p v
  p="$(PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$BIN" | paste -sd:)" command -v pulumi || true)"
  [[ -n "$p" ]] || return 1
  v="$("$p" version 2>/dev/null || true)"
  [[ "$v" == "v$PULUMI_VERSION" ]] || return 1
  p="$(readlink -f "$p")"
  ln -sfn "$p" "$BIN/pulumi"
  stamp_write pulumi "$CLI_KEY (from PATH: $p)"
  local d; d="$(dirname "$p")"
  if [[ -x "$d/pulumi-language-python" && -f "$d/pulumi-language-python-exec" ]]; then
    ln -sfn "$d/pulumi-language-python" "$BIN/pulumi-language-python"
    ln -sfn "$d/pulumi-language-python-exec" "$BIN/pulumi-language-python-exec"
    stamp_write langhost "$LH_KEY (from PATH: $d)"
  fi
  log "using pulumi $v from PATH ($p)"
}

build_cli() {
  # pkg/go.mod has `replace github.com/pulumi/pulumi/sdk/v3 => ../sdk`, so lay
  # out pkg/ and sdk/ of the same release side by side, exactly as in the
  # upstream repo. Flags follow upstream .goreleaser.yml (trimpath, tags
  # osusergo+grpcnotrace, -s -w, version ldflag) with CGO disabled.
  local pkg sdk
  pkg="$(mod_dir github.com/pulumi/pulumi/pkg/v3 "v$PULUMI_VERSION")"
  sdk="$(mod_dir github.com/pulumi/pulumi/sdk/v3 "v$PULUMI_VERSION")"
  copy_mod "$pkg" "$WORK/cli/pkg"
  copy_mod "$sdk" "$WORK/cli/sdk"
  (cd "$WORK/cli/pkg" && go build -trimpath -tags osusergo,grpcnotrace \
     -ldflags "-w -s -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
     -o "$WORK/out/pulumi" ./cmd/pulumi)
  install_bin "$WORK/out/pulumi" pulumi
  stamp_write pulumi "$CLI_KEY"
}

# ------------------------------------------- 2. python language host ---------
build_langhost() {
  local sdk_old sdk_new
  sdk_old="$(mod_dir github.com/pulumi/pulumi/sdk/v3 "v$LANGHOST_SDK_VERSION")"
  copy_mod "$sdk_old" "$WORK/lh/sdk"
  (cd "$WORK/lh/sdk" && go build -trimpath -tags osusergo,grpcnotrace \
     -ldflags "-w -s -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$LANGHOST_SDK_VERSION" \
     -o "$WORK/out/pulumi-language-python" ./python/cmd/pulumi-language-python)
  # The host runs `python <dir of its own executable>/pulumi-language-python-exec`,
  # so the exec must be a real file beside the real host binary.
  sdk_new="$(mod_dir github.com/pulumi/pulumi/sdk/v3 "v$PULUMI_VERSION")"
  install_bin "$sdk_new/python/cmd/pulumi-language-python-exec" pulumi-language-python-exec
  install_bin "$WORK/out/pulumi-language-python" pulumi-language-python
  stamp_write langhost "$LH_KEY"
}

# ------------------------------------------- 3. kubernetes provider ----------
K8S_KEY="pulumi-resource-kubernetes $K8S_PROVIDER_VERSION ($K8S_PROVIDER_MODULE@$K8S_PROVIDER_MODVER, sdk/v4@$K8S_GO_SDK_VERSION)"

build_k8s() {
  local src d
  src="$(mod_dir "$K8S_PROVIDER_MODULE" "$K8S_PROVIDER_MODVER")"
  d="$WORK/k8s/provider"
  copy_mod "$src" "$d"
  # Upstream builds with `replace .../sdk/v4 => ../sdk` (the repo's sdk dir at the
  # same commit), which a module zip cannot carry. Use the sdk/v4 release of the
  # same version from the proxy instead; `go get` verifies it via GOSUMDB and
  # adds its two go.sum lines, every other go.sum line stays as upstream pinned.
  (cd "$d" && go mod edit -dropreplace=github.com/pulumi/pulumi-kubernetes/sdk/v4 \
     && go get "github.com/pulumi/pulumi-kubernetes/sdk/v4@$K8S_GO_SDK_VERSION")
  # As in the provider Makefile (k8sprovider target): generate.go turns the
  # committed schema.json into schema-embed.json (stamped with VERSION) and
  # terraform-mapping.json into terraform-mapping-embed.json; both are //go:embed-ed.
  (cd "$d/cmd/pulumi-resource-kubernetes" && VERSION="$K8S_PROVIDER_VERSION" go generate ./main.go)
  (cd "$d" && go build -trimpath \
     -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PROVIDER_VERSION" \
     -o "$WORK/out/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes)
  install_bin "$WORK/out/pulumi-resource-kubernetes" pulumi-resource-kubernetes
  stamp_write k8s "$K8S_KEY"
}

# ------------------------------------------------------------- main ----------
need_go_env=true
ensure_go_env() { if $need_go_env; then go_env; need_go_env=false; fi; }

if ! stamp_ok pulumi "$CLI_KEY" "$BIN/pulumi" \
   && ! stamp_ok pulumi "$CLI_KEY (from PATH: $(readlink -f "$BIN/pulumi" 2>/dev/null))" "$BIN/pulumi"; then
  if ! use_cli_from_path; then
    ensure_go_env
    timed "build pulumi v$PULUMI_VERSION" build_cli
  fi
fi

if ! [[ -f "$STAMPS/langhost" && "$(cat "$STAMPS/langhost")" == "$LH_KEY"* ]] \
   || ! [[ -x "$BIN/pulumi-language-python" && -f "$BIN/pulumi-language-python-exec" ]]; then
  ensure_go_env
  timed "build pulumi-language-python (sdk/v3@v$LANGHOST_SDK_VERSION)" build_langhost
fi

if ! stamp_ok k8s "$K8S_KEY" "$BIN/pulumi-resource-kubernetes"; then
  ensure_go_env
  timed "build pulumi-resource-kubernetes $K8S_PROVIDER_VERSION" build_k8s
fi

# Register the provider in the plugin cache under the version the Python SDK
# requests. Skipped when the cached copy is byte-identical to ours.
PLUGIN_DIR="${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-kubernetes-v$K8S_PROVIDER_VERSION"
if ! cmp -s "$BIN/pulumi-resource-kubernetes" "$PLUGIN_DIR/pulumi-resource-kubernetes"; then
  "$BIN/pulumi" plugin install resource kubernetes "$K8S_PROVIDER_VERSION" \
    --file "$BIN/pulumi-resource-kubernetes" --reinstall >&2
fi

log "engine ready in $BIN"
echo "$BIN"
