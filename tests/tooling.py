"""Real tools for the tests: found on PATH (or Debian's sbin), or the test fails in CI.

The lookup is harness.tooling's (benchmarks share it); what a test does when something is
absent is decided here, once.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import NoReturn, TypeVar

import pytest

from harness.tooling import ToolMissing, find_tool, in_ci, tool_path

__all__ = ["find_tool", "ignores_sigint", "in_ci", "missing", "or_missing", "require_tool"]

T = TypeVar("T")


def missing(message: str) -> NoReturn:
    """The one way a test meets something absent: a failure under CI=true, a skip that says
    how to get it on a developer's machine."""
    if in_ci():
        pytest.fail(message)
    pytest.skip(message, allow_module_level=True)  # also from a module-level import


def or_missing(action: Callable[[], T]) -> T:
    """`action()`, with a harness ToolMissing turned into `missing`."""
    try:
        return action()
    except ToolMissing as absent:
        missing(str(absent))


def require_tool(name: str, package: str) -> str:
    """The tool's path, or `missing`."""
    return or_missing(lambda: tool_path(name, package))


def ignores_sigint(sigign_line: str) -> bool:
    """Whether a `SigIgn:` line of /proc/<pid>/status has SIGINT in its mask."""
    return bool(int(sigign_line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
