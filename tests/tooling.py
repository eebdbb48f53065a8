"""Real tools for the tests: found on PATH (or Debian's sbin), or the test fails in CI."""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

# Debian installs nginx in /usr/sbin, which a non-root PATH often lacks.
TOOL_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def in_ci() -> bool:
    """CI must run every layer: a missing tool there is a broken image, not a reason to skip."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def find_tool(name: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), *TOOL_DIRS])
    return shutil.which(name, path=path)


def missing(message: str) -> NoReturn:
    """The one way a test meets something absent: a failure under CI=true, a skip that says
    how to get it on a developer's machine."""
    if in_ci():
        pytest.fail(message)
    pytest.skip(message, allow_module_level=True)  # also from a module-level import


def require_tool(name: str, package: str) -> str:
    """The tool's path, or `missing`."""
    found = find_tool(name)
    if found is not None:
        return found
    missing(f"{name} not found: apt-get install -y {package} (as .ci/run does)")
