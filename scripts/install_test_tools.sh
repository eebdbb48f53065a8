#!/usr/bin/env bash
# install_test_tools.sh: the real tools the tests run (nginx, redis-server, promtool, wrk, and
# faketime, which moves the program's clock past production's day-long soaks), from Debian's
# packages, installed only when one is missing.
set -euo pipefail
PACKAGES=(nginx-light redis-server redis-tools prometheus wrk faketime)
declare -A TOOL_OF=([nginx-light]=nginx [redis-server]=redis-server [redis-tools]=redis-cli
                    [prometheus]=promtool [wrk]=wrk [faketime]=faketime)
missing=()
for package in "${PACKAGES[@]}"; do
  tool=${TOOL_OF[$package]}
  if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$tool" >/dev/null 2>&1; then
    missing+=("$package")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "install_test_tools: missing ${missing[*]}; install them with apt-get as root" >&2
    exit 1
  fi
fi
echo "install_test_tools: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian packages start services we do not want: the tests run their own instances.
for service in nginx redis-server prometheus; do
  "${sudo[@]}" service "$service" stop >/dev/null 2>&1 || true
done
