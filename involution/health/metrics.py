"""The release health figures' metric names: `involution report --openmetrics` writes them, the
dashboard's Release health row reads them."""

from __future__ import annotations

from collections.abc import Mapping

METRIC_PREFIX = "involution_release"
# Figure key -> (metric name without the unit, unit); the exposition appends `_<unit>`.
KPI_METRICS: Mapping[str, tuple[str, str]] = {
    "deploymentSuccessRate": ("deployment_success", "ratio"),
    "rollbackFrequency": ("rollback_frequency", "ratio"),
    "gatePassRate": ("gate_pass", "ratio"),
    "timeToProductionPatch": ("time_to_production_patch_median", "seconds"),
    "timeToProductionMinorMajor": ("time_to_production_minor_major_median", "seconds"),
    "meanTimeToRecovery": ("mttr", "seconds"),
    "meanTimeBetweenFailures": ("mtbf", "seconds"),
}


# Each rollback's blast radius: `<BLAST_METRIC>_requests` and `_errors` per release,
# `_requests_summed` and `_errors_summed` per stack, `_unmeasured_rollbacks`.
BLAST_METRIC = f"{METRIC_PREFIX}_blast_radius"


def kpi_metric(key: str) -> str:
    """The full series name of a figure, e.g. `involution_release_mttr_seconds`."""
    name, unit = KPI_METRICS[key]
    return f"{METRIC_PREFIX}_{name}_{unit}"
