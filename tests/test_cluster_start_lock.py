"""Two xdist workers that both find the local cluster down start it once: the second waits on
the start lock (harness.cluster.local.start_lock), and a holder that dies frees it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.cluster.local import start_lock
from harness.paths import PROJECT_DIR

pytestmark = pytest.mark.unit

# A process that takes the lock, writes when it got it and when it let go, holding it `hold` s.
HOLDER = """
import sys, time
from pathlib import Path
from harness.cluster.local import start_lock
log, hold = Path(sys.argv[1]), float(sys.argv[2])
with start_lock():
    log.write_text(f"{time.time()}\\n")
    time.sleep(hold)
    with log.open("a") as f:
        f.write(f"{time.time()}\\n")
"""


def holder(log: Path, hold: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", HOLDER, str(log), str(hold)], cwd=PROJECT_DIR)


def interval(log: Path) -> tuple[float, float]:
    entered, left = (float(line) for line in log.read_text().split())
    return entered, left


def test_one_process_at_a_time_holds_it(tmp_path: Path) -> None:
    logs = [tmp_path / "a", tmp_path / "b"]
    with start_lock():
        children = [holder(log, 0.5) for log in logs]
        time.sleep(1.0)  # both started and blocked on the lock this test holds
        released = time.time()
        assert not any(log.exists() for log in logs)
    for child in children:
        assert child.wait(timeout=60) == 0
    (a_in, a_out), (b_in, _) = sorted(interval(log) for log in logs)
    assert a_in >= released
    assert b_in >= a_out  # the second entered only once the first had left


def test_a_holder_that_dies_frees_it(tmp_path: Path) -> None:
    log = tmp_path / "held"
    child = holder(log, 600)
    deadline = time.monotonic() + 60
    while not log.exists():
        assert child.poll() is None and time.monotonic() < deadline, "the holder never held it"
        time.sleep(0.05)
    got = threading.Event()

    def take() -> None:
        with start_lock():
            got.set()

    taker = threading.Thread(target=take, daemon=True)
    taker.start()
    assert not got.wait(0.5)  # held by the live child
    child.kill()
    child.wait(timeout=10)
    assert got.wait(10), "the lock stayed held after its holder was killed"
    taker.join(timeout=10)
