"""The contract between the program and the policy pack: the facts both sides hold agree.

The pack keeps its own copy of the program's conventions on purpose (it judges the program's
output independently and imports nothing of it; `policies/involution_policies/names.py`).
These tests fail when one side changes a gate name, the ticket form, the approver rule, a
Service or upstream name, a port, a label or annotation key, or the phase table, and the
other does not: first constant against constant, then the pack's defaults and committed
configs against the constants, then the program's rendered resources against the pack.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from involution_policies import names as pack
from involution_policies.approvals import APPROVAL_SCHEMA, GATES_SCHEMA
from involution_policies.metadata import LABELS_SCHEMA
from involution_policies.nginx import split_weights, upstreams
from involution_policies.redis import NETPOL_SCHEMA, REDIS_SCHEMA
from involution_policies.resources import ENGINE_SCHEMA
from involution_policies.traffic import TRAFFIC_SCHEMA, WEIGHTS_SCHEMA

from harness.mockrun import MockRun
from harness.paths import PROJECT_DIR
from involution import names as program
from involution.config import release as settings
from involution.phases import Phase
from tests.conftest import canary_overrides, run_scenario

pytestmark = pytest.mark.policy

CONFIG_DIR = PROJECT_DIR / "policies" / "config"
ENVIRONMENTS = ("dev", "staging", "production")


def default(schema: dict[str, Any] | Any, key: str) -> Any:
    return schema[key]["default"]


def committed(environment: str, policy: str) -> dict[str, Any]:
    """The properties a committed policy config sets for a policy ({} when only a level)."""
    document = json.loads((CONFIG_DIR / f"{environment}.json").read_text())
    entry = document.get(policy, {})
    return (
        {k: v for k, v in entry.items() if k != "enforcementLevel"}
        if isinstance(entry, dict)
        else {}
    )


# ------------------------------------------------------------------ release rules -----


def test_gate_names() -> None:
    assert pack.GATE_NAMES == settings.GATE_NAMES
    assert len(pack.GATE_NAMES) == 6
    assert default(GATES_SCHEMA, "requiredGates") == list(settings.GATE_NAMES)


def test_ticket_pattern() -> None:
    assert settings.TICKET_PATTERN.pattern == pack.TICKET_PATTERN
    assert default(APPROVAL_SCHEMA, "ticketPattern") == settings.TICKET_PATTERN.pattern


def test_major_release_approvers() -> None:
    assert pack.MAJOR_RELEASE_APPROVERS == settings.MAJOR_RELEASE_APPROVERS == 2
    assert default(APPROVAL_SCHEMA, "majorReleaseApprovers") == settings.MAJOR_RELEASE_APPROVERS


def test_phase_table() -> None:
    """The canary shares and the phases with traffic are the program's phase table."""
    assert set(pack.CANARY_WEIGHTS) == {phase.canary_share for phase in Phase}
    assert default(WEIGHTS_SCHEMA, "allowedCanaryWeights") == list(pack.CANARY_WEIGHTS)
    traffic = tuple(phase.value for phase in Phase if phase.takes_traffic)
    assert traffic == pack.TRAFFIC_PHASES
    assert default(APPROVAL_SCHEMA, "trafficPhases") == list(traffic)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_committed_configs_keep_the_release_rules(environment: str) -> None:
    """An environment may relax a level, never redefine a fact the program relies on."""
    approval = committed(environment, "production-approval-recorded")
    assert approval.get("ticketPattern", pack.TICKET_PATTERN) == settings.TICKET_PATTERN.pattern
    approvers = approval.get("majorReleaseApprovers", pack.MAJOR_RELEASE_APPROVERS)
    assert approvers == settings.MAJOR_RELEASE_APPROVERS
    gates = committed(environment, "production-quality-gates")
    assert gates.get("requiredGates", list(pack.GATE_NAMES)) == list(settings.GATE_NAMES)
    for policy in ("canary-traffic-weights", "traffic-split-consistent"):
        props = committed(environment, policy)
        assert props.get("upstreamName", pack.UPSTREAM_NAME) == program.UPSTREAM_NAME
        assert props.get("stableHost", pack.STABLE_SERVICE) == program.STABLE_SERVICE
        assert props.get("canaryHost", pack.CANARY_SERVICE) == program.CANARY_SERVICE


# ------------------------------------------------------------------ names -----


def test_service_and_upstream_names() -> None:
    assert (pack.STABLE_SERVICE, pack.CANARY_SERVICE) == ("engine-stable", "engine-canary")
    assert pack.STABLE_SERVICE == program.STABLE_SERVICE == program.track_service_name("stable")
    assert pack.CANARY_SERVICE == program.CANARY_SERVICE == program.track_service_name("canary")
    assert pack.UPSTREAM_NAME == program.UPSTREAM_NAME
    assert pack.TRACKS == program.TRACKS
    assert default(WEIGHTS_SCHEMA, "upstreamName") == program.UPSTREAM_NAME
    assert default(WEIGHTS_SCHEMA, "stableHost") == program.STABLE_SERVICE
    assert default(WEIGHTS_SCHEMA, "canaryHost") == program.CANARY_SERVICE


def test_workload_names_and_ports() -> None:
    assert pack.ENGINE_NAME == program.ENGINE_NAME == default(ENGINE_SCHEMA, "engineName")
    assert pack.REDIS_NAME == program.REDIS_NAME
    assert pack.REDIS_PORT == program.REDIS_PORT
    assert default(REDIS_SCHEMA, "redisPorts") == [program.REDIS_PORT]
    assert default(REDIS_SCHEMA, "redisLabels") == {program.NAME_LABEL: program.REDIS_NAME}
    assert default(NETPOL_SCHEMA, "redisLabels") == {program.NAME_LABEL: program.REDIS_NAME}
    assert default(NETPOL_SCHEMA, "allowedClients") == [
        program.ENGINE_NAME,
        program.RESOLVER_NAME,
    ]


def test_label_and_annotation_keys() -> None:
    for key in (
        "NAME_LABEL",
        "INSTANCE_LABEL",
        "COMPONENT_LABEL",
        "PART_OF_LABEL",
        "MANAGED_BY_LABEL",
        "VERSION_LABEL",
        "TRACK_LABEL",
        "NGINX_CONF_CHECKSUM_ANNOTATION",
    ):
        assert getattr(pack, key) == getattr(program, key), key
    assert f"{program.ANNOTATION_PREFIX}/" == pack.ANNOTATION_PREFIX
    assert program.annotation("track") == pack.ANNOTATION_PREFIX + "track"
    assert default(TRAFFIC_SCHEMA, "checksumAnnotation") == program.NGINX_CONF_CHECKSUM_ANNOTATION
    assert default(LABELS_SCHEMA, "requiredLabels") == [
        program.NAME_LABEL,
        program.INSTANCE_LABEL,
        program.COMPONENT_LABEL,
        program.PART_OF_LABEL,
        program.MANAGED_BY_LABEL,
    ]


# ------------------------------------------------------------------ the rendered program -----


@pytest.fixture(scope="module")
def canary_run() -> MockRun:
    return run_scenario("production", canary_overrides("10"))


def _of_kind(run: MockRun, kind: str) -> list[dict[str, Any]]:
    return [dict(r.inputs) for r in run.resources if r.type.endswith(f":{kind}")]


def test_program_renders_the_upstream_the_pack_reads(canary_run: MockRun) -> None:
    hosts = {pack.STABLE_SERVICE: "stable", pack.CANARY_SERVICE: "canary"}
    confs = [
        cm["data"]["nginx.conf"]
        for cm in _of_kind(canary_run, "ConfigMap")
        if "nginx.conf" in (cm.get("data") or {})
    ]
    blocks = [block for conf in confs for block in upstreams(conf, pack.UPSTREAM_NAME)]
    assert len(blocks) == 1
    split = split_weights(blocks[0], hosts)
    assert split.problems == ()
    assert split.weights == {"stable": 90, "canary": 10}


def test_program_renders_the_services_and_labels_the_pack_reads(canary_run: MockRun) -> None:
    services = {s["metadata"]["name"]: s for s in _of_kind(canary_run, "Service")}
    assert {pack.STABLE_SERVICE, pack.CANARY_SERVICE} <= set(services)
    for service, track in ((pack.STABLE_SERVICE, "stable"), (pack.CANARY_SERVICE, "canary")):
        assert services[service]["spec"]["selector"][pack.TRACK_LABEL] == track
    redis_ports = [
        port["port"]
        for service in services.values()
        if service["spec"].get("selector", {}).get(pack.NAME_LABEL) == pack.REDIS_NAME
        for port in service["spec"]["ports"]
    ]
    assert redis_ports == [pack.REDIS_PORT]
    engines = [
        d
        for d in _of_kind(canary_run, "Deployment")
        if d["metadata"]["labels"].get(pack.NAME_LABEL) == pack.ENGINE_NAME
    ]
    assert sorted(d["metadata"]["labels"][pack.TRACK_LABEL] for d in engines) == [
        "canary",
        "stable",
    ]
    for deployment in engines:
        annotations = deployment["metadata"]["annotations"]
        assert f"{pack.ANNOTATION_PREFIX}track" in annotations
        assert set(json.loads(annotations[f"{pack.ANNOTATION_PREFIX}gates"])) == set(
            pack.GATE_NAMES
        )


# ------------------------------------------------------------------ pinned images -----

IMAGES = (
    "redis:7.4.1-alpine",
    "redis:7.4-alpine",
    "redis:7",
    "nginx:stable",
    "nginx:latest",
    "nginx:LATEST",
    "nginx",
    "registry.example.com:5000/team/engine:v1.2.3",
    "registry.example.com:5000/team/engine",
    "nginxinc/nginx-unprivileged:1.27.3-alpine",
    "involution-engine:v1.3.0-rc.1",
    f"involution-engine@sha256:{'a' * 64}",
    f"involution-engine:v1.2.2@sha256:{'b' * 64}",
)


def test_one_definition_of_a_pinned_image() -> None:
    """The program's `ImageRef.pin_problem` and the pack's `image-pinned` rule (at its
    defaults) accept and refuse the same images, for the same reason."""
    from involution_policies import images as pack_images

    from involution import images as program_images

    assert program_images.SEMVER_TAG.pattern == default(
        pack_images.IMAGE_PINNED_SCHEMA, "tagPattern"
    )
    assert sorted(program_images.FLOATING_TAGS) == default(
        pack_images.IMAGE_PINNED_SCHEMA, "forbiddenTags"
    )
    pattern = re.compile(default(pack_images.IMAGE_PINNED_SCHEMA, "tagPattern"))
    forbidden = set(default(pack_images.IMAGE_PINNED_SCHEMA, "forbiddenTags"))
    verdicts = {}
    for image in IMAGES:
        by_pack = pack_images.image_problem(image, pattern, forbidden, allow_digest=True)
        by_program = program_images.ImageRef.parse(image).pin_problem
        assert (by_pack is None) == (by_program is None), (image, by_pack, by_program)
        if by_program is not None:
            assert by_pack is not None and by_program in by_pack, (image, by_pack, by_program)
        verdicts[image] = by_program is None
    assert verdicts["redis:7.4.1-alpine"] and not verdicts["redis:7.4-alpine"]
    assert not verdicts["nginx:stable"] and not verdicts["nginx"]


@pytest.mark.parametrize(
    ("key", "image"), [("redisImage", "redis:7.4-alpine"), ("nginxImage", "nginx:stable")]
)
def test_the_program_refuses_at_config_time_what_the_pack_refuses_at_preview(
    key: str, image: str
) -> None:
    from involution.errors import ConfigError
    from involution.settings import parse_settings

    raw = {"environment": "dev", "stableVersion": "v1.2.2", key: image}
    with pytest.raises(ConfigError) as refused:
        parse_settings(raw, stack="dev")
    assert f"involution:{key} = {image!r}" in str(refused.value)
    assert "not a semver tag" in str(refused.value)


# ------------------------------------------------------------------ freeze windows -----

WEEKLY_WINDOWS = (
    "Fri 16:00 - Mon 08:00 Europe/Berlin",
    "Sat 22:00 - Sun 06:00 America/New_York",
    "Sun 01:30 - Sun 03:30 Europe/Berlin",  # opens or closes inside a changing hour
    "Fri 18:00 - Tue 09:00 Australia/Sydney",  # the southern hemisphere's changes
    "Mon 09:00 - Mon 08:00 Asia/Kolkata",  # six days and 23 hours, no DST at all
)
# Every half hour over the weeks of the 2027 changes in Europe, North America and Australia.
CHANGE_WEEKS = ("2027-03-06", "2027-03-24", "2027-04-01", "2027-10-01", "2027-10-27", "2027-10-30")


def test_pack_and_program_read_weekly_windows_alike_across_dst() -> None:
    """The pack's own reading of a weekly window (`freeze.weekly_stretch`) and the program's
    (`WeeklyWindow.covering`) agree on every instant, both from the tzdata package."""
    from involution_policies.freeze import weekly_stretch

    from involution.release.freeze import parse_weekly

    checked = 0
    for text in WEEKLY_WINDOWS:
        window = parse_weekly(text, "r", "freeze", text)
        for first in CHANGE_WEEKS:
            start = datetime.fromisoformat(f"{first}T00:00:00+00:00")
            for step in range(0, 7 * 48):
                moment = start + timedelta(minutes=30 * step)
                ours = window.covering(moment)
                theirs = weekly_stretch(text, "r", moment)
                assert (ours is None) == (theirs is None), (text, moment)
                if ours is not None and theirs is not None:
                    assert (ours.start, ours.end) == (theirs.start, theirs.end), (text, moment)
                    checked += 1
    assert checked > 1000


def test_forward_steps_and_override_approvers() -> None:
    from involution_policies.freeze import FREEZE_SCHEMA

    from involution.release.holds import FREEZE_OVERRIDE_APPROVERS
    from involution.release.path import FORWARD_STEPS

    assert (*(s.value for s in FORWARD_STEPS), "first-deployment") == pack.FORWARD_STEPS
    assert pack.FREEZE_OVERRIDE_APPROVERS == FREEZE_OVERRIDE_APPROVERS == 2
    assert default(FREEZE_SCHEMA, "forwardSteps") == list(pack.FORWARD_STEPS)
    assert default(FREEZE_SCHEMA, "overrideApprovers") == FREEZE_OVERRIDE_APPROVERS
    for environment in ENVIRONMENTS:
        steps = committed(environment, "release-freeze-respected").get("forwardSteps")
        assert steps in (None, list(pack.FORWARD_STEPS)), environment
    assert "overrideApprovers" not in committed("production", "release-freeze-respected")


def test_the_pack_reads_the_freeze_the_program_renders() -> None:
    from involution_policies.freeze import covering
    from involution_policies.kube import release_info

    windows = [
        {"weekly": "Fri 16:00 - Mon 08:00 Europe/Berlin", "reason": "weekend"},
        {"from": "2026-12-23T00:00:00+01:00", "to": "2027-01-04T08:00:00+01:00", "reason": "eoy"},
    ]
    run = run_scenario("production", {**canary_overrides("10"), "freeze": windows})
    stable = next(
        d
        for d in _of_kind(run, "Deployment")
        if d["metadata"]["labels"].get(pack.TRACK_LABEL) == "stable"
        and d["metadata"]["labels"].get(pack.NAME_LABEL) == pack.ENGINE_NAME
    )
    info = release_info(stable)
    assert info is not None and info.freeze is not None and info.step_at is not None
    recorded = json.loads(info.freeze)
    inside = datetime.fromisoformat("2026-12-24T12:00:00+00:00")
    assert [covering(w, inside) is not None for w in recorded] == [False, True]
    assert recorded[1] == {
        "from": "2026-12-22T23:00:00Z",
        "to": "2027-01-04T07:00:00Z",
        "reason": "eoy",
    }
