"""Real tools for the tests: found on PATH (or Debian's sbin), or the test fails in CI."""

from __future__ import annotations

import os
import shutil

import pytest

# Debian installs nginx in /usr/sbin, which a non-root PATH often lacks.
TOOL_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def in_ci() -> bool:
    """CI must run every layer: a missing tool there is a broken image, not a reason to skip."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def find_tool(name: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), *TOOL_DIRS])
    return shutil.which(name, path=path)


def require_tool(name: str, package: str) -> str:
    """The tool's path; without it, fail under CI=true and skip (saying how to get it) elsewhere."""
    found = find_tool(name)
    if found is not None:
        return found
    message = f"{name} not found: apt-get install -y {package} (as .ci/run does)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)
