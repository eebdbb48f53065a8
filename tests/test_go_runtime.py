"""The suite's Go runtime setting: short-lived engine processes get it, daemons do not, and a
caller's own setting is never replaced or dropped."""

from __future__ import annotations

import pytest

from harness.engine import go_runtime

pytestmark = pytest.mark.unit


def test_the_suite_setting_reaches_short_lived_processes_and_not_daemons() -> None:
    environ = {"PATH": "/usr/bin"}
    go_runtime.for_short_lived(environ)
    assert environ["GOGC"] == "off"
    assert environ["GOMEMLIMIT"] == "1GiB"
    assert go_runtime.for_daemons(environ) == {"PATH": "/usr/bin"}


@pytest.mark.parametrize("own", [{"GOGC": "200"}, {"GOMEMLIMIT": "512MiB"}])
def test_a_callers_own_setting_is_kept_for_both(own: dict[str, str]) -> None:
    environ = {"PATH": "/usr/bin", **own}
    go_runtime.for_short_lived(environ)
    assert environ == {"PATH": "/usr/bin", **own}
    assert go_runtime.for_daemons(environ) == environ
