"""The release health report as JSON, Markdown (release notes, job summary), a terminal table
and OpenMetrics text (a textfile collector or Pushgateway; the dashboard's Release health row).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from involution.health_metrics import KPI_METRICS, METRIC_PREFIX
from involution.release_health import TARGETS, TOO_FEW, HealthReport, format_seconds
from involution.release_state import rfc3339

ALL_STACKS = "all"  # the `stack` label of the figures over every stack reported together


def as_json(report: HealthReport, per_stack: Mapping[str, HealthReport]) -> dict[str, Any]:
    """One object: the figures over all stacks, then `stacks` with each stack's own."""
    record = _figures_record(report)
    record["window"] = {"since": rfc3339(report.since), "until": rfc3339(report.now)}
    record["stackNames"] = list(report.stacks)
    record["stacks"] = {name: _figures_record(r) for name, r in per_stack.items()}
    return record


def _figures_record(report: HealthReport) -> dict[str, Any]:
    def value(key: str) -> float | None:
        return report.figure(key).value

    return {
        "releases": len(report.releases),
        "promoted": report.count("promoted"),
        "releasedDirect": report.count("released"),
        "rolledBack": report.rolled_back,
        "running": report.count("running"),
        "updates": len(report.updates),
        "failedUpdates": report.failed_updates,
        "deploymentSuccessRate": value("deploymentSuccessRate"),
        "rollbackFrequency": value("rollbackFrequency"),
        "gatePassRate": value("gatePassRate"),
        "meanTimeToRecoverySeconds": value("meanTimeToRecovery"),
        "meanTimeBetweenFailuresSeconds": value("meanTimeBetweenFailures"),
        "timeToProductionSeconds": [
            {
                "stack": t.release.stack,
                "version": t.release.version.tag,
                "kind": t.release.kind.value,
                "from": t.source,
                "seconds": t.seconds,
                "status": t.status,
                "note": t.note,
            }
            for t in report.production_times
        ],
        "timeToProductionMedianSeconds": {
            "patch": value("timeToProductionPatch"),
            "minorMajor": value("timeToProductionMinorMajor"),
        },
        "releaseList": [
            {
                "stack": r.stack,
                "version": r.version.tag,
                "kind": r.kind.value,
                "path": r.path,
                "started": rfc3339(r.started),
                "outcome": r.outcome,
                "rollbacks": r.rollbacks,
                "stableAt": rfc3339(r.stable_at) if r.stable_at else None,
                "gatesPassed": r.gates_passed,
                "steps": list(r.steps),
            }
            for r in report.releases
        ],
        "incidents": [
            {
                "stack": i.stack,
                "cause": i.cause,
                "started": rfc3339(i.started),
                "recovered": rfc3339(i.recovered) if i.recovered else None,
                "seconds": i.seconds,
            }
            for i in report.incidents
        ],
        "figures": [
            {
                "key": f.key,
                "label": f.label,
                "value": f.value,
                "unit": f.unit,
                "target": f.target.as_record() if f.target else None,
                "status": f.status,
                "note": f.note,
            }
            for f in report.figures
        ],
        "status": {f.key: f.status for f in report.figures},
        "targets": {key: t.as_record() for key, t in TARGETS.items()},
    }


def _title(report: HealthReport) -> str:
    return (
        f"Release health of {', '.join(report.stacks)} "
        f"from {rfc3339(report.since)} to {rfc3339(report.now)}"
    )


def _counts_line(report: HealthReport) -> str:
    return (
        f"{len(report.releases)} releases: {report.count('promoted')} promoted, "
        f"{report.count('released')} released directly, {report.rolled_back} rolled back, "
        f"{report.count('running')} still running; {len(report.updates)} updates, "
        f"{report.failed_updates} failed"
    )


def _figure_rows(report: HealthReport) -> list[tuple[str, ...]]:
    return [
        (
            f.label,
            f.shown(),
            f.target.describe() if f.target else "-",
            f.status,
            f.note.removeprefix(f"{TOO_FEW}: "),
        )
        for f in report.figures
    ]


def _release_rows(report: HealthReport) -> list[tuple[str, ...]]:
    return [
        (
            t.release.stack,
            t.release.version.tag,
            t.release.kind.value,
            t.release.path,
            t.release.outcome,
            str(t.release.rollbacks),
            "passed" if t.release.gates_passed else "not all passed",
            f"{format_seconds(t.seconds)} ({t.status})" if t.seconds is not None else t.note,
        )
        for t in report.production_times
    ]


FIGURE_HEADER = ("Figure", "Value", "Target", "Status", "Basis")
RELEASE_HEADER = (
    "Stack",
    "Version",
    "Kind",
    "Path",
    "Outcome",
    "Rollbacks",
    "Gates",
    "Time to production",
)


def as_markdown(report: HealthReport) -> str:
    lines = [f"## {_title(report)}", "", _counts_line(report), ""]
    lines += _markdown_table(FIGURE_HEADER, _figure_rows(report))
    if report.releases:
        lines += ["", "### Releases", ""]
        lines += _markdown_table(RELEASE_HEADER, _release_rows(report))
    return "\n".join(lines) + "\n"


def _markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    def row(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [row(header), "|" + "---|" * len(header), *(row(r) for r in rows)]


def as_table(report: HealthReport) -> str:
    lines = [_title(report), _counts_line(report), ""]
    lines += _text_table(FIGURE_HEADER, _figure_rows(report))
    if report.releases:
        lines += ["", *_text_table(RELEASE_HEADER, _release_rows(report))]
    return "\n".join(lines) + "\n"


def _text_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip()
        for r in (header, *rows)
    ]


class _HealthCollector(Collector):
    """The figures as gauges, one series per stack (and `all` over several)."""

    def __init__(self, reports: Mapping[str, HealthReport]) -> None:
        self._reports = reports

    def collect(self) -> Iterator[Metric]:
        yield from _count_metrics(self._reports)
        yield from _kpi_metrics(self._reports)
        times = GaugeMetricFamily(
            f"{METRIC_PREFIX}_time_to_production_seconds",
            "Each release: first seen on the promoteFrom stack (or its start) to stable",
            labels=["stack", "version", "kind"],
            unit="seconds",
        )
        for stack, report in self._reports.items():
            for t in report.production_times:
                if t.seconds is not None and stack != ALL_STACKS:
                    times.add_metric(
                        [stack, t.release.version.tag, t.release.kind.value], t.seconds
                    )
        yield times
        target = GaugeMetricFamily(
            f"{METRIC_PREFIX}_target", "The release process's target", labels=["kpi", "comparison"]
        )
        for key, goal in TARGETS.items():
            target.add_metric([key, goal.comparison], goal.value)
        yield target


def _count_metrics(reports: Mapping[str, HealthReport]) -> Iterator[Metric]:
    counts: dict[str, tuple[str, Callable[[HealthReport], int]]] = {
        "releases": ("Releases started in the window", lambda r: len(r.releases)),
        "promoted": ("Releases promoted to stable", lambda r: r.count("promoted")),
        "released_direct": ("Patches released directly", lambda r: r.count("released")),
        "rolled_back": ("Releases rolled back", lambda r: r.rolled_back),
        "running": ("Releases still running", lambda r: r.count("running")),
        "updates": ("pulumi up runs in the window", lambda r: len(r.updates)),
        "failed_updates": ("pulumi up runs that failed", lambda r: r.failed_updates),
    }
    for name, (text, measure) in counts.items():
        family = GaugeMetricFamily(f"{METRIC_PREFIX}_{name}", text, labels=["stack"])
        for stack, report in reports.items():
            family.add_metric([stack], float(measure(report)))
        yield family


def _kpi_metrics(reports: Mapping[str, HealthReport]) -> Iterator[Metric]:
    met = GaugeMetricFamily(
        f"{METRIC_PREFIX}_target_met",
        "1 when the figure meets its target, 0 when it misses (absent: too few data)",
        labels=["stack", "kpi"],
    )
    for key, (name, unit) in KPI_METRICS.items():
        label = TARGETS[key].label if key in TARGETS else key
        family = GaugeMetricFamily(f"{METRIC_PREFIX}_{name}", label, labels=["stack"], unit=unit)
        for stack, report in reports.items():
            figure = report.figure(key)
            if figure.value is not None:
                family.add_metric([stack], figure.value)
            if figure.status in ("met", "missed"):
                met.add_metric([stack, key], 1.0 if figure.status == "met" else 0.0)
        yield family
    yield met


def as_openmetrics(report: HealthReport, per_stack: Mapping[str, HealthReport]) -> str:
    reports = dict(per_stack)
    if len(per_stack) > 1:
        reports[ALL_STACKS] = report
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_HealthCollector(reports))
    text: bytes = generate_latest(registry)  # type: ignore[no-untyped-call]
    return text.decode()
