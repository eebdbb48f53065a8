"""Reading the stack's outputs from an update's engine events (cli/update_events.py): the
last outputs of the stack resource, and none (so the engine is asked) when the log cannot say."""

from __future__ import annotations

import json

import pytest

from cli.update_events import STACK_TYPE, stack_outputs

pytestmark = pytest.mark.unit


def outputs_event(kind: str, outputs: dict[str, object]) -> str:
    metadata = {"op": "same", "type": kind, "new": {"outputs": outputs}}
    return json.dumps({"sequence": 1, "resOutputsEvent": {"metadata": metadata}})


def test_the_stack_resources_last_outputs_are_read() -> None:
    lines = [
        json.dumps({"sequence": 0, "preludeEvent": {"config": {}}}),
        outputs_event("kubernetes:core/v1:ConfigMap", {"phase": "not the stack's"}),
        outputs_event(STACK_TYPE, {"phase": "10"}),
        "",
        outputs_event(STACK_TYPE, {"phase": "50", "secretish": "[secret]"}),
        json.dumps({"sequence": 9, "summaryEvent": {}}),
    ]
    assert stack_outputs(lines) == {"phase": "50", "secretish": "[secret]"}


@pytest.mark.parametrize(
    "lines",
    [
        [],
        [outputs_event("kubernetes:core/v1:ConfigMap", {"phase": "10"})],
        [outputs_event(STACK_TYPE, {"phase": "10"}), '{"sequence": 3, "resOutputsEv'],
        [json.dumps({"resOutputsEvent": {"metadata": {"type": STACK_TYPE, "new": {}}}})],
    ],
    ids=["empty", "no-stack-outputs", "cut-short", "no-outputs"],
)
def test_a_log_that_cannot_say_gives_none(lines: list[str]) -> None:
    assert stack_outputs(lines) is None
