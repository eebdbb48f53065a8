"""A test run killed before its cleanup leaves its namespaces on the local cluster; the next run
deletes them (their pods would hold the node's capacity) and nothing else."""

from __future__ import annotations

import os

import pytest

from harness.cluster.local import abandoned_runs, live_runs, run_namespace

pytestmark = pytest.mark.unit


def test_only_test_run_namespaces_of_gone_processes_are_abandoned() -> None:
    mine = run_namespace("pods")
    namespaces = [
        "default",
        "involution",  # a developer's `local` stack
        "involution-staging",
        "involution-team42",  # not a test run's purpose
        mine,
        "involution-watch77",
        "involution-ct123",
        "involution-pods123x",
    ]
    assert abandoned_runs(namespaces, live={os.getpid() % 100000, 123}) == ["involution-watch77"]


def test_this_process_counts_as_live() -> None:
    assert os.getpid() % 100000 in live_runs()
    assert abandoned_runs([run_namespace("ct")], live_runs()) == []


def test_an_unknown_purpose_is_refused() -> None:
    with pytest.raises(ValueError, match="purpose 'x': one of ct, pods, watch"):
        run_namespace("x")
