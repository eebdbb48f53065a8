#!/usr/bin/env bash
# pulumi.sh ARGS...: `pulumi ARGS` for this project, offline, on the stack of --stack (else
# $STACK, else the selected stack, else dev), created on first use. `. scripts/env.sh` makes
# plain `pulumi` run this. Examples:
#   scripts/pulumi.sh up --yes --stack dev
#   scripts/pulumi.sh config set --stack dev involution:canaryPhase 10
#   scripts/pulumi.sh preview --diff --stack staging
#
# The tracked Pulumi.<stack>.yaml holds the release (its `config:`), never this machine's
# secrets-provider settings: Pulumi writes the passphrase's `encryptionsalt` into the stack
# file it uses, and the salt only works with this machine's passphrase. So commands that read
# stack config run with `--config-file` on a copy in $INVOLUTION_STACK_CONFIG_DIR (next to the
# state, outside the repository): the tracked file plus the salt. Afterwards the salt stays
# there and any config change (`pulumi config set/rm`) is written back to the tracked file.
set -euo pipefail
# The engine is run by its absolute path, never looked up on PATH: a PATH lookup can find a
# wrapper (scripts/automation/bin/pulumi execs this script) and recurse forever. A call of this
# script from inside itself is refused at once for the same reason.
if [[ -n ${INVOLUTION_PULUMI_WRAPPER:-} ]]; then
  echo "pulumi.sh: refused: called from inside scripts/pulumi.sh (pid $INVOLUTION_PULUMI_WRAPPER);" \
    "the engine is run by its absolute path, so a nested call means a wrapper is on PATH as" \
    "the engine's pulumi: unset INVOLUTION_PULUMI_WRAPPER only if no pulumi.sh is running" >&2
  exit 2
fi
# Started as a background job of a shell without job control (`pulumi up ... &` in a script),
# this shell ignores SIGINT, cannot stop ignoring it, and the engine's plugins would inherit it:
# `pulumi` closes them by SIGINT and waited 5 s for each (cli/interrupts.py). So once more,
# with SIGINT at its default (coreutils' env; as it was where that option is unknown).
if [[ $(trap -p INT) == "trap -- '' SIGINT" ]] && env --default-signal=INT true 2>/dev/null; then
  exec env --default-signal=INT "$BASH" "${BASH_SOURCE[0]}" "$@"
fi
export INVOLUTION_PULUMI_WRAPPER=$$
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/env.sh
. scripts/env.sh
ENGINE="$(scripts/bootstrap_engine.sh --print-bin)/pulumi"
[[ -x $ENGINE ]] || { echo "pulumi.sh: no engine at $ENGINE: run scripts/bootstrap_engine.sh" >&2; exit 1; }
# The engine's Go runtime (scripts/lib/go_runtime.env), unless the caller sets any of its keys.
go_runtime=()
while IFS='=' read -r key value; do
  if [[ $key =~ ^GO[A-Z]+$ ]]; then
    if [[ -n ${!key+set} ]]; then go_runtime=(); break; fi
    go_runtime+=("$key=$value")
  fi
done < scripts/lib/go_runtime.env
if [[ ${#go_runtime[@]} -gt 0 ]]; then export "${go_runtime[@]}"; fi
# The language host asks the first `python3` on PATH for its version when it starts, beside
# the venv's interpreter that runs the program: with the venv first, that is the same Python
# and no version manager's shim runs on every `up` and `preview` (pyenv's: ~40 processes).
export PATH="$ROOT/venv/bin:$PATH"

PROVIDER_LINE='^(encryptionsalt|secretsprovider|encryptedkey):'

# --- which stack, which command ------------------------------------------------------------
args=("$@")
stack=""
positional=()
own_config_file=false
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --) break ;;
    --stack|-s) stack=${args[i+1]:-}; i=$((i + 1)) ;;
    --stack=*) stack=${args[i]#--stack=} ;;
    --config-file|--config-file=*) own_config_file=true ;;
    -*) ;;
    *) positional+=("${args[i]}") ;;
  esac
done
subcommand=${positional[0]:-}
# Commands of no stack run as they are (finding the selected stack costs the engine a fifth
# of a second, and the Automation API asks `pulumi version` once per command).
case "$subcommand" in
  version|help|plugin|whoami|login|logout) exec "$ENGINE" "$@" ;;
esac
# `pulumi stack init|rm|select NAME`
if [[ $subcommand == stack && -z $stack && ${#positional[@]} -ge 3 ]]; then
  case "${positional[1]}" in init|rm|select) stack=${positional[2]} ;; esac
fi
stack_given=true
if [[ -z $stack ]]; then
  stack_given=false
  stack=${STACK:-$("$ENGINE" stack --show-name 2>/dev/null || true)}
  stack=${stack:-dev}
fi

tracked="$ROOT/Pulumi.$stack.yaml"
local_dir="$INVOLUTION_STACK_CONFIG_DIR"
local_file="$local_dir/Pulumi.$stack.yaml"
provider_file="$local_dir/Pulumi.$stack.secrets-provider"
mkdir -p "$local_dir"

# --- the tracked file and this machine's secrets-provider lines ----------------------------
without_provider() { grep -Ev "$PROVIDER_LINE" "$1" || true; }

# Moves secrets-provider lines Pulumi (or an older make deploy) wrote into the tracked file.
adopt_provider_lines() {
  [[ -f $tracked ]] && grep -Eq "$PROVIDER_LINE" "$tracked" || return 0
  grep -E "$PROVIDER_LINE" "$tracked" > "$provider_file"
  local rest
  rest=$(without_provider "$tracked")
  if [[ -z ${rest//[[:space:]]/} ]]; then
    rm -f "$tracked"  # Pulumi made it for the salt alone (`stack init` of an untracked stack)
  else
    printf '%s\n' "$rest" > "$tracked"
  fi
}

compose_local_file() {
  adopt_provider_lines
  { if [[ -f $tracked ]]; then cat "$tracked"; fi
    if [[ -f $provider_file ]]; then cat "$provider_file"; fi
  } > "$local_file"
}

# After a command: the salt back to its own file, a changed config to the tracked file.
split_local_file() {
  [[ -f $local_file ]] || return 0
  if grep -Eq "$PROVIDER_LINE" "$local_file"; then
    grep -E "$PROVIDER_LINE" "$local_file" > "$provider_file"
  fi
  local rest current=""
  rest=$(without_provider "$local_file")
  if [[ -f $tracked ]]; then current=$(cat "$tracked"); fi
  if [[ $rest != "$current" && ( -f $tracked || $subcommand == config ) ]]; then
    printf '%s\n' "$rest" > "$tracked"
  fi
}

# `stack init` writes the new salt into the project's Pulumi.<stack>.yaml: run it in a scratch
# copy of the project file, so the tracked stack file is never written, and keep the salt here.
init_stack() {
  local scratch
  scratch=$(mktemp -d)
  cp Pulumi.yaml "$scratch/"
  (cd "$scratch" && "$ENGINE" stack init "$stack" --secrets-provider passphrase >/dev/null)
  if [[ -f $scratch/Pulumi.$stack.yaml ]]; then
    grep -E "$PROVIDER_LINE" "$scratch/Pulumi.$stack.yaml" > "$provider_file" || true
  fi
  rm -rf "$scratch"
  "$ENGINE" stack select "$stack" >/dev/null
}

# Whether the backend has the stack. A file backend answers from its folder (the engine's own
# `stack select` costs a fifth of a second, on every command); anything else asks the engine.
stack_exists() {
  if [[ $PULUMI_BACKEND_URL == file://* ]]; then
    local project
    project=$(sed -n 's/^name:[[:space:]]*//p' Pulumi.yaml | head -n 1)
    local checkpoint="${PULUMI_BACKEND_URL#file://}/.pulumi/stacks/$project/$stack.json"
    [[ -f $checkpoint || -f $checkpoint.gz ]] && return 0
  fi
  "$ENGINE" stack select "$stack" >/dev/null 2>&1
}

with_config_file() {
  # Before a `--` (positional arguments follow it), else at the end.
  local out=() inserted=false arg
  for arg in "$@"; do
    if [[ $arg == -- && $inserted == false ]]; then
      out+=(--config-file "$local_file" --)
      inserted=true
    else
      out+=("$arg")
    fi
  done
  $inserted || out+=(--config-file "$local_file")
  $stack_given || out+=(--stack "$stack")
  printf '%s\0' "${out[@]}"
}

status=0
case "$subcommand" in
  up|preview|destroy|refresh|import|watch|config)
    if $own_config_file; then
      "$ENGINE" "$@" || status=$?
      exit "$status"
    fi
    if ! stack_exists; then
      echo "pulumi.sh: creating stack $stack (state in $PULUMI_BACKEND_URL)" >&2
      init_stack
    fi
    compose_local_file
    mapfile -d '' wrapped < <(with_config_file "$@")
    "$ENGINE" "${wrapped[@]}" || status=$?
    split_local_file
    ;;
  *)
    # Other commands (stack init/rm/history, version, ...) use the tracked file directly, if
    # at all: keep whatever secrets-provider lines they write out of it.
    before=""
    if [[ -f $tracked ]]; then before=$(cat "$tracked"); fi
    "$ENGINE" "$@" || status=$?
    adopt_provider_lines
    if [[ $subcommand == stack && ! -f $tracked && -n $before ]]; then
      printf '%s\n' "$before" > "$tracked"  # `stack rm` deletes it: the release stays tracked
      rm -f "$provider_file" "$local_file"
    fi
    ;;
esac
exit "$status"
