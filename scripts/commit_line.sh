#!/usr/bin/env bash
# commit_line.sh MESSAGE: commit release-line.json (the project's stop-the-line switch, which
# `involution stop-the-line` or `involution resume` has just written) and push it to the branch
# the workflow runs on (COMMIT_BRANCH, default the current one), so that every checkout and CI
# job reads it and git history records who stopped or resumed the line, when and why. Does
# nothing when the file did not change. Rebases onto what others pushed meanwhile (stack files
# move under it; this file only moves through the release-line workflow, one run at a time).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
message=${1:?usage: commit_line.sh MESSAGE}
file="release-line.json"
branch=${COMMIT_BRANCH:-${GITHUB_REF_NAME:-$(git rev-parse --abbrev-ref HEAD)}}

if git diff --quiet -- "$file" && git diff --cached --quiet -- "$file"; then
  echo "commit_line: $file unchanged" >&2
  exit 0
fi
if [[ -z $(git config user.name || true) ]]; then
  git config user.name "github-actions[bot]"
  git config user.email "41898282+github-actions[bot]@users.noreply.github.com"
fi
body=""
if [[ -n ${GITHUB_RUN_ID:-} ]]; then
  body="Run: ${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-}/actions/runs/$GITHUB_RUN_ID"
fi
git add -- "$file"
git commit --quiet -m "release line: $message" ${body:+-m "$body"} -- "$file"
if [[ ${COMMIT_PUSH:-true} != true ]]; then
  exit 0
fi
for attempt in 1 2 3 4 5; do
  if git pull --quiet --rebase --autostash origin "$branch" && git push --quiet origin "HEAD:$branch"; then
    echo "commit_line: pushed $(git rev-parse --short HEAD) to $branch: $message" >&2
    exit 0
  fi
  echo "commit_line: push attempt $attempt failed; retrying" >&2
  sleep $((attempt * 3))
done
echo "commit_line: could not push $file to $branch" >&2
exit 1
