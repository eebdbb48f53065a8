#!/usr/bin/env bash
# pulumi.sh ARGS...: `pulumi ARGS` for this project, offline, with the stack of --stack
# (default dev) selected and created on first use. Examples:
#   scripts/pulumi.sh up --yes --stack dev
#   scripts/pulumi.sh preview --diff --stack staging
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/env.sh
. scripts/env.sh

stack=${STACK:-dev}
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --stack|-s) stack=${args[i+1]:-$stack} ;;
    --stack=*) stack=${args[i]#--stack=} ;;
  esac
done
if ! pulumi stack select "$stack" >/dev/null 2>&1; then
  echo "pulumi.sh: creating stack $stack (state in $PULUMI_BACKEND_URL)" >&2
  pulumi stack init "$stack" --secrets-provider passphrase >/dev/null
fi
exec pulumi "$@"
