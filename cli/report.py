"""`involution report`: the release process's health figures from the stacks' own history, and
each rollback's blast radius from the Prometheus the stack's analysis asks."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from cli import exit_codes
from cli.workspace import UnknownStackError, open_stack
from involution.analysis.queries import Querier
from involution.health.blast_radius import BlastRadius, Stint, measure
from involution.health.formats import as_json, as_markdown, as_openmetrics, as_table
from involution.health.report import HealthReport, StackHistory, build_report
from involution.prometheus import PrometheusClient, PrometheusError, Sample

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
    sub.add_argument(
        "--prometheus-url",
        help="Prometheus the rollbacks' blast radius is asked of (default: each stack's "
        "monitoring.prometheusUrl at its rollback)",
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
    report, per_stack = with_blast_radius(report, per_stack, args.prometheus_url)
    if args.json:
        print(json.dumps(as_json(report, per_stack), indent=2))
    elif args.markdown:
        print(as_markdown(report), end="")
    elif args.openmetrics:
        print(as_openmetrics(report, per_stack), end="")
    else:
        print(as_table(report), end="")
    return exit_codes.OK


def with_blast_radius(
    report: HealthReport, per_stack: dict[str, HealthReport], url_override: str | None
) -> tuple[HealthReport, dict[str, HealthReport]]:
    """Every rollback of the window measured once, then shown overall and per stack."""
    clients: dict[str, _OnePrometheus] = {}

    def client_for(stint: Stint) -> Querier | str:
        url = url_override or stint.monitoring().prometheus_url
        if not url:
            return (
                f"no Prometheus to ask: {stint.stack}'s monitoring.prometheusUrl was unset at "
                "the rollback (pass --prometheus-url)"
            )
        return clients.setdefault(url, _OnePrometheus(PrometheusClient(url)))

    measured = measure([b.stint for b in report.blast_radius], client_for)
    of_stack: dict[str, tuple[BlastRadius, ...]] = {
        name: tuple(b for b in measured if b.stint.stack == name) for name in per_stack
    }
    return (
        replace(report, blast_radius=tuple(measured)),
        {name: replace(r, blast_radius=of_stack[name]) for name, r in per_stack.items()},
    )


@dataclass
class _OnePrometheus:
    """A Prometheus that failed once is not asked again in this report (no timeout per
    rollback); every later question gets the same error."""

    client: PrometheusClient
    failed: PrometheusError | None = field(default=None)

    @property
    def url(self) -> str:
        return self.client.url

    def query(self, promql: str, at: datetime | None = None) -> list[Sample]:
        if self.failed is not None:
            raise self.failed
        try:
            return self.client.query(promql, at)
        except PrometheusError as error:
            self.failed = error
            raise


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
