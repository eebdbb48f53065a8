"""The suite's own Pulumi home (harness/engine/pulumi_home.py): made once per run, reused by
the processes the run starts, sharing only the user's plugin cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.engine import pulumi_home

pytestmark = pytest.mark.unit


def test_a_private_home_shares_the_users_plugins_only(tmp_path: Path) -> None:
    user = tmp_path / "user-home"
    (user / "plugins" / "resource-kubernetes-v4.25.0").mkdir(parents=True)
    (user / "logs").mkdir()
    environ = {"PULUMI_HOME": str(user)}
    home = pulumi_home.use_private_home(environ)
    assert environ["PULUMI_HOME"] == str(home) != str(user)
    assert (home / "plugins").resolve() == (user / "plugins").resolve()
    assert (home / "plugins" / "resource-kubernetes-v4.25.0").is_dir()
    assert sorted(p.name for p in home.iterdir()) == ["plugins"]  # no logs of the user's


def test_a_process_of_the_run_reuses_its_parents_home(tmp_path: Path) -> None:
    environ = {"PULUMI_HOME": str(tmp_path / "user-home")}
    home = pulumi_home.use_private_home(environ)
    child = dict(environ)  # what a worker inherits
    assert pulumi_home.use_private_home(child) == home
    assert child == environ


def test_a_home_of_the_caller_that_only_looks_like_ours_is_not_reused(tmp_path: Path) -> None:
    """The mark alone (a home set by somebody else since, or removed) makes a new one."""
    user = tmp_path / "user-home"
    environ = {"PULUMI_HOME": str(user), pulumi_home.MARK: str(tmp_path / "gone")}
    home = pulumi_home.use_private_home(environ)
    assert home != tmp_path / "gone"
    assert (home / "plugins").resolve() == (user / "plugins").resolve()


def test_without_pulumi_home_the_users_home_is_the_passwd_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOME", "/nonexistent")
    assert pulumi_home.user_home({}).name == ".pulumi"
    assert not str(pulumi_home.user_home({})).startswith("/nonexistent")
