"""A shifted clock for one `pulumi up`: libfaketime moves the program's time, nothing else.

Production soaks last days (24h, 24h, 72h floors); a test walks them by running the Python
program `offset` ahead. The engine (Go, which reads the clock without libc) keeps real time,
so the stack history's times stay real and the report's figures stay on one clock.
"""

from __future__ import annotations

import glob
import os
from datetime import timedelta

from harness.tooling import ToolMissing

LIBRARY_GLOB = "/usr/lib/*/faketime/libfaketime.so.1"


def faketime_library() -> str:
    found = sorted(glob.glob(LIBRARY_GLOB))
    if not found:
        raise ToolMissing(f"libfaketime not found ({LIBRARY_GLOB}): apt-get install -y faketime")
    return found[0]


def shifted_clock(offset: timedelta) -> dict[str, str]:
    """Environment for a process tree whose wall clock runs `offset` ahead (monotonic time,
    which timeouts use, is left alone)."""
    preload = " ".join(filter(None, [faketime_library(), os.environ.get("LD_PRELOAD", "")]))
    return {
        "LD_PRELOAD": preload,
        "FAKETIME": f"+{int(offset.total_seconds())}s",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_DONT_RESET": "1",
    }
