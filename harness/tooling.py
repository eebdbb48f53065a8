"""Real tools found on PATH (or Debian's sbin), for the tests, the tools and the benchmarks."""

from __future__ import annotations

import os
import shutil

# Debian installs nginx in /usr/sbin, which a non-root PATH often lacks.
TOOL_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")


class ToolMissing(RuntimeError):  # noqa: N818 (reads as what happened, like FileNotFoundError)
    """Something a run needs is absent; the message says how to get it."""


def in_ci() -> bool:
    """CI must run every layer: a missing tool there is a broken image, not a reason to skip."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def find_tool(name: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), *TOOL_DIRS])
    return shutil.which(name, path=path)


def tool_path(name: str, package: str) -> str:
    """The tool's path, or ToolMissing naming the Debian package that provides it."""
    found = find_tool(name)
    if found is None:
        raise ToolMissing(f"{name} not found: apt-get install -y {package} (as .ci/run does)")
    return found
