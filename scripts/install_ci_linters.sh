#!/usr/bin/env bash
# install_ci_linters.sh: the linters of the GitHub Actions workflows, installed only when
# missing. actionlint is built from Go modules into a cache outside the repository (a second
# run is instant); shellcheck (which actionlint runs on every `run:` script) comes from Debian.
# Prints the directory holding actionlint on stdout, logs on stderr:
#   export PATH="$(scripts/install_ci_linters.sh):$PATH"
set -euo pipefail
ACTIONLINT_VERSION="v1.7.12"
TOOLS_HOME="${INVOLUTION_TOOLS_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/involution-tools}"
BIN="$TOOLS_HOME/bin"
STAMP="$TOOLS_HOME/stamps/actionlint"
log() { echo "install_ci_linters: $*" >&2; }

mkdir -p "$BIN" "$(dirname "$STAMP")"
if [[ ! -x $BIN/actionlint || ! -f $STAMP || "$(cat "$STAMP")" != "$ACTIONLINT_VERSION" ]]; then
  command -v go >/dev/null || { log "ERROR: go is needed to build actionlint"; exit 1; }
  started=$SECONDS
  # shellcheck source=scripts/lib/go_flags.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib/go_flags.sh"
  GOBIN="$BIN" CGO_ENABLED=0 GOFLAGS="-trimpath $GO_BUILD_GOFLAGS" \
    go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
  printf '%s' "$ACTIONLINT_VERSION" > "$STAMP"
  log "built actionlint $ACTIONLINT_VERSION in $((SECONDS - started))s"
fi

if ! command -v shellcheck >/dev/null 2>&1; then
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      log "ERROR: shellcheck is missing; apt-get install -y shellcheck as root"
      exit 1
    fi
  fi
  log "installing shellcheck"
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends shellcheck >/dev/null; then
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends shellcheck >/dev/null
  fi
fi
echo "$BIN"
