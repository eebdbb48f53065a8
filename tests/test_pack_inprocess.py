"""The crafted violations of test_policies_violations, through the pack in this process: the
same policy reports the same message at the same level, and the compliant release and edits
stay clean. What coverage of policies/ is measured on."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import canary_overrides, run_scenario
from tests.pack_inprocess import Report, check, pack_policies
from tests.policy_harness import KNOWN_ADVISORIES, environment_config
from tests.test_policies_violations import CASES, COMPLIANT_EDITS, Case
from tools.policy_client import PackResource, resources_from_run

pytestmark = pytest.mark.policy

Resources = list[PackResource]


@pytest.fixture(scope="module")
def base() -> Resources:
    return resources_from_run(run_scenario("production", canary_overrides("10")))


def _known(policy: str, urn: str | None) -> bool:
    name = (urn or "").rsplit("::", 1)[-1] or "(stack)"
    return (policy, name) in KNOWN_ADVISORIES


def _run(resources: Resources, environment: str = "production") -> Report:
    return check(resources, environment_config(environment))


def test_compliant_release_is_clean_in_process(base: Resources) -> None:
    report = _run(base)
    assert [f for f in report.found if not _known(f.policy, f.urn)] == []


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.policy}:{case.expect[:40]}")
def test_violation_is_reported_in_process(base: Resources, case: Case) -> None:
    report = _run(case.change(base), case.environment)
    found = report.of(case.policy)
    assert any(case.expect in f.message for f in found), "\n".join(
        f"{f.policy}: {f.message}" for f in report.found
    )
    assert {f.level for f in found} == {case.level}


@pytest.mark.parametrize(("policy", "change"), COMPLIANT_EDITS)
def test_compliant_edit_passes_in_process(
    base: Resources, policy: str, change: Callable[[Resources], Resources]
) -> None:
    report = _run(change(base))
    assert [f.message for f in report.of(policy) if not _known(f.policy, f.urn)] == []


@pytest.mark.parametrize("stack", ["dev", "staging", "production"])
def test_each_stack_renders_clean_in_process(stack: str) -> None:
    report = _run(resources_from_run(run_scenario(stack)), stack)
    assert [f for f in report.found if f.level == "mandatory"] == []


def test_in_process_pack_describes_every_policy() -> None:
    assert {case.policy for case in CASES} == set(pack_policies())
