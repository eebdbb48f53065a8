"""The phase table of docs/architecture.md, exactly."""

from __future__ import annotations

import math

import pytest

from involution.phases import Phase, plan_phase

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("replicas", [1, 2, 3, 4, 6, 7, 10, 11, 20, 33])
def test_phase_table(replicas: int) -> None:
    none = plan_phase(Phase.NONE, replicas)
    assert (none.stable_weight, none.canary_weight) == (100, 0)
    assert none.canary_replicas is None and not none.has_canary

    ten = plan_phase(Phase.P10, replicas)
    assert (ten.stable_weight, ten.canary_weight) == (90, 10)
    assert ten.canary_replicas == max(1, math.ceil(replicas * 0.10 - 1e-9))

    half = plan_phase(Phase.P50, replicas)
    assert (half.stable_weight, half.canary_weight) == (50, 50)
    assert half.canary_replicas == max(1, math.ceil(replicas * 0.50))

    full = plan_phase(Phase.P100, replicas)
    assert (full.stable_weight, full.canary_weight) == (0, 100)
    assert full.canary_replicas == replicas

    rollback = plan_phase(Phase.ROLLBACK, replicas)
    assert (rollback.stable_weight, rollback.canary_weight) == (100, 0)
    assert rollback.canary_replicas == 0 and rollback.has_canary

    shadow = plan_phase(Phase.SHADOW, replicas)
    assert (shadow.stable_weight, shadow.canary_weight) == (100, 0)  # every answer stable's
    assert shadow.canary_replicas == ten.canary_replicas  # sized for the copies it gets

    for plan in (none, shadow, ten, half, full, rollback):
        assert plan.stable_replicas == replicas  # stable kept warm in every phase
        assert plan.stable_weight + plan.canary_weight == 100


def test_ten_percent_of_ten_is_exactly_one() -> None:
    # Float arithmetic would give ceil(10 * 0.1) = ceil(1.0000000000000002) = 2.
    assert plan_phase(Phase.P10, 10).canary_replicas == 1
    assert plan_phase(Phase.P10, 11).canary_replicas == 2


def test_walks_forward_and_back() -> None:
    assert [Phase.NONE.advance, Phase.P10.advance, Phase.P50.advance, Phase.P100.advance] == [
        Phase.P10,
        Phase.P50,
        Phase.P100,
        None,
    ]
    # The staged rollback of the release process: 100 -> 50 -> 10 -> 0.
    assert Phase.P100.step_back is Phase.P50
    assert Phase.P50.step_back is Phase.P10
    assert Phase.P10.step_back is Phase.ROLLBACK
    assert Phase.ROLLBACK.step_back is None
    assert Phase.SHADOW.advance is Phase.P10
    assert Phase.SHADOW.step_back is Phase.ROLLBACK
    assert Phase.SHADOW.takes_traffic and Phase.SHADOW.has_canary_pods
    assert not Phase.ROLLBACK.has_canary_pods


def test_replicas_below_one_are_refused() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        plan_phase(Phase.P10, 0)
