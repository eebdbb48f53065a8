"""Fail closed: a step forward is judged only on a deployed state that every source agrees on.

Two sources say what is deployed: the stack's last outputs and, outside render mode, the
release annotations of the engine Deployments on the cluster. When an output cannot be read,
the cluster cannot be read, or the two disagree (a lost state, another backend, an import),
only a step back from what each readable source says is allowed. A recorded adoption
(`releaseAdoption`) takes over the release the cluster runs: the step is then judged against
the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from involution.config.path import ReleaseOverride
from involution.errors import ConfigProblem
from involution.names import Track
from involution.phases import Phase
from involution.release.live import LiveRelease, expected_annotations, matches_either
from involution.release.path import DesiredRelease, classify
from involution.release.state import DeployedRelease
from involution.versions import EngineVersion

ADOPTION_KEY = "releaseAdoption"


@dataclass(frozen=True)
class Guard:
    """What the step is judged against, and why only a step back may pass (if it must)."""

    basis: DeployedRelease | None
    back_only: tuple[str, ...] = ()
    problems: tuple[ConfigProblem, ...] = ()
    warnings: tuple[str, ...] = ()
    adopted: str | None = None  # the adoption's record, when this step takes over the cluster
    judged_against: tuple[tuple[str, DeployedRelease | None], ...] = field(default=())


def describe_recorded(recorded: DeployedRelease | None) -> str:
    if recorded is None:
        return "the stack's outputs say first deployment (it has none)"
    canary = f", canary {recorded.canary.tag}" if recorded.canary else ""
    stable = recorded.stable.tag if recorded.stable else "an unreadable version"
    return f"the stack's outputs say stable {stable}{canary} at phase {recorded.phase.value}"


def guard_release(
    recorded: DeployedRelease | None,
    desired: DesiredRelease,
    live: LiveRelease | None,
    *,
    now: datetime,
    adoption: ReleaseOverride | None = None,
    preview: bool = False,
) -> Guard:
    """`live` None: the cluster is not asked (render mode, mocked runs)."""
    reasons = [u.describe() for u in (recorded.unreadable if recorded else ())]
    if adoption is not None:
        disagreement = _disagreement(recorded, desired, live)
        return _adopt(recorded, live, adoption, bool(reasons or disagreement), now=now)
    warnings: tuple[str, ...] = ()
    if live is not None and live.unknown is not None and preview:
        # A pull request's preview may run without the cluster's credentials: it warns.
        warnings = (f"pulumi up will allow only a step back: {live.describe()}",)
        live = None
    disagreement = _disagreement(recorded, desired, live)
    if live is not None and (live.unknown is not None or disagreement):
        reasons.append(disagreement or live.describe())
    if not reasons:
        return Guard(basis=recorded, warnings=warnings)
    guard = _back_only(recorded, desired, live, tuple(reasons))
    return replace(guard, warnings=(*warnings, *guard.warnings))


def _disagreement(
    recorded: DeployedRelease | None, desired: DesiredRelease, live: LiveRelease | None
) -> str | None:
    """Why the cluster's Deployments are neither what the last update nor what this one
    deploys; None when they are, when nothing runs, or when the cluster was not read."""
    if live is None or live.unknown is not None or not live.tracks:
        return None
    said = describe_recorded(recorded)
    if not live.readable:
        return f"{said}; {live.describe()}"
    if recorded is None:
        return f"{said}, but {live.describe()}"
    if recorded.unreadable:
        return None  # already back-only; the cluster's release is judged below
    last = expected_annotations(recorded.phase, _tag(recorded.stable), _tag(recorded.canary))
    this = expected_annotations(desired.phase, desired.stable.tag, _tag(desired.canary))
    if matches_either(live, (last, this, *_before_last_step(recorded))):
        return None
    return f"{said}; {live.describe()}"


def _before_last_step(recorded: DeployedRelease) -> tuple[dict[Track, tuple[str, str]], ...]:
    """What the Deployments carried before the last recorded step: an update that failed
    halfway may have recorded its outputs while the cluster still runs (part of) that."""
    log = recorded.log
    if len(log) < 2 or log[-1].phase != recorded.phase.value:
        return ()
    try:
        phase = Phase(log[-1].from_phase)
    except ValueError:
        return ()
    return (expected_annotations(phase, log[-2].stable_version, log[-2].canary_version),)


def _tag(version: EngineVersion | None) -> str | None:
    return version.tag if version is not None else None


def _back_only(
    recorded: DeployedRelease | None,
    desired: DesiredRelease,
    live: LiveRelease | None,
    reasons: tuple[str, ...],
) -> Guard:
    """Allowed: a step back from every source that says what is deployed (at least the
    rollback phase when none can say)."""
    sources: list[tuple[str, DeployedRelease | None]] = []
    if recorded is not None and recorded.phase_readable:
        sources.append(("the stack's outputs", recorded))
    live_release = live.as_deployed() if live is not None else None
    if live_release is not None:
        sources.append(("the cluster", live_release))
    problems: list[ConfigProblem] = []
    for name, source in sources:
        assert source is not None
        step = classify(source, desired)
        if step is None or not step.is_back:
            problems.append(_refusal(desired, reasons, f"from {name} (phase {source.phase.value})"))
            break
    if not sources and desired.phase is not Phase.ROLLBACK:
        problems.append(_refusal(desired, reasons, "with no readable phase: canaryPhase rollback"))
    basis = sources[0][1] if sources else recorded
    return Guard(
        basis=basis,
        back_only=reasons,
        problems=tuple(problems),
        judged_against=tuple(sources),
    )


def _refusal(desired: DesiredRelease, reasons: tuple[str, ...], back: str) -> ConfigProblem:
    return ConfigProblem(
        "canaryPhase",
        desired.phase.value,
        f"a step back {back}, the only steps taken while the deployed state is in doubt: "
        + "; ".join(reasons)
        + f" (set {ADOPTION_KEY} {{reason, approvedBy, ticket, expiresAt}} to take over the "
        "release the cluster runs)",
    )


def _adopt(
    recorded: DeployedRelease | None,
    live: LiveRelease | None,
    adoption: ReleaseOverride,
    in_doubt: bool,
    *,
    now: datetime,
) -> Guard:
    identity = f"{adoption.reason} (approved by {', '.join(adoption.approved_by)}" + (
        f", {adoption.ticket})" if adoption.ticket else ")"
    )
    if adoption.is_expired(now):
        problem = ConfigProblem(ADOPTION_KEY, adoption.as_record(), "an adoption not expired")
        return Guard(basis=recorded, problems=(problem,))
    if live is not None and live.unknown is not None:
        problem = ConfigProblem(
            ADOPTION_KEY,
            adoption.as_record(),
            f"a cluster to adopt the release from: {live.describe()}",
        )
        return Guard(basis=recorded, problems=(problem,))
    if not in_doubt:
        warning = (
            f"{ADOPTION_KEY} is set but the stack's outputs and the cluster agree: nothing to "
            "adopt; remove it"
        )
        return Guard(basis=recorded, warnings=(warning,))
    basis = live.as_deployed() if live is not None else None
    log = recorded.log if recorded is not None else ()
    if basis is not None:
        basis = DeployedRelease(
            phase=basis.phase,
            stable=basis.stable,
            canary=basis.canary,
            phase_since=None,  # unknown: a step that needs a soak waits for a recorded one
            log=log,
        )
    what = live.describe() if live is not None else "nothing (no cluster is read)"
    warning = f"{ADOPTION_KEY}: this step is judged against {what}, adopted: {identity}"
    return Guard(basis=basis, warnings=(warning,), adopted=f"adopted {what}: {identity}")
