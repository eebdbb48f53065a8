"""The SDK's own debug messages are dropped before they cost a call to the engine; everyone
else's go (program.sdk_debug; tests/test_engine_sdk_debug.py runs it under the engine)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from program.sdk_debug import SDK_DEBUG_VARIABLE, quiet_sdk_debug

pytestmark = pytest.mark.unit


def sent_from(modules: list[str], environ: dict[str, str]) -> list[str]:
    """The messages `log.debug` passes on when each of `modules` calls it once."""
    sent: list[str] = []

    def debug(msg: str, *args: Any, **kwargs: Any) -> None:
        sent.append(msg)

    log = SimpleNamespace(debug=debug)
    quiet_sdk_debug(log, environ)
    for module in modules:
        exec("log.debug(f'from {__name__}')", {"__name__": module, "log": log})
    return sent


CALLERS = ["pulumi.runtime.resource", "pulumi", "program.cluster_check", "pulumi_kubernetes.x"]


def test_only_the_sdks_own_calls_are_dropped() -> None:
    assert sent_from(CALLERS, {}) == ["from program.cluster_check", "from pulumi_kubernetes.x"]


def test_the_variable_keeps_them_all() -> None:
    assert sent_from(CALLERS, {SDK_DEBUG_VARIABLE: "1"}) == [f"from {m}" for m in CALLERS]
    assert sent_from(CALLERS, {SDK_DEBUG_VARIABLE: "0"}) == sent_from(CALLERS, {})


def test_twice_is_once() -> None:
    log = SimpleNamespace(debug=lambda msg, *args, **kwargs: None)
    assert quiet_sdk_debug(log, {})
    quiet = log.debug
    assert not quiet_sdk_debug(log, {})
    assert log.debug is quiet
