"""`involution stop-the-line` and `involution resume`: set and clear the project's one switch
that halts every step forward on every stack (release-line.json at the project's root).

They write the file in this checkout; the `release-line` workflow runs them and commits the
file, so that every checkout, CI job and hand-made `pulumi up` refuses steps forward (steps
back stay allowed) and git history records who stopped and resumed, when and why.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from cli import exit_codes
from cli.workspace import PROJECT_DIR
from involution.release.line import LINE_FILE, LineState, read_line_file


def add_parsers(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, text in (
        ("stop-the-line", f"halt every step forward on every stack ({LINE_FILE}; commit it)"),
        ("resume", f"let steps forward run again on every stack ({LINE_FILE}; commit it)"),
    ):
        sub = verbs.add_parser(name, help=text, description=text)
        sub.add_argument("--reason", required=True, help="why; recorded in the file and commit")
        sub.add_argument("--by", default="", help="who (default: $GITHUB_ACTOR, else $USER)")


def line_path() -> Path:
    """The file in the project the command works on (INVOLUTION_PROJECT_DIR, else this one)."""
    return Path(os.environ.get("INVOLUTION_PROJECT_DIR") or PROJECT_DIR) / LINE_FILE


def project_line() -> LineState:
    return read_line_file(line_path())


def run(args: argparse.Namespace, now: datetime | None = None) -> int:
    reason = args.reason.strip()
    if not reason:
        print(f"involution: {args.verb} --reason: say why (it is recorded)", file=sys.stderr)
        return exit_codes.USAGE
    path = line_path()
    current = read_line_file(path)
    stopping = args.verb == "stop-the-line"
    if current.status == ("stopped" if stopping else "running"):
        print(f"involution: nothing to do: {current.describe()}", file=sys.stderr)
        return exit_codes.NOTHING_TO_DO
    who = args.by.strip() or os.environ.get("GITHUB_ACTOR") or os.environ.get("USER") or "unknown"
    state = LineState(
        "stopped" if stopping else "running",
        reason=reason,
        by=who,
        at=(now or datetime.now(UTC)).replace(microsecond=0),
    )
    path.write_text(state.text(), encoding="utf-8")
    effect = (
        "every step forward on every stack is refused; steps back stay allowed"
        if stopping
        else "steps forward are judged again by each stack's release path"
    )
    print(
        f"involution: {state.describe()} ({path}): {effect} once {LINE_FILE} is committed "
        "(the release-line workflow commits it)"
    )
    return exit_codes.OK
