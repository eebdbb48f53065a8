#!/usr/bin/env bash
# venv.sh REQUIREMENTS...: make ./venv hold exactly the pinned requirements given.
# Each file is reinstalled only when its content changed (a stamp per file), so a second run
# costs nothing and a changed pin is never silently ignored.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PYTHON=${PYTHON:-python3}

if [[ ! -x venv/bin/python ]]; then
  "$PYTHON" -m venv venv
fi
for requirements in "$@"; do
  stamp="venv/.installed-$(basename "$requirements")"
  # Hash the file and every file it includes with -r, so a changed pin anywhere reinstalls.
  files=("$requirements")
  while read -r included; do
    files+=("$(dirname "$requirements")/$included")
  done < <(sed -n 's/^-r[[:space:]]*//p' "$requirements")
  digest=$(cat "${files[@]}" | sha256sum)
  if [[ ! -f $stamp || "$(cat "$stamp")" != "$digest" ]]; then
    echo "venv: installing $requirements" >&2
    venv/bin/pip install --quiet --disable-pip-version-check -r "$requirements"
    printf '%s' "$digest" > "$stamp"
  fi
done
# The `involution` command: the project itself, editable (its folder on the venv's path), so
# venv/bin/involution runs the working tree. Reinstalled when pyproject.toml changes.
# A venv borrowed from another checkout (a symlink, as test clones use) keeps its own.
stamp="venv/.installed-project"
digest="$(sha256sum pyproject.toml) $ROOT"
if [[ ! -L venv ]] && [[ ! -f $stamp || "$(cat "$stamp")" != "$digest" || ! -x venv/bin/involution ]]; then
  echo "venv: installing the involution command" >&2
  venv/bin/pip install --quiet --disable-pip-version-check --no-deps \
    --config-settings editable_mode=compat -e .
  printf '%s' "$digest" > "$stamp"
fi
