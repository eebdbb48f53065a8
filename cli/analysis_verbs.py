"""`involution analyze` and `involution watch`: the canary analysis, and acting on it.

`watch` rolls a canary back by itself when a rollback trigger holds (a config change and a
`pulumi up`, recorded with the numbers that triggered it) and, with `--auto-advance`,
advances when the soak is over and every check passes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cli import exit_codes, steps
from cli.last_analysis import save_last_analysis
from cli.line_verbs import project_line
from cli.workspace import ReleaseStack
from involution.analysis.canary import Analysis, analyse
from involution.errors import ConfigError
from involution.phases import Phase
from involution.prometheus import PrometheusClient, PrometheusError
from involution.release.state import rfc3339
from involution.settings import Settings, parse_settings

RunStep = Callable[[ReleaseStack, steps.ConfigChange, str], int]
# Shadow's mirrored copies are canary traffic: analyze and watch it too (its advance is 10).
LIVE = (Phase.SHADOW, Phase.P10, Phase.P50, Phase.P100)
DECISION_EXIT = {"advance": exit_codes.OK, "hold": exit_codes.HOLD, "rollback": exit_codes.ROLLBACK}


class AnalysisUnavailableError(Exception):
    """No Prometheus to ask: not configured, or not answering."""


def stack_settings(release: ReleaseStack) -> Settings:
    return parse_settings(release.config(secrets=True), stack=release.name)


def analysis_of(settings: Settings, url_override: str | None) -> Analysis:
    url = url_override or settings.monitoring.prometheus_url
    if not url:
        raise AnalysisUnavailableError(
            "no Prometheus to ask: set monitoring.prometheusUrl "
            "(pulumi config set --path involution:monitoring.prometheusUrl URL) or pass "
            "--prometheus-url"
        )
    try:
        return analyse(PrometheusClient(url), settings.monitoring, settings.namespace)
    except PrometheusError as error:
        raise AnalysisUnavailableError(str(error)) from None


def describe(analysis: Analysis) -> list[str]:
    lines = [f"decision: {analysis.decision} ({analysis.reason})"]
    for check in analysis.to_json()["checks"]:
        numbers = ", ".join(
            f"{key} {check[key]}"
            for key in ("value", "threshold", "baseline")
            if check[key] is not None
        )
        lines.append(f"  {check['verdict']:<12} {check['name']:<28} {numbers}")
        lines.append(f"  {'':<12} {check['message']}")
    return lines


def trigger_summary(analysis: Analysis) -> str:
    """The numbers behind a rollback, for the stack history and releaseLog."""
    failed = [c for c in analysis.checks if c.verdict == "fail" and c.rollback]
    parts = [
        f"{c.name} {_number(c.value)} > {_number(c.threshold)}"
        + (f" (stable {_number(c.baseline)})" if c.baseline is not None else "")
        for c in failed
    ]
    return "watch: rollback trigger " + "; ".join(parts or [analysis.reason])


def run(args: argparse.Namespace, release: ReleaseStack, run_step: RunStep) -> int:
    try:
        settings = stack_settings(release)
    except ConfigError as error:
        print(f"involution: {error}", file=sys.stderr)
        return exit_codes.REFUSED
    if args.verb == "analyze":
        return analyze_once(args, release, settings)
    return watch(args, release, settings, run_step)


def analyze_once(args: argparse.Namespace, release: ReleaseStack, settings: Settings) -> int:
    phase = steps.deployed_phase(release.outputs())
    if phase not in LIVE:
        raise steps.NothingToDoError(
            f"nothing to analyze: no canary takes traffic (phase {phase.value})"
        )
    try:
        analysis = analysis_of(settings, args.prometheus_url)
    except AnalysisUnavailableError as error:
        print(f"involution: {error}", file=sys.stderr)
        return exit_codes.PROMETHEUS_DOWN
    record = {**analysis.to_json(), "stack": release.name, "phase": phase.value}
    save_last_analysis(release.name, record)
    if args.json:
        print(json.dumps(record, indent=2))
    else:
        print("\n".join(describe(analysis)))
    return DECISION_EXIT[analysis.decision]


# What a rollback that did not happen ends in: the watch retries it each interval.
ROLLBACK_NOT_DONE = (exit_codes.REFUSED, exit_codes.FAILED_UPDATE)


def watch(
    args: argparse.Namespace, release: ReleaseStack, settings: Settings, run_step: RunStep
) -> int:
    """Rounds until the canary is rolled back, promoted or gone. A rollback that fails is
    retried every interval whatever the analysis says then; the watch exits non-zero if it
    stops (--once, --max-rounds) before one succeeds."""
    rounds = 0
    pending: str | None = None  # the reason of a rollback that failed
    while True:
        rounds += 1
        if pending is None:
            code, reason = watch_round(args, release, settings, run_step)
        else:
            code, reason = retry_rollback(release, pending, run_step), pending
        if code in ROLLBACK_NOT_DONE and reason is not None:
            pending = reason
            print(
                f"involution watch: the rollback of {release.name} did not happen (exit {code});"
                f" retrying it every {_number(args.interval)}s",
                file=sys.stderr,
                flush=True,
            )
            code = None if not _last_round(args, rounds) else code
        if code is not None:
            return code
        if _last_round(args, rounds):
            return exit_codes.OK
        time.sleep(args.interval)


def _last_round(args: argparse.Namespace, rounds: int) -> bool:
    return bool(args.once or (args.max_rounds and rounds >= args.max_rounds))


def retry_rollback(release: ReleaseStack, reason: str, run_step: RunStep) -> int:
    """The same rollback again: from the canary the outputs show, or, when the failed update
    left them at `rollback` (or unreadable), the config's rollback applied once more."""
    outputs = release.outputs()
    try:
        live = steps.deployed_phase(outputs) in LIVE
    except steps.UnreadableOutputError:
        live = False
    if live:
        change = steps.rollback(outputs, staged=False)
    else:
        change = steps.ConfigChange(
            {"canaryPhase": Phase.ROLLBACK.value},
            f"retry the rollback of {outputs.get('canaryVersion')}",
            "rollback",
        )
    return run_step(release, change, f"{reason} (retried)")


def watch_round(
    args: argparse.Namespace, release: ReleaseStack, settings: Settings, run_step: RunStep
) -> tuple[int | None, str | None]:
    """One look: an exit code when the watch is over (rolled back, nothing left to watch),
    and the reason of the rollback it tried, if it tried one."""
    outputs = release.outputs()
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        phase: Phase | None = steps.deployed_phase(outputs)
    except steps.UnreadableOutputError as unreadable:
        print(f"involution watch {stamp}: {unreadable}", file=sys.stderr)
        phase = None  # watched as a live canary: a trigger still rolls it back
    if phase is not None and phase not in LIVE:
        print(
            f"involution watch {stamp}: no canary takes traffic on {release.name} ({phase.value})"
        )
        return exit_codes.OK, None
    try:
        analysis = analysis_of(settings, args.prometheus_url)
    except AnalysisUnavailableError as error:
        print(f"involution watch {stamp}: {error}", file=sys.stderr)
        return (exit_codes.PROMETHEUS_DOWN if args.once else None), None
    save_last_analysis(release.name, {**analysis.to_json(), "stack": release.name})
    shown = phase.value if phase is not None else "an unreadable phase"
    print(f"involution watch {stamp}: {release.name} at {shown}: {analysis.decision}")
    if analysis.decision == "rollback":
        # When the trigger was seen: the release report's MTTR starts there, not at the `up`.
        observed = f"(observed at {rfc3339(datetime.now(UTC))})"
        reason = " ".join(filter(None, [trigger_summary(analysis), observed, args.reason]))
        return run_step(release, steps.rollback(outputs, staged=False), reason), reason
    advancing = analysis.decision == "advance" and args.auto_advance and _soaked(outputs)
    line = project_line()
    if advancing and not line.running:
        # The program would refuse it; rollbacks above go on whatever the line says.
        print(f"involution watch {stamp}: {line.describe()}: no step forward", flush=True)
        return None, None
    if phase is not None and advancing:
        change = steps.promote(outputs) if phase is Phase.P100 else steps.advance(outputs)
        code = run_step(release, change, args.reason or "watch: soak over and analysis passed")
        if code != exit_codes.OK:
            return code, None
    return None, None


def _soaked(outputs: dict[str, Any]) -> bool:
    until = outputs.get("soakUntil")
    return not isinstance(until, str) or datetime.fromisoformat(until) <= datetime.now(UTC)


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"
