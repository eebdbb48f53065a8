# shellcheck shell=bash
# build.sh - what the cluster's build scripts share (sourced, never run): logging, stamps,
# the Go environment, module folders and the throwaway main module that builds a binary of a
# module at a pinned version from the Go module proxy.
#
# The sourcing script sets LOG_NAME (the prefix of its messages), STAMPS and, before go_env,
# nothing else; go_env makes WORK, a temporary folder removed at exit.

log() { echo "${LOG_NAME:-build}: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# stamp_ok NAME KEY FILE...: the stamp of NAME says KEY and every FILE is executable.
stamp_ok() {
  local name="$1" key="$2" f; shift 2
  [[ -f "$STAMPS/$name" && "$(<"$STAMPS/$name")" == "$key" ]] || return 1
  for f in "$@"; do [[ -x "$f" ]] || return 1; done
}
stamp_write() { mkdir -p "$STAMPS"; printf '%s' "$2" > "$STAMPS/$1"; }
install_file() { install -m 0755 "$1" "$2.tmp.$$" && mv -f "$2.tmp.$$" "$2"; }
timed() {
  local label="$1" t0=$SECONDS; shift
  "$@"
  log "$label: $((SECONDS - t0))s"
}

GO_READY=false
go_env() {
  $GO_READY && return 0
  command -v go >/dev/null || die "go is needed to build the cluster and was not found on PATH"
  export CGO_ENABLED=0
  export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"
  # shellcheck source=scripts/lib/go_flags.sh
  . "$(dirname "${BASH_SOURCE[0]}")/go_flags.sh"
  export GOFLAGS="${GOFLAGS:-} -mod=mod $GO_BUILD_GOFLAGS"
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/involution-cluster-build.XXXXXX")"
  trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
  GO_READY=true
}

mod_dir() {
  local json dir
  json="$(go mod download -json "$1@$2")" || die "go mod download $1@$2 failed: $json"
  dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")"
  [[ -n "$dir" && -d "$dir" ]] || die "no module directory for $1@$2: $json"
  echo "$dir"
}

# throwaway_module DIR REQUIRE...: an empty main module that requires the given module@version.
throwaway_module() {
  local dir="$1" req; shift
  mkdir -p "$dir"
  (cd "$dir" && go mod init involution.local/cluster-build >/dev/null 2>&1)
  for req in "$@"; do (cd "$dir" && go mod edit -require="$req"); done
}

# kubernetes_binaries VERSION OUT BINARY...: build k8s.io/kubernetes/cmd/BINARY at vVERSION
# into OUT. Its go.mod points every k8s.io/* staging module at ./staging/src, which a module
# zip cannot use: a throwaway module requires it and replaces each staging module by its
# published release v0.<minor>.<patch> (k8s.io/sample-cli-plugin is not needed and dropped).
# gitVersion is set by -ldflags, or /version says v0.0.0-master.
kubernetes_binaries() {
  local version="$1" out="$2"; shift 2
  local src dir staging="v0.${version#1.}" m args=() pkgs=() b
  src="$(mod_dir k8s.io/kubernetes "v$version")"
  dir="$WORK/kubernetes-$1"
  throwaway_module "$dir" "k8s.io/kubernetes@v$version"
  while read -r m; do
    [[ "$m" == k8s.io/sample-cli-plugin ]] && continue
    args+=("-replace=$m=$m@$staging")
  done < <(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/src/.*#\1#p' "$src/go.mod")
  [[ ${#args[@]} -gt 20 ]] || die "found only ${#args[@]} staging modules in $src/go.mod"
  (cd "$dir" && go mod edit "${args[@]}")
  for b in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  (cd "$dir" && go get "${pkgs[@]/%/@v$version}")
  local v="k8s.io/component-base/version" cv="k8s.io/client-go/pkg/version" minor pkg
  minor="$(cut -d. -f2 <<<"$version")"
  local ld="-s -w"
  for pkg in "$v" "$cv"; do
    ld+=" -X $pkg.gitVersion=v$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  mkdir -p "$out"
  (cd "$dir" && go build -trimpath -ldflags "$ld" -o "$out/" "${pkgs[@]}")
}

# go_binary MODULE@VERSION PACKAGE OUT [LDFLAGS]: build one main package of a module.
go_binary() {
  local req="$1" pkg="$2" out="$3" ld="${4:--s -w}" dir
  dir="$(mktemp -d "$WORK/module.XXXXXX")"
  throwaway_module "$dir" "$req"
  (cd "$dir" && go get "$pkg@${req##*@}" >/dev/null)
  (cd "$dir" && go build -trimpath -ldflags "$ld" -o "$out" "$pkg")
}
