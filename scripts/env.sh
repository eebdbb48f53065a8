# shellcheck shell=bash
# env.sh: source it (`. scripts/env.sh`) to run plain `pulumi` commands for this project:
# the engine built from Go modules on PATH, no network, state in ./.state, a per-machine
# passphrase for stack secrets, and the program's venv in place. `pulumi` becomes
# scripts/pulumi.sh, which keeps this machine's secrets-provider salt out of the repository.
# Everything here is idempotent and cached; the first run builds the engine (~10 min).

_involution_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_involution_bin=$("$_involution_root/scripts/bootstrap_engine.sh") || return 1 2>/dev/null || exit 1
case ":$PATH:" in
  *":$_involution_bin:"*) ;;
  *) export PATH="$_involution_bin:$PATH" ;;
esac
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# A local file backend: no Pulumi Cloud account. Override PULUMI_BACKEND_URL to share state.
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$_involution_root/.state}"
case "$PULUMI_BACKEND_URL" in
  file://*)
    mkdir -p "${PULUMI_BACKEND_URL#file://}"
    _involution_local="${PULUMI_BACKEND_URL#file://}/stack-config"
    ;;
  *) _involution_local="$_involution_root/.state/stack-config" ;;
esac
# This machine's copy of each stack file, with the secrets provider's salt (tied to the
# passphrase below), which Pulumi would otherwise write into the tracked Pulumi.<stack>.yaml.
# scripts/pulumi.sh runs pulumi on it with --config-file and writes config changes back.
export INVOLUTION_STACK_CONFIG_DIR="${INVOLUTION_STACK_CONFIG_DIR:-$_involution_local}"
# A stack whose local copy is gone gets its secrets provider back from its state.
export PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER="${PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER:-true}"
# Stack secrets (redisPassword, alerting keys) are encrypted with a passphrase. Unless one is
# given, a random one is made once per machine and kept outside the repository.
if [[ -z "${PULUMI_CONFIG_PASSPHRASE+set}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
  _involution_pass="${INVOLUTION_PASSPHRASE_FILE:-${XDG_CONFIG_HOME:-$HOME/.config}/involution/passphrase}"
  if [[ ! -s "$_involution_pass" ]]; then
    mkdir -p "$(dirname "$_involution_pass")"
    (umask 077 && head -c 32 /dev/urandom | base64 > "$_involution_pass")
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$_involution_pass"
fi
"$_involution_root/scripts/venv.sh" "$_involution_root/requirements.txt" || return 1 2>/dev/null || exit 1
# Plain `pulumi` in a shell that sourced this file is scripts/pulumi.sh (which calls the
# engine by its absolute path).
eval "pulumi() { $(printf '%q' "$_involution_root/scripts/pulumi.sh") \"\$@\"; }"
unset _involution_root _involution_bin _involution_pass _involution_local
