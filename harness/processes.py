"""A command run to its end or to its deadline, and then killed with everything it started.

`subprocess.run(timeout=...)` kills only the process it started: a `pulumi up` past its deadline
leaves its language host, the program and the provider behind, still holding the stack's lock
and the cluster's attention. Run in a session of its own, the whole group goes.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

KILL_GRACE_SECONDS = 10.0


def run_bounded(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Like subprocess.run(capture_output=True, text=True, check=False); past `timeout` the
    process group gets SIGTERM, then SIGKILL, and TimeoutExpired carries what it printed."""
    process = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(input_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        stdout, stderr = _stop_group(process)
        raise subprocess.TimeoutExpired(list(argv), timeout, stdout, stderr) from None
    return subprocess.CompletedProcess(list(argv), process.returncode, stdout, stderr)


def _stop_group(process: subprocess.Popen[str]) -> tuple[str, str]:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            return process.communicate(timeout=KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            continue
    return process.communicate()
