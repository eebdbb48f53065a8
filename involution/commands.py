"""The exact commands an operator runs next, exported so `pulumi up` output says them."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime

from involution.contract import NAMESPACE
from involution.phases import Phase
from involution.release.state import rfc3339
from involution.settings import Settings


@dataclass(frozen=True)
class NextCommands:
    """Forward, immediate rollback, and one step of the staged rollback (100 -> 50 -> 10)."""

    advance: str
    rollback: str
    staged_rollback: str
    # When `advance` is allowed: `now`, or the end of the phase's soak.
    advance_allowed: str = "now"

    def as_output(self) -> dict[str, str]:
        return {
            "advance": self.advance,
            "advanceAllowed": self.advance_allowed,
            "rollback": self.rollback,
            "stagedRollback": self.staged_rollback,
        }


Step = tuple[str, ...]


def _shell(stack: str, *steps: Step) -> str:
    """`pulumi config ...` steps then `pulumi up`, each argument quoted for a POSIX shell."""
    commands = [["pulumi", "config", step[0], "--stack", stack, *step[1:]] for step in steps]
    commands.append(["pulumi", "up", "--stack", stack])
    return " && ".join(shlex.join(command) for command in commands)


def _set(key: str, value: str) -> Step:
    return ("set", f"{NAMESPACE}:{key}", value)


def _rm(key: str) -> Step:
    return ("rm", f"{NAMESPACE}:{key}")


def next_commands(
    settings: Settings, soak_until: datetime | None = None, *, now: datetime | None = None
) -> NextCommands:
    """What to run next; `soak_until` (with `now`) says when `advance` becomes allowed."""
    stack = settings.stack
    phase = settings.phase
    canary = settings.canary_version
    rollback = _shell(stack, _set("canaryPhase", "rollback"))
    if phase is Phase.NONE:
        start = (
            _shell(stack, _set("canaryPhase", "10"))
            if canary
            else _shell(stack, _set("canaryVersion", "<vX.Y.Z>"), _set("canaryPhase", "10"))
        )
        idle = "nothing to roll back: no canary takes traffic"
        return NextCommands(advance=start, rollback=idle, staged_rollback=idle)
    if phase is Phase.ROLLBACK:
        close = _shell(stack, _rm("canaryVersion"), _set("canaryPhase", "none"))
        done = "already rolled back: the stable track serves all traffic"
        return NextCommands(advance=close, rollback=done, staged_rollback=done)
    assert canary is not None  # a traffic phase without canaryVersion is a config error
    forward = phase.advance
    advance = (
        _shell(stack, _set("canaryPhase", forward.value))
        if forward is not None
        else _shell(  # at 100 the next step is promotion: the canary becomes stable
            stack,
            _set("stableVersion", canary.tag),
            _rm("canaryVersion"),
            _set("canaryPhase", "none"),
        )
    )
    back = phase.step_back
    assert back is not None
    allowed = "now"
    if soak_until is not None and (now is None or soak_until > now):
        allowed = f"from {rfc3339(soak_until)}, when the soak of phase {phase.value} ends"
    return NextCommands(
        advance=advance,
        rollback=rollback,
        staged_rollback=_shell(stack, _set("canaryPhase", back.value)),
        advance_allowed=allowed,
    )
