"""Records each test's CPU for `make bench-tests` (harness.cpu_per_test) when
INVOLUTION_TEST_CPU names a file; otherwise it does nothing. Loaded by tests/conftest.py."""

from __future__ import annotations

import os
import time
from collections.abc import Generator

import pytest

from harness.cpu_per_test import RECORD_ENV, cpu_seconds, record_line

_RECORD = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """The file, taken out of the environment of the processes that run tests: a pytest they
    start (the fresh clone's) would record its tests too, whose CPU its parent already counts.
    An xdist controller keeps it for the workers it starts."""
    path = os.environ.get(RECORD_ENV)
    if not path:
        return
    config.stash[_RECORD] = path
    controller = bool(config.getoption("numprocesses", None)) and not hasattr(config, "workerinput")
    if not controller:
        del os.environ[RECORD_ENV]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, None, None]:
    path = item.config.stash.get(_RECORD, None)
    if path is None:
        yield
        return
    wall = time.monotonic()
    own, children = cpu_seconds()
    yield
    own_after, children_after = cpu_seconds()
    line = record_line(
        item.nodeid, time.monotonic() - wall, own_after - own, children_after - children
    )
    with open(path, "a", encoding="utf-8") as out:  # one short line: appends do not interleave
        out.write(line + "\n")
