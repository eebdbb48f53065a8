"""harness.processes: a command past its deadline is killed with everything it started (a
`pulumi up` leaves its language host, program and provider otherwise)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from harness.processes import run_bounded

pytestmark = pytest.mark.unit


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie whose parent has not reaped it yet is gone for our purpose.
    state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    return state != "Z"


def test_a_command_past_its_deadline_takes_its_children_with_it(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = f"sleep 300 & echo $! > {pid_file}; echo started; wait"
    with pytest.raises(subprocess.TimeoutExpired) as raised:
        run_bounded(["bash", "-c", script], cwd=tmp_path, env=dict(os.environ), timeout=1.0)
    assert "started" in str(raised.value.stdout)
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child), f"sleep {child} outlived its parent's deadline"


def test_a_command_within_its_deadline_answers_as_subprocess_run(tmp_path: Path) -> None:
    result = run_bounded(
        ["bash", "-c", "read line; echo out:$line; echo err >&2; exit 3"],
        cwd=tmp_path,
        env=dict(os.environ),
        timeout=30,
        input_text="hello\n",
    )
    assert (result.returncode, result.stdout, result.stderr) == (3, "out:hello\n", "err\n")
