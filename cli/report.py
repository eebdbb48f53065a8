"""`involution report`: the release process's health figures from the stacks' own history."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta

from cli import exit_codes
from cli.workspace import UnknownStackError, open_stack
from involution.health_formats import as_json, as_markdown, as_openmetrics, as_table
from involution.release_health import StackHistory, build_report

DEFAULT_WINDOW = "30d"


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    text = "release health: releases, success and rollback rates, gates, time to production, MTTR"
    sub = verbs.add_parser("report", help=text, description=text)
    sub.add_argument(
        "--stack",
        "-s",
        action="append",
        required=True,
        help="stack name; repeat for several (their figures are also given together)",
    )
    sub.add_argument(
        "--since",
        default=DEFAULT_WINDOW,
        help=f"window ending now, e.g. 7d, 12h (default {DEFAULT_WINDOW})",
    )
    form = sub.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print one JSON object")
    form.add_argument("--markdown", action="store_true", help="GitHub release notes / summary")
    form.add_argument("--openmetrics", action="store_true", help="OpenMetrics text exposition")


def run(args: argparse.Namespace, window: timedelta) -> int:
    names = list(dict.fromkeys(args.stack))
    histories: dict[str, StackHistory] = {}
    try:
        for name in names:
            histories[name] = StackHistory(name, open_stack(name).history())
    except UnknownStackError as unknown:
        print(
            f"involution: no stack named {str(unknown)!r} in this project's backend",
            file=sys.stderr,
        )
        return exit_codes.UNKNOWN_STACK
    upstreams = _upstreams(histories)
    moment = datetime.now(UTC)
    chosen = [histories[n] for n in names]
    report = build_report(chosen, upstreams=upstreams, since=window, now=moment)
    per_stack = {
        h.name: build_report([h], upstreams=upstreams, since=window, now=moment) for h in chosen
    }
    if args.json:
        print(json.dumps(as_json(report, per_stack), indent=2))
    elif args.markdown:
        print(as_markdown(report), end="")
    elif args.openmetrics:
        print(as_openmetrics(report, per_stack), end="")
    else:
        print(as_table(report), end="")
    return exit_codes.OK


def _upstreams(histories: dict[str, StackHistory]) -> dict[str, StackHistory]:
    """The `promoteFrom` stacks' histories, for time to production; one the backend does not
    know leaves those releases without the figure (the report says so)."""
    found: dict[str, StackHistory] = {}
    for history in list(histories.values()):
        upstream = history.promote_from
        if not upstream or upstream in found:
            continue
        if upstream in histories:
            found[upstream] = histories[upstream]
            continue
        try:
            found[upstream] = StackHistory(upstream, open_stack(upstream).history())
        except UnknownStackError:
            continue
    return found
