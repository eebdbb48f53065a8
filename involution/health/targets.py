"""The release process's targets for its health figures ("Monitoring and Alerting"): one home
for the figures' labels and the values they are held to, read by the report and the dashboard
(which the program renders on every `pulumi up`, so this module imports no history or
Prometheus client)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from involution.config.path import format_duration

DAY = 86400.0


@dataclass(frozen=True)
class Target:
    """One target of the release process: `comparison` is `>` or `<`."""

    key: str
    label: str
    comparison: str
    value: float
    unit: str  # ratio | seconds

    def met(self, figure: float) -> bool:
        return figure > self.value if self.comparison == ">" else figure < self.value

    def describe(self) -> str:
        if self.unit == "ratio":
            return f"{self.comparison} {self.value:.0%}"
        return f"{self.comparison} {format_seconds(self.value)}"

    def as_record(self) -> dict[str, object]:
        return {"comparison": self.comparison, "value": self.value, "unit": self.unit}


FIGURE_LABELS: Mapping[str, str] = {
    "deploymentSuccessRate": "Deployment success rate",
    "rollbackFrequency": "Rollback frequency",
    "gatePassRate": "Quality gate pass rate",
    "timeToProductionPatch": "Time to production (patch)",
    "timeToProductionMinorMajor": "Time to production (minor/major)",
    "meanTimeToRecovery": "MTTR",
    "meanTimeBetweenFailures": "MTBF",
}
TARGETS: Mapping[str, Target] = {
    t.key: t
    for t in (
        Target("deploymentSuccessRate", FIGURE_LABELS["deploymentSuccessRate"], ">", 0.98, "ratio"),
        Target("rollbackFrequency", FIGURE_LABELS["rollbackFrequency"], "<", 0.02, "ratio"),
        Target("gatePassRate", FIGURE_LABELS["gatePassRate"], ">", 0.95, "ratio"),
        Target(
            "timeToProductionPatch",
            FIGURE_LABELS["timeToProductionPatch"],
            "<",
            2 * 3600.0,
            "seconds",
        ),
        Target(
            "meanTimeToRecovery", FIGURE_LABELS["meanTimeToRecovery"], "<", 30 * 60.0, "seconds"
        ),
        Target(
            "meanTimeBetweenFailures",
            FIGURE_LABELS["meanTimeBetweenFailures"],
            ">",
            30 * DAY,
            "seconds",
        ),
    )
}


def format_seconds(seconds: float) -> str:
    """`45s`, `12m5s`, `3h20m`: `--since`'s own form (rounded to the second)."""
    return format_duration(timedelta(seconds=round(seconds)))
