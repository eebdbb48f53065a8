"""A shifted clock for one `pulumi up`: libfaketime moves the program's time, nothing else.

Production soaks last days (24h, 24h, 72h floors); a test walks them by running the Python
program `offset` ahead. The engine (Go, which reads the clock without libc) keeps real time,
so the stack history's times stay real and the report's figures stay on one clock.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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


@dataclass
class ProgramClock:
    """The program's clock over a series of `pulumi up`s: real time plus an offset that only
    grows, so a soak is passed by moving the clock past its end instead of waiting it out,
    and the program never sees time go back."""

    offset: timedelta = timedelta(0)

    def env(self) -> dict[str, str]:
        """Environment for the next run (none while the clock is not moved)."""
        return shifted_clock(self.offset) if self.offset else {}

    def move_past(self, moment: datetime, margin: timedelta = timedelta(seconds=1)) -> None:
        """From now on the program's clock reads later than `moment`."""
        self.offset = max(self.offset, moment - datetime.now(UTC) + margin)
