"""The release health report as JSON, Markdown (release notes, job summary), a terminal table
and OpenMetrics text (a textfile collector or Pushgateway; the dashboard's Release health row).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from involution.health.blast_radius import BlastRadius, by_release, summed
from involution.health.metrics import BLAST_METRIC, KPI_METRICS, METRIC_PREFIX
from involution.health.report import TOO_FEW, HealthReport
from involution.health.targets import TARGETS, format_seconds
from involution.release.state import rfc3339

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
        "blastRadius": blast_record(report.blast_radius),
    }


def blast_record(blast: tuple[BlastRadius, ...]) -> dict[str, Any]:
    """Per release (each rollback under it) and summed; None with the reason when too few."""
    requests, errors, note = summed(blast)
    return {
        "requests": requests,
        "errors": errors,
        "status": "measured" if requests is not None else TOO_FEW,
        "note": note,
        "releases": [
            {
                "stack": r.stack,
                "version": r.version.tag,
                "started": rfc3339(r.started),
                "requests": r.requests,
                "errors": r.errors,
                "status": r.status,
                "note": r.note,
                "rollbacks": [
                    {
                        "from": rfc3339(b.stint.answering_since)
                        if b.stint.answering_since
                        else None,
                        "rolledBack": rfc3339(b.stint.rolled_back),
                        "requests": b.requests,
                        "errors": b.errors,
                        "status": b.status,
                        "note": b.note,
                    }
                    for b in r.rollbacks
                ],
            }
            for r in by_release(blast)
        ],
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


BLAST_HEADER = ("Stack", "Version", "Rolled back", "Requests served", "Errors", "Basis")


def _count(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _blast_rows(report: HealthReport) -> list[tuple[str, ...]]:
    return [
        (
            b.stint.stack,
            b.stint.version.tag,
            rfc3339(b.stint.rolled_back),
            _count(b.requests),
            _count(b.errors),
            b.note,
        )
        for b in report.blast_radius
    ]


def _blast_line(report: HealthReport) -> str:
    requests, errors, note = summed(report.blast_radius)
    if requests is None:
        return f"Blast radius of the rollbacks, summed: {note}"
    return (
        f"Blast radius of the rollbacks, summed: the canaries answered {_count(requests)} "
        f"requests, {_count(errors)} of them errors (5xx) ({note})"
    )


def as_markdown(report: HealthReport) -> str:
    lines = [f"## {_title(report)}", "", _counts_line(report), ""]
    lines += _markdown_table(FIGURE_HEADER, _figure_rows(report))
    if report.releases:
        lines += ["", "### Releases", ""]
        lines += _markdown_table(RELEASE_HEADER, _release_rows(report))
    if report.blast_radius:
        lines += ["", "### Blast radius of each rollback", "", _blast_line(report), ""]
        lines += _markdown_table(BLAST_HEADER, _blast_rows(report))
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
    if report.blast_radius:
        lines += ["", _blast_line(report), *_text_table(BLAST_HEADER, _blast_rows(report))]
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
        yield from _blast_metrics(self._reports)
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


def _blast_metrics(reports: Mapping[str, HealthReport]) -> Iterator[Metric]:
    """Per release (absent when too few data), summed over the window (absent unless every
    rollback was measured), and how many rollbacks were not."""
    families = {
        key: GaugeMetricFamily(f"{BLAST_METRIC}_{key}", text, labels=["stack", "version"])
        for key, text in (
            ("requests", "Requests a rolled-back canary answered, start of release to rollback"),
            ("errors", "Errors (5xx) a rolled-back canary answered, start of release to rollback"),
        )
    }
    sums = {
        key: GaugeMetricFamily(f"{BLAST_METRIC}_{key}_summed", text, labels=["stack"])
        for key, text in (
            ("requests", "Requests the rolled-back canaries answered, every rollback measured"),
            ("errors", "Errors the rolled-back canaries answered, every rollback measured"),
        )
    }
    unmeasured = GaugeMetricFamily(
        f"{BLAST_METRIC}_unmeasured_rollbacks",
        "Rollbacks in the window whose blast radius Prometheus could not give",
        labels=["stack"],
    )
    for stack, report in reports.items():
        if stack != ALL_STACKS:
            for release in by_release(report.blast_radius):
                labels = [release.stack, release.version.tag]
                if release.requests is not None and release.errors is not None:
                    families["requests"].add_metric(labels, release.requests)
                    families["errors"].add_metric(labels, release.errors)
        requests, errors, _ = summed(report.blast_radius)
        if requests is not None and errors is not None:
            sums["requests"].add_metric([stack], requests)
            sums["errors"].add_metric([stack], errors)
        missing = sum(1 for b in report.blast_radius if b.requests is None)
        unmeasured.add_metric([stack], float(missing))
    yield from families.values()
    yield from sums.values()
    yield unmeasured


def as_openmetrics(report: HealthReport, per_stack: Mapping[str, HealthReport]) -> str:
    reports = dict(per_stack)
    if len(per_stack) > 1:
        reports[ALL_STACKS] = report
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_HealthCollector(reports))
    text: bytes = generate_latest(registry)  # type: ignore[no-untyped-call]
    return text.decode()
