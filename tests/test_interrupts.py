"""A process started with SIGINT ignored (a background job of a shell without job control)
starts its children with SIGINT at its default, and stays deaf to it itself: the engine's
plugins then close when `pulumi` sends them SIGINT, instead of after its 5 s wait
(cli/interrupts.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.paths import PROJECT_DIR
from tests.tooling import ignores_sigint

pytestmark = pytest.mark.unit

CHILD_IGNORES_SIGINT = (
    "import signal, subprocess, sys\n"
    "{call}"
    "child = 'import signal; print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)'\n"
    "print(subprocess.run([sys.executable, '-c', child], capture_output=True, text=True)"
    ".stdout.strip())\n"
)
CALL = "from cli.interrupts import let_children_hear_sigint\nlet_children_hear_sigint()\n"


def _run_deaf(
    argv: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`argv` started as a shell starts a background job: SIGINT ignored (by coreutils' `env`:
    a `preexec_fn` forks this process, whose gRPC threads crash such a child)."""
    return subprocess.run(
        ["env", "--ignore-signal=INT", *argv],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT_DIR,
        env=env,
    )


@pytest.mark.parametrize(("call", "child_ignores"), [("", "True"), (CALL, "False")])
def test_children_of_a_deaf_process_hear_sigint_once_it_is_handled(
    call: str, child_ignores: str
) -> None:
    result = _run_deaf([sys.executable, "-c", CHILD_IGNORES_SIGINT.format(call=call)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == child_ignores


def test_the_process_itself_stays_deaf_to_sigint() -> None:
    script = CALL + "import os, signal\nos.kill(os.getpid(), signal.SIGINT)\nprint('still here')"
    result = _run_deaf([sys.executable, "-c", script])
    assert (result.returncode, result.stdout.strip()) == (0, "still here"), result.stderr


def test_a_process_that_hears_sigint_is_left_as_it_is() -> None:
    script = (
        CALL + "import signal\nprint(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT_DIR,
    )
    assert result.stdout.strip() == "True", result.stderr


def test_the_involution_command_started_deaf_gives_its_engine_sigint(tmp_path: Path) -> None:
    """The engine the command starts is a probe here that records the signals it ignores."""
    record = tmp_path / "sigign"
    probe = tmp_path / "bin" / "pulumi"
    probe.parent.mkdir()
    probe.write_text(f'#!/bin/sh\ngrep SigIgn /proc/$$/status >> "{record}"\nexit 3\n')
    probe.chmod(0o755)
    env = {
        **os.environ,
        "INVOLUTION_PULUMI_ROOT": str(tmp_path),
        "INVOLUTION_PROJECT_DIR": str(tmp_path),
    }
    _run_deaf([sys.executable, "-m", "involution", "status", "--stack", "dev"], env=env)
    lines = record.read_text().splitlines()
    assert lines, "the command started no engine"
    assert not any(ignores_sigint(line) for line in lines), lines
