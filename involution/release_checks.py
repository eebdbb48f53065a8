"""Every check a `pulumi up` makes on the release before any resource is registered.

The path (order, soaks, versions, upstream) comes from `release_path.judge`; approvals and
quality gates guard traffic moving to a canary, so they apply to every step but a step back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from involution.config_release import check_approval, check_gates
from involution.contract import Environment
from involution.errors import PATH_HEADING, ConfigError, ConfigProblem
from involution.phases import Phase
from involution.release_path import DesiredRelease, Verdict, judge
from involution.release_state import DeployedRelease, UpstreamRelease
from involution.settings import Settings


@dataclass(frozen=True)
class CheckedRelease:
    """A step the release path allows, with the warnings it raised."""

    verdict: Verdict
    warnings: tuple[str, ...]


def desired_release(settings: Settings) -> DesiredRelease:
    return DesiredRelease(
        phase=settings.phase, stable=settings.stable_version, canary=settings.canary_version
    )


def check_release(
    settings: Settings,
    deployed: DeployedRelease | None,
    *,
    now: datetime,
    read_upstream: Callable[[str], UpstreamRelease] | None = None,
) -> CheckedRelease:
    """The step this config asks for; raises one ConfigError naming every refusal."""
    verdict = judge(
        deployed, desired_release(settings), settings.path, now=now, read_upstream=read_upstream
    )
    problems: list[ConfigProblem] = list(verdict.problems)
    warnings: list[str] = []
    production = settings.environment is Environment.PRODUCTION
    if not verdict.step.is_back and settings.phase is not Phase.ROLLBACK:
        if settings.phase.takes_traffic and settings.release_type.needs_approval:
            check_approval(
                settings.approval,
                kind=settings.release_type,
                now=now,
                production=production,
                problems=problems,
                warnings=warnings,
            )
        check_gates(settings.gates, production=production, problems=problems, warnings=warnings)
    override = settings.path.override
    if verdict.override_used and override is not None:
        warnings.append(
            f"releaseOverride skips the soak of phase {deployed.phase.value if deployed else '-'}: "
            f"{override.reason} (approved by {', '.join(override.approved_by)}"
            f"{', ' + override.ticket if override.ticket else ''}); recorded in releaseLog"
        )
    if problems:
        raise ConfigError(problems, PATH_HEADING)
    return CheckedRelease(verdict=replace(verdict, problems=()), warnings=tuple(warnings))
