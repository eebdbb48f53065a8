"""Which config change each verb of the `involution` command makes, from what is deployed.

Pure: the deployed state is the stack's outputs; the result is the keys to set or remove.
`pulumi up` then judges the step on the release path as it would for a hand-made change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from involution.phases import Phase
from involution.versions import EngineVersion, VersionError


class NothingToDoError(Exception):
    """The verb does not apply to the deployed phase; the message says what does."""


class BadArgumentError(Exception):
    """A verb's argument is not acceptable (e.g. not a version tag)."""


@dataclass(frozen=True)
class ConfigChange:
    """Keys to set (a value) or remove (None), and the message recorded with the update."""

    changes: Mapping[str, str | None]
    message: str
    label: str = field(default="")


class UnreadableOutputError(Exception):
    """The stack's `phase` output exists but is not a phase: only a rollback is taken."""


def deployed_phase(outputs: Mapping[str, Any]) -> Phase:
    """The deployed phase; `none` for a stack never deployed. An output that cannot be read
    raises: no step forward is computed from a guess."""
    if not outputs:
        return Phase.NONE
    value = outputs.get("phase")
    try:
        return Phase(value)
    except ValueError:
        allowed = ", ".join(p.value for p in Phase)
        raise UnreadableOutputError(
            f"the stack's last output phase = {value!r} is not a phase ({allowed}): only "
            "`involution rollback` (canaryPhase rollback) is taken until an update records one"
        ) from None


def start(outputs: Mapping[str, Any], version: str) -> ConfigChange:
    try:
        tag = EngineVersion.parse(version).tag
    except VersionError as error:
        raise BadArgumentError(str(error)) from None
    phase = deployed_phase(outputs)
    if phase.has_canary_pods:
        raise NothingToDoError(
            f"a canary of {outputs.get('canaryVersion')} is live at phase {phase.value}: "
            "advance, promote or roll it back first"
        )
    changes: dict[str, str | None] = {"canaryVersion": tag, "canaryPhase": Phase.P10.value}
    if phase is Phase.ROLLBACK and outputs.get("canaryVersion") != tag:
        raise NothingToDoError(
            f"the rolled-back canary {outputs.get('canaryVersion')} is still recorded: close it "
            "first (`pulumi config rm involution:canaryVersion`, canaryPhase none) or retry it"
        )
    return ConfigChange(changes, f"start the canary of {tag} at 10%", "start")


def advance(outputs: Mapping[str, Any]) -> ConfigChange:
    phase = deployed_phase(outputs)
    if phase is Phase.P100:
        raise NothingToDoError("the canary serves 100%: the next step is `involution promote`")
    if phase in (Phase.NONE, Phase.ROLLBACK) or phase.advance is None:
        raise NothingToDoError(
            f"nothing to advance: no canary is live (phase {phase.value}); "
            "`involution start VERSION` starts one"
        )
    forward = phase.advance
    return ConfigChange(
        {"canaryPhase": forward.value},
        f"advance {outputs.get('canaryVersion')} from {phase.value} to {forward.value}",
        "advance",
    )


def promote(outputs: Mapping[str, Any]) -> ConfigChange:
    phase = deployed_phase(outputs)
    canary = outputs.get("canaryVersion")
    if phase is not Phase.P100 or not canary:
        raise NothingToDoError(
            f"nothing to promote: the canary must serve 100% first (phase {phase.value})"
        )
    return ConfigChange(
        {"stableVersion": str(canary), "canaryVersion": None, "canaryPhase": Phase.NONE.value},
        f"promote {canary} to stable",
        "promote",
    )


def rollback(outputs: Mapping[str, Any], *, staged: bool) -> ConfigChange:
    try:
        phase = deployed_phase(outputs)
    except UnreadableOutputError:
        return ConfigChange(
            {"canaryPhase": Phase.ROLLBACK.value},
            f"rollback of {outputs.get('canaryVersion')} from an unreadable phase",
            "rollback",
        )
    if not phase.has_canary_pods:  # shadow, 10, 50, 100
        raise NothingToDoError(
            f"nothing to roll back: no canary takes traffic (phase {phase.value})"
        )
    target = phase.step_back if staged else Phase.ROLLBACK
    assert target is not None
    what = "staged rollback" if staged else "rollback"
    return ConfigChange(
        {"canaryPhase": target.value},
        f"{what} of {outputs.get('canaryVersion')} from {phase.value} to {target.value}",
        "rollback",
    )


def close(outputs: Mapping[str, Any]) -> ConfigChange:
    """End a rolled-back release: its canary removed, phase none (the path's `close`)."""
    phase = deployed_phase(outputs)
    if phase is not Phase.ROLLBACK:
        raise NothingToDoError(
            f"nothing to close: only a rolled-back canary is closed (phase {phase.value}); "
            "`involution rollback` first"
        )
    return ConfigChange(
        {"canaryVersion": None, "canaryPhase": Phase.NONE.value},
        f"close the rolled-back canary {outputs.get('canaryVersion')}",
        "close",
    )
