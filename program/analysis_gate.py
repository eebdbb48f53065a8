"""`pulumi up` consults the canary analysis before a step forward in staging and production.

A step forward (10 -> 50, 50 -> 100, promotion) is refused unless the analysis says
`advance`; an unreachable Prometheus refuses it too. Preview says what up will check and
what the analysis says now, without failing on it (the numbers change by the minute). Steps
back never consult it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi

from involution.contract import Environment
from involution.errors import ConfigProblem
from involution.release.path import Step
from involution.settings import Settings

if TYPE_CHECKING:
    from involution.analysis.canary import Analysis

CONSULTED_FOR = (Step.ADVANCE, Step.PROMOTE)


def analysis_problems(
    settings: Settings, step: Step, *, preview: bool
) -> tuple[list[ConfigProblem], Analysis | None]:
    """What refuses this step on the analysis' account (none in preview), and the analysis."""
    if settings.environment is Environment.DEV or step not in CONSULTED_FOR:
        return [], None
    url = settings.monitoring.prometheus_url
    what = f"{step.value} to {settings.phase.value} in {settings.environment.value}"
    if url is None:
        problem = ConfigProblem(
            "monitoring.prometheusUrl",
            None,
            f"the Prometheus the canary analysis asks: a {what} needs it to say advance",
        )
        return _in_preview([problem], preview), None
    # Imported where it runs: most updates (dev, steps back) never ask, and the analysis'
    # HTTP client is a fifth of the program's own import time.
    from involution.analysis.canary import analyse
    from involution.prometheus import PrometheusClient, PrometheusError

    if preview:
        pulumi.log.info(f"pulumi up will ask the canary analysis at {url} before this {what}")
    try:
        analysis = analyse(PrometheusClient(url), settings.monitoring, settings.namespace)
    except PrometheusError as error:
        problem = ConfigProblem(
            "monitoring.prometheusUrl",
            url,
            f"a Prometheus that answers ({error}): a {what} "
            "needs the canary analysis to say advance",
        )
        return _in_preview([problem], preview), None
    if analysis.decision == "advance":
        pulumi.log.info(f"canary analysis: advance ({analysis.reason})")
        return [], analysis
    problem = ConfigProblem(
        "canaryPhase",
        settings.phase.value,
        f"a step the canary analysis allows: it says {analysis.decision} ({analysis.reason}); "
        "`involution analyze --stack "
        f"{settings.stack}` shows every check",
    )
    return _in_preview([problem], preview), analysis


def _in_preview(problems: list[ConfigProblem], preview: bool) -> list[ConfigProblem]:
    """In preview a problem is a warning: up will refuse, the pull request shows why."""
    if not preview:
        return problems
    for problem in problems:
        pulumi.log.warn(f"pulumi up will refuse this step: {problem.describe()}")
    return []
