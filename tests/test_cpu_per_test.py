"""`make bench-tests` reads each test's CPU (harness.cpu_per_test): tests/cpu_record.py, loaded
into a pytest of its own over two tests, counts a child's CPU to the test that started it and
a sleep as none, keeps the file from the tests' own processes, and records nothing unless
asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import cpu_per_test
from harness.paths import PROJECT_DIR

pytestmark = pytest.mark.unit

# A child that spins for 0.4 s of CPU, and a test that only waits as long.
TESTS = """
import os, subprocess, sys, time

SPIN = "import time\\nend = time.process_time() + 0.4\\nwhile time.process_time() < end: pass"

def test_spins_in_a_child():
    subprocess.run([sys.executable, "-c", SPIN], check=True)
    assert "INVOLUTION_TEST_CPU" not in os.environ

def test_sleeps():
    time.sleep(0.4)
"""


def run_pytest(
    folder: Path, record: Path | None, *, workers: int | None = None
) -> subprocess.CompletedProcess[str]:
    """The sample under tests/cpu_record.py: in one process, or on xdist `workers`."""
    (folder / "test_sample.py").write_text(TESTS)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
    env.pop(cpu_per_test.RECORD_ENV, None)
    if record is not None:
        env[cpu_per_test.RECORD_ENV] = str(record)
    plugins = ("tests.cpu_record", "no:cacheprovider", "no:cov")
    xdist = ["-p", "no:xdist"] if workers is None else ["-n", str(workers)]
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            *(f"-p{name}" for name in plugins),
            *xdist,
            "test_sample.py",
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_childs_cpu_counts_to_its_test_and_a_sleep_to_none(tmp_path: Path) -> None:
    record = tmp_path / "cpu.jsonl"
    result = run_pytest(tmp_path, record)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = record.read_text().splitlines()
    tests = {json.loads(line)["test"].split("::")[1]: json.loads(line) for line in lines}
    assert set(tests) == {"test_spins_in_a_child", "test_sleeps"}
    spun, slept = tests["test_spins_in_a_child"], tests["test_sleeps"]
    assert spun["children"] >= 0.35, spun
    assert spun["own"] < spun["children"], spun
    assert slept["wall"] >= 0.35 and slept["own"] + slept["children"] < 0.2, slept
    (module,) = cpu_per_test.by_module(lines)
    assert (module.module, module.tests) == ("test_sample.py", 2)
    assert module.cpu == pytest.approx(sum(t["own"] + t["children"] for t in tests.values()))


def test_under_xdist_the_controller_hands_the_file_to_its_workers(tmp_path: Path) -> None:
    record = tmp_path / "cpu.jsonl"
    result = run_pytest(tmp_path, record, workers=1)
    assert result.returncode == 0, result.stdout + result.stderr
    tests = [json.loads(line)["test"] for line in record.read_text().splitlines()]
    assert sorted(tests) == ["test_sample.py::test_sleeps", "test_sample.py::test_spins_in_a_child"]


def test_nothing_is_recorded_unless_asked(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not list(tmp_path.glob("*.jsonl"))


def test_modules_come_most_cpu_first() -> None:
    lines = [
        json.dumps({"test": "a.py::t1", "wall": 1, "own": 0.5, "children": 0.0}),
        "",
        json.dumps({"test": "b.py::t1", "wall": 1, "own": 0.1, "children": 2.0}),
        json.dumps({"test": "a.py::t2[x]", "wall": 1, "own": 0.5, "children": 0.25}),
    ]
    found = cpu_per_test.by_module(lines)
    assert [(m.module, m.tests, m.cpu) for m in found] == [("b.py", 1, 2.1), ("a.py", 2, 1.25)]
