"""The phase table (docs/architecture.md, Phases): traffic weights and replica counts."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Phase(enum.Enum):
    """Values of `canaryPhase`, in the order a release walks them."""

    NONE = "none"
    # The canary gets a copy of the requests (nginx `mirror`), every answer is stable's.
    SHADOW = "shadow"
    P10 = "10"
    P50 = "50"
    P100 = "100"
    ROLLBACK = "rollback"

    @property
    def canary_share(self) -> int:
        """Percent of requests the canary serves."""
        return _CANARY_SHARE[self]

    @property
    def takes_traffic(self) -> bool:
        """True when the canary sees requests (answers them, or gets their mirrored copies
        at `shadow`), so release checks apply."""
        return self.canary_share > 0 or self is Phase.SHADOW

    @property
    def has_canary_pods(self) -> bool:
        """The canary Deployment has pods: shadow, 10, 50 and 100."""
        return self in CANARY_POD_PHASES

    @property
    def advance(self) -> Phase | None:
        """The next phase forward; at 100 the next step is promotion, not a phase."""
        return _ADVANCE.get(self)

    @property
    def step_back(self) -> Phase | None:
        """The staged rollback walks 100 -> 50 -> 10 -> rollback."""
        return _STEP_BACK.get(self)


ALLOWED_PHASES = ", ".join(p.value for p in Phase)

CANARY_POD_PHASES = (Phase.SHADOW, Phase.P10, Phase.P50, Phase.P100)
_CANARY_SHARE = {
    Phase.NONE: 0,
    Phase.SHADOW: 0,
    Phase.P10: 10,
    Phase.P50: 50,
    Phase.P100: 100,
    Phase.ROLLBACK: 0,
}
# `shadow` is optional: a release may start at 10 or at shadow; shadow's next step is 10.
_ADVANCE = {
    Phase.NONE: Phase.P10,
    Phase.SHADOW: Phase.P10,
    Phase.P10: Phase.P50,
    Phase.P50: Phase.P100,
}
_STEP_BACK = {
    Phase.P100: Phase.P50,
    Phase.P50: Phase.P10,
    Phase.P10: Phase.ROLLBACK,
    Phase.SHADOW: Phase.ROLLBACK,
}


@dataclass(frozen=True)
class PhasePlan:
    """What one phase means for the cluster. `canary_replicas is None` means no canary at all."""

    phase: Phase
    stable_weight: int
    canary_weight: int
    stable_replicas: int
    canary_replicas: int | None

    @property
    def has_canary(self) -> bool:
        return self.canary_replicas is not None


def plan_phase(phase: Phase, engine_replicas: int) -> PhasePlan:
    """Apply the phase table to a stable capacity of `engine_replicas` pods."""
    if engine_replicas < 1:
        raise ValueError(f"engine_replicas must be >= 1, got {engine_replicas}")
    share = phase.canary_share
    canary_replicas: int | None
    if phase is Phase.NONE:
        canary_replicas = None
    elif phase is Phase.ROLLBACK:
        canary_replicas = 0
    elif phase is Phase.P100:
        canary_replicas = engine_replicas
    elif phase is Phase.SHADOW:
        # Sized as at 10: a copy of every request must not overload fewer pods than that.
        canary_replicas = max(1, -(-engine_replicas * Phase.P10.canary_share // 100))
    else:
        # Integer ceiling: floats would make ceil(N x 0.10) depend on rounding.
        canary_replicas = max(1, -(-engine_replicas * share // 100))
    return PhasePlan(
        phase=phase,
        stable_weight=100 - share,
        canary_weight=share,
        stable_replicas=engine_replicas,
        canary_replicas=canary_replicas,
    )
