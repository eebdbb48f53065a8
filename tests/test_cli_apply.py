"""ReleaseStack.stage and apply, the step's config change and its way back, on a recorded
command runner: the previous values they return, one `config rm-all` (and for apply one
`config set-all`; a step's sets go with its `pulumi up --config`), and a change that would
touch a secret refused before any command."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cli.workspace import ReleaseStack

pytestmark = pytest.mark.unit

LISTED = {
    "involution:canaryPhase": {"value": "10", "secret": False},
    "involution:canaryVersion": {"value": "v1.3.0", "secret": False},
    "involution:redisPassword": {"secret": True},
    "aws:region": {"value": "eu-west-1", "secret": False},
}


class Recorded(ReleaseStack):
    """Every `pulumi` command recorded, `config --json` answered with LISTED."""

    def __init__(self) -> None:
        super().__init__(name="dev", stack=None)  # type: ignore[arg-type]
        self.commands: list[tuple[str, ...]] = []

    def _pulumi(self, *args: str, on_output: Any = None, env: Any = None) -> Any:
        self.commands.append(args)

        class Result:
            stdout = json.dumps(LISTED)

        return Result()


def test_config_leaves_secrets_out_and_asks_for_none() -> None:
    stack = Recorded()
    assert stack.config() == {"canaryPhase": "10", "canaryVersion": "v1.3.0"}
    assert stack.commands == [("config", "--json")]


def test_apply_returns_what_it_changed_for_restore(monkeypatch: pytest.MonkeyPatch) -> None:
    stack = Recorded()
    set_all: list[dict[str, Any]] = []
    removed: list[list[str]] = []

    class Api:
        def set_all_config(self, values: dict[str, Any]) -> None:
            set_all.append({key: value.value for key, value in values.items()})

        def remove_all_config(self, keys: list[str]) -> None:
            removed.append(keys)

    monkeypatch.setattr(stack, "stack", Api())
    previous = stack.apply({"canaryPhase": "50", "canaryVersion": None, "releaseReason": "go"})
    assert previous == {"canaryPhase": "10", "canaryVersion": "v1.3.0", "releaseReason": None}
    assert set_all == [{"involution:canaryPhase": "50", "involution:releaseReason": "go"}]
    assert removed == [["involution:canaryVersion"]]


def test_stage_removes_now_and_leaves_the_sets_to_the_update(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = Recorded()
    removed: list[list[str]] = []

    class Api:
        def set_all_config(self, values: dict[str, Any]) -> None:
            raise AssertionError("stage sets nothing: `pulumi up --config` does")

        def remove_all_config(self, keys: list[str]) -> None:
            removed.append(keys)

    monkeypatch.setattr(stack, "stack", Api())
    changes = {"canaryPhase": "50", "canaryVersion": None, "releaseReason": "go"}
    previous, pending = stack.stage(changes)
    assert previous == {"canaryPhase": "10", "canaryVersion": "v1.3.0", "releaseReason": None}
    assert pending == {"canaryPhase": "50", "releaseReason": "go"}
    assert removed == [["involution:canaryVersion"]]


def test_a_change_to_a_secret_is_refused_before_any_change() -> None:
    stack = Recorded()
    with pytest.raises(ValueError, match="redisPassword"):
        stack.apply({"redisPassword": "x", "canaryPhase": "50"})
    assert stack.commands == [("config", "--json")]
