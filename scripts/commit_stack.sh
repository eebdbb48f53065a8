#!/usr/bin/env bash
# commit_stack.sh STACK MESSAGE: commit Pulumi.<STACK>.yaml (the release's config, which a
# workflow has just changed) and push it to the branch the workflow runs on, so that git
# history is the release history. Does nothing when the file did not change. Rebases onto
# what others pushed meanwhile (each stack's jobs are serialized, so only other files move).
# Used by the GitHub workflows; git's author is the workflow's bot unless set.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
stack=${1:?usage: commit_stack.sh STACK MESSAGE}
message=${2:?usage: commit_stack.sh STACK MESSAGE}
file="Pulumi.$stack.yaml"
branch=${COMMIT_BRANCH:-${GITHUB_REF_NAME:-$(git rev-parse --abbrev-ref HEAD)}}

if git diff --quiet -- "$file" && git diff --cached --quiet -- "$file"; then
  echo "commit_stack: $file unchanged" >&2
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
git commit --quiet -m "$stack: $message" ${body:+-m "$body"} -- "$file"
if [[ ${COMMIT_PUSH:-true} != true ]]; then
  exit 0
fi
for attempt in 1 2 3 4 5; do
  if git pull --quiet --rebase --autostash origin "$branch" && git push --quiet origin "HEAD:$branch"; then
    echo "commit_stack: pushed $(git rev-parse --short HEAD) to $branch: $stack: $message" >&2
    exit 0
  fi
  echo "commit_stack: push attempt $attempt failed; retrying" >&2
  sleep $((attempt * 3))
done
echo "commit_stack: could not push $file to $branch" >&2
exit 1
