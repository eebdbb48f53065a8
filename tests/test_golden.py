"""Golden files: reviewers see in a diff what a change does to every stack and phase.

Regenerate with `make golden` (UPDATE_GOLDEN=1) and review the diff like code."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.golden import golden_document
from harness.mockrun import MockRun
from tests.conftest import STACKS, TRAFFIC_PHASES, canary_overrides

pytestmark = pytest.mark.unit

GOLDEN_DIR = Path(__file__).parent / "golden"
SCENARIOS: dict[str, tuple[str, dict[str, Any] | None]] = {
    **{stack: (stack, None) for stack in STACKS},
    **{f"production-phase-{p}": ("production", canary_overrides(p)) for p in TRAFFIC_PHASES},
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_golden(mocked: Callable[..., MockRun], scenario: str) -> None:
    stack, overrides = SCENARIOS[scenario]
    rendered = golden_document(mocked(stack, overrides))
    path = GOLDEN_DIR / f"{scenario}.yaml"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(rendered)
    assert path.exists(), f"{path} missing: run `make golden`"
    assert rendered == path.read_text(), f"{scenario} changed: run `make golden`, review the diff"
