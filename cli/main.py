"""`involution`: run releases of the project's stacks (status, analyze, start, advance, promote,
rollback, close, watch, report) through the Pulumi Automation API, and stop or resume the line
of all of them (stop-the-line, resume). Every step is a config change and a `pulumi up`, judged
by the program's release path as a hand-made change would be."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from cli import analysis_verbs, exit_codes, line_verbs, report, steps
from cli.interrupts import let_children_hear_sigint
from cli.output import print_status
from cli.workspace import (
    NoEngineError,
    ReleaseStack,
    UnknownStackError,
    UpdateFailedError,
    UpdateRefusedError,
    open_stack,
)
from involution.config.path import parse_duration

REASON_KEY = "releaseReason"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="involution", description=__doc__)
    verbs = top.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name: str, text: str) -> argparse.ArgumentParser:
        sub = verbs.add_parser(name, help=text, description=text)
        sub.add_argument("--stack", "-s", required=True, help="stack name, e.g. staging")
        return sub

    verb("status", "deployed phase, versions, weights, time in phase, soak left, last analysis")
    analyze = verb("analyze", "the canary analysis: decision and every check with its numbers")
    analyze.add_argument(
        "--prometheus-url", help="Prometheus HTTP API (default: monitoring.prometheusUrl)"
    )
    analyze.add_argument("--json", action="store_true", help="print one JSON object")
    start = verb("start", "start the canary of VERSION at 10%%")
    start.add_argument("version", metavar="VERSION", help="engine version tag, e.g. v1.3.0")
    for name, text in (
        ("advance", "move the live canary one phase forward (10 -> 50 -> 100)"),
        ("promote", "make the canary at 100%% the stable version"),
        ("rollback", "all traffic back to stable; --staged steps back one phase"),
        ("close", "end a rolled-back release: canary removed, phase none"),
    ):
        sub = verb(name, text)
        if name == "rollback":
            sub.add_argument("--staged", action="store_true", help="100 -> 50 -> 10 -> rollback")
    watch = verb("watch", "analyze each interval; roll back on a trigger, advance if asked")
    watch.add_argument("--interval", default="30s", type=_duration, help="e.g. 30s, 5m")
    watch.add_argument("--once", action="store_true", help="one round, for a scheduled job")
    watch.add_argument(
        "--auto-advance", action="store_true", help="advance when soaked and passing"
    )
    watch.add_argument(
        "--prometheus-url", help="Prometheus HTTP API (default: monitoring.prometheusUrl)"
    )
    watch.add_argument("--max-rounds", type=int, default=0, help=argparse.SUPPRESS)
    report.add_parser(verbs)
    line_verbs.add_parsers(verbs)
    for sub in verbs.choices.values():
        if sub.prog.split()[-1] in ("start", "advance", "promote", "rollback", "close", "watch"):
            sub.add_argument(
                "--reason", default="", help="recorded in the stack history and releaseLog"
            )
    return top


def _duration(text: str) -> float:
    try:
        seconds = parse_duration(text).total_seconds()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 30s or 5m") from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError("the interval must be longer than 0s")
    return seconds


def _window(text: str) -> timedelta:
    """`--since`: a duration; a bad one is a usage error naming the flag and the form."""
    try:
        window = parse_duration(text)
    except ValueError:
        window = timedelta(0)
    if window <= timedelta(0):
        parser().error(f"--since {text!r}: a duration longer than 0s, such as 30d, 12h or 90m")
    return window


def run_step(release: ReleaseStack, change: steps.ConfigChange, reason: str) -> int:
    """Apply the change and `pulumi up`. A refusal (nothing registered) puts the config back
    as it was; a failed update keeps what was asked for, so a retry is the same step."""
    message = f"{change.message}: {reason}" if reason else change.message
    previous, pending = release.stage({**change.changes, REASON_KEY: message})
    print(f"involution: {message} (stack {release.name})", flush=True)
    try:
        outputs = release.up(message=message, config=pending)
    except UpdateRefusedError as refusal:
        release.restore(previous)
        print(f"involution: refused, nothing changed:\n{refusal}", file=sys.stderr)
        return exit_codes.REFUSED
    except UpdateFailedError as failure:
        print(failed_update_message(release.name, message, failure), file=sys.stderr)
        return exit_codes.FAILED_UPDATE
    release.forget(REASON_KEY)
    print(
        f"involution: {release.name} at phase {outputs.get('phase')} "
        f"(stable {outputs.get('stableWeight')}%, canary {outputs.get('canaryWeight')}%)"
    )
    return exit_codes.OK


def failed_update_message(stack: str, message: str, failure: UpdateFailedError) -> str:
    changed = (
        "an unknown number of resources"
        if failure.changed is None
        else f"{failure.changed} resource operation(s)"
    )
    return (
        f"involution: the update failed after it began ({changed} recorded):\n{failure}\n"
        f"involution: {stack} is in a failed update; its config keeps what was asked for "
        f"({message}). Run `involution status --stack {stack}`, then retry "
        f"(`pulumi up --stack {stack}`) or roll back (`involution rollback --stack {stack}`)."
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    let_children_hear_sigint()  # the engine's plugins must close when `pulumi` asks
    try:
        return _verb(args)
    except NoEngineError as missing:
        print(f"involution: {missing}", file=sys.stderr)
        return exit_codes.USAGE


def _verb(args: argparse.Namespace) -> int:
    if args.verb == "report":
        return report.run(args, _window(args.since))
    if args.verb in ("stop-the-line", "resume"):
        return line_verbs.run(args)
    try:
        release = open_stack(args.stack)
    except UnknownStackError:
        print(
            f"involution: no stack named {args.stack!r} in this project's backend", file=sys.stderr
        )
        return exit_codes.UNKNOWN_STACK
    return _on_stack(args, release)


def _on_stack(args: argparse.Namespace, release: ReleaseStack) -> int:
    now = datetime.now(UTC)
    try:
        if args.verb == "status":
            print_status(release, now)
            return exit_codes.OK
        if args.verb in ("analyze", "watch"):
            return analysis_verbs.run(args, release, run_step)
        outputs = release.outputs()
        change = {
            "start": lambda: steps.start(outputs, args.version),
            "advance": lambda: steps.advance(outputs),
            "promote": lambda: steps.promote(outputs),
            "rollback": lambda: steps.rollback(outputs, staged=args.staged),
            "close": lambda: steps.close(outputs),
        }[args.verb]()
    except steps.NothingToDoError as nothing:
        print(f"involution: {nothing}", file=sys.stderr)
        return exit_codes.NOTHING_TO_DO
    except steps.BadArgumentError as bad:
        print(f"involution: {bad}", file=sys.stderr)
        return exit_codes.USAGE
    except steps.UnreadableOutputError as unreadable:
        print(f"involution: refused, nothing changed: {unreadable}", file=sys.stderr)
        return exit_codes.REFUSED
    return run_step(release, change, args.reason)


if __name__ == "__main__":
    raise SystemExit(main())
