"""`make bench-tests` names what failed in a run it timed (benchmarks.tests.failure_summary):
its figures are only the suite's when every run passed."""

from __future__ import annotations

import pytest

from benchmarks.tests import failure_summary

pytestmark = pytest.mark.unit

PYTEST_FAILED = """\
venv/bin/python -m pytest -q -n 0 -m engine tests
........F...........
=========================== short test summary info ============================
FAILED tests/test_cli.py::test_watch_rolls_a_failing_canary_back_by_itself - AssertionError
ERROR tests/test_engine.py::test_status - RuntimeError: pulumi exited 255
1 failed, 55 passed, 1 error, 1302 deselected in 186.50s (0:03:06)
"""


def test_pytest_failures_and_counts_are_named() -> None:
    assert failure_summary(PYTEST_FAILED) == (
        "FAILED tests/test_cli.py::test_watch_rolls_a_failing_canary_back_by_itself"
        " - AssertionError; ERROR tests/test_engine.py::test_status - RuntimeError: pulumi"
        " exited 255; 1 failed, 55 passed, 1 error, 1302 deselected in 186.50s (0:03:06)"
    )


def test_without_pytest_the_last_line_is_kept() -> None:
    output = "venv/bin/ruff check .\nprogram/deploy.py:3:1: F401 unused import\nFound 1 error.\n"
    assert failure_summary(output) == "Found 1 error."


def test_a_passing_run_says_its_counts() -> None:
    output = "....\n4 passed in 1.00s\n"
    assert failure_summary(output) == "4 passed in 1.00s"
    assert failure_summary("") == ""
