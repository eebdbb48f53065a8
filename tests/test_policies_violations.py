"""Every policy, through the pack process: a crafted violation is reported under the policy's
name at its enforcement level, and the compliant release next to it is not.

The base is what the program renders for production at canary phase 10; each case edits a
copy of those resources the way a bad change to the program or the stack would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import canary_overrides, run_scenario
from tests.policy_harness import (
    KNOWN_ADVISORIES,
    annotate,
    check,
    container,
    drop,
    edit,
    pod,
    set_upstream,
    shared_pack,
)
from tools.policy_client import (
    PackResource,
    PolicyPackProcess,
    PolicyReport,
    Violation,
    resources_from_run,
)

pytestmark = pytest.mark.policy

Resources = list[PackResource]
CANARY = "engine-canary-deployment"
STABLE = "engine-stable-deployment"
ROUTER_CONF = "engine-router-nginx-conf"
DIGEST = "sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def pack() -> PolicyPackProcess:
    return shared_pack()


@pytest.fixture(scope="module")
def base() -> Resources:
    return resources_from_run(run_scenario("production", canary_overrides("10")))


@pytest.fixture(scope="module")
def base_report(pack: PolicyPackProcess, base: Resources) -> PolicyReport:
    return check(pack, base)


@dataclass(frozen=True)
class Case:
    policy: str
    change: Callable[[Resources], Resources]
    expect: str  # a fragment of the reported message
    level: str = "mandatory"
    environment: str = "production"


def on(name: str, change: Callable[[dict[str, Any]], None]) -> Callable[[Resources], Resources]:
    return lambda resources: edit(resources, name, change)


def remove(*names: str) -> Callable[[Resources], Resources]:
    return lambda resources: drop(resources, *names)


def setter(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set a dotted path (`spec.replicas`); `c0.` is the first container, `pod.` the pod spec."""

    def change(props: dict[str, Any]) -> None:
        keys = path.split(".")
        if keys[0] == "c0":
            node: Any = container(props)
            keys = keys[1:]
        elif keys[0] == "pod":
            node = pod(props)
            keys = keys[1:]
        else:
            node = props
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value

    return change


def add_env(name: str, value: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(props: dict[str, Any]) -> None:
        container(props)["env"].append({"name": name, **value})

    return change


def approval(**fields: Any) -> str:
    import json

    record = {
        "approvedBy": ["ana.release", "raj.sre"],
        "ticket": "CHG-2041",
        "expiresAt": "2026-11-30T18:00:00+00:00",
        **fields,
    }
    return json.dumps(record)


def append_to(key: str, text: str) -> Callable[[dict[str, Any]], None]:
    def change(props: dict[str, Any]) -> None:
        props["data"][key] = props["data"].get(key, "") + text

    return change


# A Tuesday release-review window around the tests' clock (NOW, Tuesday 2026-11-24 13:00 CET).
REVIEW_DAY = '[{"weekly": "Tue 09:00 - Tue 18:00 Europe/Berlin", "reason": "release review"}]'


def stepped(
    step: str, taken_at: str, windows: str = REVIEW_DAY, override: str | None = None
) -> Callable[[Resources], Resources]:
    """The stable track as the program records a step taken at `taken_at` under `windows`."""

    def change(resources: Resources) -> Resources:
        for key, value in (
            ("freeze", windows),
            ("release-step", step),
            ("release-step-at", taken_at),
            ("release-override", override),
        ):
            if value is not None:
                resources = edit(resources, STABLE, annotate(key, value))
        return resources

    return change


def freeze_override(*approvers: str) -> str:
    import json

    return json.dumps(
        {
            "reason": "fix verified",
            "approvedBy": list(approvers),
            "ticket": "CHG-77",
            "expiresAt": "2026-11-24T18:00:00Z",
        }
    )


def without_track_alerts(
    track: str, rollback: str | None = None
) -> Callable[[dict[str, Any]], None]:
    def change(props: dict[str, Any]) -> None:
        for group in props["spec"]["groups"]:
            rules = group["rules"]
            if rollback is None:
                group["rules"] = [r for r in rules if r.get("labels", {}).get("track") != track]
            else:
                for rule in rules:
                    if rule.get("labels", {}).get("track") == track:
                        rule["labels"]["rollback"] = rollback

    return change


def ingress_from(peers: list[dict[str, Any]] | None) -> Callable[[dict[str, Any]], None]:
    def change(props: dict[str, Any]) -> None:
        rule = props["spec"]["ingress"][0]
        if peers is None:
            rule.pop("from")
        else:
            rule["from"] = peers

    return change


def same_image_as_stable(resources: Resources) -> Resources:
    stable = next(r for r in resources if r.name == STABLE)
    image = container(dict(stable.props))["image"]
    return edit(resources, CANARY, setter("c0.image", image))


CASES = [
    # release
    Case(
        "image-pinned", on(CANARY, setter("c0.image", "involution-engine:latest")), "floating tag"
    ),
    Case("image-pinned", on(CANARY, setter("c0.image", "involution-engine")), "untagged"),
    Case(
        "image-pinned",
        on("engine-router-deployment", setter("c0.image", "nginxinc/nginx-unprivileged:1.27")),
        "not a semver tag",
    ),
    Case(
        "image-pinned",
        on(CANARY, setter("c0.image", "involution-engine@sha256:123")),
        "malformed digest",
    ),
    Case(
        "no-prerelease-in-production",
        lambda rs: edit(
            edit(rs, CANARY, annotate("version", "v1.3.0-rc.1")),
            CANARY,
            setter("c0.image", "involution-engine:v1.3.0-rc.1"),
        ),
        "pre-release v1.3.0-rc.1",
    ),
    Case(
        "no-prerelease-in-production",
        on("redis-deployment", setter("c0.image", "redis:7.4.1-beta.2")),
        "is a pre-release (beta)",
    ),
    Case(
        "production-approval-recorded",
        on(CANARY, annotate("approval", "null")),
        "no approval recorded for the minor canary v1.3.0 at phase 10",
    ),
    Case(
        "production-approval-recorded",
        on(CANARY, annotate("approval", approval(expiresAt="2026-11-20T00:00:00Z"))),
        "expired at 2026-11-20T00:00:00+00:00",
    ),
    Case(
        "production-approval-recorded",
        on(CANARY, annotate("approval", approval(expiresAt="2026-11-30T18:00:00"))),
        "no expiry with a time zone",
    ),
    Case(
        "production-approval-recorded",
        lambda rs: edit(
            edit(rs, CANARY, annotate("release-type", "major")),
            CANARY,
            annotate("approval", approval(approvedBy=["ana.release"])),
        ),
        "2 distinct approvers are required",
    ),
    Case(
        "production-approval-recorded",
        on(CANARY, annotate("approval", approval(ticket="asap"))),
        "no valid change ticket",
    ),
    Case(
        "release-override-recorded",
        on(
            STABLE,
            annotate(
                "release-override",
                '{"reason": "hotfix", "approvedBy": ["ana.release"], "ticket": null, '
                '"expiresAt": "2026-11-24T11:00:00+00:00"}',
            ),
        ),
        "'hotfix', approved by ana.release, no ticket; expired at 2026-11-24T11:00:00+00:00",
        level="advisory",
    ),
    Case(
        "release-override-recorded",
        on(STABLE, annotate("release-override", "{not json")),
        "not a JSON object",
        level="advisory",
    ),
    Case(
        "release-freeze-respected",
        stepped("advance", "2026-11-24T12:00:00Z"),
        "advance at 2026-11-24T12:00:00+00:00 inside the release freeze Tue 09:00 - Tue 18:00 "
        "Europe/Berlin (release review), in effect until 2026-11-24T17:00:00+00:00",
    ),
    Case(
        "release-freeze-respected",
        stepped(
            "start",
            "2026-12-24T10:00:00Z",
            '[{"from": "2026-12-23T00:00:00+01:00", "to": "2027-01-04T08:00:00+01:00", '
            '"reason": "year end"}]',
        ),
        "start at 2026-12-24T10:00:00+00:00 inside the release freeze",
    ),
    Case(
        "release-freeze-respected",
        stepped("promote", "2026-11-24T12:00:00Z", override=freeze_override("ana.release")),
        "a releaseOverride with a ticket and 2 approver(s)",
    ),
    Case(
        "release-freeze-respected",
        stepped("patch", "2026-11-24T12:00:00Z", '[{"weekly": "Tue 09:00 - Tue 18:00 CET+1"}]'),
        "cannot be read: no step forward is judged",
    ),
    Case(
        "production-quality-gates",
        on(STABLE, annotate("gates", '{"accuracy": "passed", "security": "failed"}')),
        "security=failed",
    ),
    Case(
        "production-quality-gates",
        on(STABLE, annotate("gates", '{"accuracy": "passed", "security": "failed"}')),
        "apiContract=unreported",
        level="advisory",
        environment="staging",
    ),
    Case(
        "canary-traffic-weights",
        on(
            ROUTER_CONF,
            set_upstream("engine-stable:8080 weight=100", "engine-canary:8080 weight=0"),
        ),
        "weight=0, which nginx rejects",
    ),
    Case(
        "canary-traffic-weights",
        on(
            ROUTER_CONF,
            set_upstream("engine-stable:8080 weight=80", "engine-canary:8080 weight=20"),
        ),
        "canary weight 20 is not an allowed phase weight",
    ),
    Case(
        "canary-traffic-weights",
        on(
            ROUTER_CONF,
            set_upstream("engine-stable:8080 weight=90", "engine-canary:8080 weight=20"),
        ),
        "add up to 110",
    ),
    Case(
        "canary-traffic-weights",
        on(ROUTER_CONF, set_upstream("engine-stable:8080", "engine-canary:8080")),
        "has no weight (nginx would use 1)",
    ),
    Case(
        "canary-traffic-weights",
        on(
            ROUTER_CONF,
            set_upstream("engine-stable:8080 weight=90", "engine-canary:8080 weight=10 down"),
        ),
        "is marked down",
    ),
    Case(
        "canary-traffic-weights",
        on(
            ROUTER_CONF,
            set_upstream("engine-stable:8080 weight=90", "engine-preview:8080 weight=10"),
        ),
        "neither the stable nor the canary Service",
    ),
    Case(
        "canary-traffic-weights",
        on(CANARY, annotate("traffic-weight", "25")),
        "the phase table gives it 10",
    ),
    Case("canary-traffic-weights", on(CANARY, annotate("phase", "25")), "not an allowed phase"),
    # stack: release
    Case(
        "traffic-split-consistent",
        on(CANARY, setter("spec.replicas", 0.0)),
        "has 0 replicas but receives 10% of traffic",
    ),
    Case(
        "traffic-split-consistent",
        remove("engine-canary-service"),
        "no Service engine-canary exists",
    ),
    Case("traffic-split-consistent", remove(CANARY), "the canary track, which has no Deployment"),
    Case(
        "traffic-split-consistent",
        on(
            ROUTER_CONF,
            set_upstream("engine-stable:8080 weight=50", "engine-canary:8080 weight=50"),
        ),
        "records traffic weight 10 but",
    ),
    Case(
        "traffic-split-consistent",
        on(
            "engine-router-deployment",
            setter(
                "spec.template.metadata.annotations", {"involution.dev/nginx-conf-sha256": "0" * 64}
            ),
        ),
        "its pods would not roll",
    ),
    Case(
        "traffic-split-consistent",
        on("engine-router-deployment", setter("pod.volumes", [])),
        "no Deployment mounts",
    ),
    Case("rollback-target-ready", remove(STABLE), "without a stable track"),
    Case(
        "rollback-target-ready",
        on(STABLE, setter("c0.image", "involution-engine:stable")),
        "is not pinned",
    ),
    Case(
        "rollback-target-ready", on(STABLE, setter("spec.replicas", 0.0)), "nothing to roll back to"
    ),
    Case("rollback-target-ready", same_image_as_stable, "runs the stable image"),
    Case(
        "rollback-target-ready",
        on(CANARY, annotate("rollback-target", "v1.1.0")),
        "records rollback target 'v1.1.0'",
    ),
    Case(
        "tracks-consistent",
        on(CANARY, setter("c0.ports", [{"name": "http", "containerPort": 9090.0}])),
        "exposes ports",
        level="advisory",
    ),
    Case(
        "tracks-consistent",
        on(CANARY, setter("spec.selector.matchLabels.track", "stable")),
        "do not tell the tracks apart",
        level="advisory",
    ),
    Case(
        "tracks-consistent",
        on("engine-canary-service", setter("spec.ports", [{"name": "http", "port": 80.0}])),
        "differ from stable's",
        level="advisory",
    ),
    Case(
        "pod-disruption-budgets",
        remove("engine-canary-pdb"),
        "no PodDisruptionBudget covers Deployment involution/engine-canary",
    ),
    Case(
        "pod-disruption-budgets",
        on("engine-stable-pdb", setter("spec.maxUnavailable", 0.0)),
        "maxUnavailable 0",
    ),
    # workloads
    Case(
        "container-resources",
        on(CANARY, setter("c0.resources.limits", None)),
        'container "engine" sets no limits for cpu, memory',
    ),
    Case(
        "container-resources",
        on("redis-deployment", setter("c0.resources.requests.memory", None)),
        "sets no requests for memory",
    ),
    Case("container-probes", on(CANARY, setter("c0.livenessProbe", None)), "no liveness probe"),
    Case("container-probes", on(CANARY, setter("c0.readinessProbe", None)), "no readiness probe"),
    Case(
        "container-probes",
        on(
            CANARY,
            lambda p: setter("c0.livenessProbe", container(p)["readinessProbe"])(p),
        ),
        "same probe for readiness and liveness",
    ),
    Case(
        "run-as-non-root",
        lambda rs: edit(
            edit(rs, CANARY, setter("c0.securityContext.runAsNonRoot", None)),
            CANARY,
            setter("pod.securityContext.runAsNonRoot", False),
        ),
        "does not set runAsNonRoot: true",
    ),
    Case("run-as-non-root", on(CANARY, setter("c0.securityContext.runAsUser", 0.0)), "UID 0"),
    Case(
        "read-only-root-filesystem",
        on(STABLE, setter("c0.securityContext.readOnlyRootFilesystem", False)),
        "readOnlyRootFilesystem: true",
    ),
    Case(
        "restricted-privileges",
        on(CANARY, setter("c0.securityContext.privileged", True)),
        'container "engine" is privileged',
    ),
    Case(
        "restricted-privileges",
        on(CANARY, setter("c0.securityContext.allowPrivilegeEscalation", None)),
        "allowPrivilegeEscalation: false",
    ),
    Case(
        "restricted-privileges",
        on(CANARY, setter("c0.securityContext.capabilities", {"drop": ["NET_RAW"]})),
        "does not drop ALL capabilities",
    ),
    Case(
        "restricted-privileges",
        on(
            CANARY,
            setter("c0.securityContext.capabilities", {"drop": ["ALL"], "add": ["SYS_ADMIN"]}),
        ),
        "adds capabilities SYS_ADMIN",
    ),
    Case("restricted-privileges", on(CANARY, setter("pod.hostNetwork", True)), "hostNetwork"),
    Case(
        "minimum-replicas",
        on(STABLE, setter("spec.replicas", 2.0)),
        "involution-engine runs 2 replica(s); the minimum here is 3",
    ),
    Case(
        "minimum-replicas",
        on("time-resolver-deployment", setter("spec.replicas", 1.0)),
        "time-resolver runs 1 replica(s); the minimum here is 2",
    ),
    Case(
        "minimum-replicas",
        on(CANARY, setter("spec.replicas", 0.0)),
        "the canary serves traffic (weight 10) with 0 replicas",
    ),
    Case(
        "no-default-namespace",
        on("redis-service", setter("metadata.namespace", "default")),
        "is in the `default` namespace",
        level="advisory",
    ),
    Case(
        "no-default-namespace",
        on("redis-conf", setter("metadata.namespace", None)),
        "sets no namespace",
        level="advisory",
    ),
    Case(
        "recommended-labels",
        lambda rs: edit(
            edit(rs, CANARY, setter("metadata.labels.app.kubernetes.io/version", None)),
            CANARY,
            lambda p: p["metadata"]["labels"].update({"app.kubernetes.io/version": "v1.2.9"}),
        ),
        "app.kubernetes.io/version=v1.2.9 but the image tag is v1.3.0",
        level="advisory",
    ),
    Case(
        "recommended-labels",
        on(CANARY, lambda p: p["metadata"]["labels"].pop("app.kubernetes.io/part-of")),
        "metadata lacks labels app.kubernetes.io/part-of",
        level="advisory",
    ),
    # data
    Case(
        "no-literal-secret-env",
        on(CANARY, add_env("API_TOKEN", {"value": "tok-123456"})),
        "sets API_TOKEN to a literal value",
    ),
    Case(
        "no-literal-secret-env",
        on(CANARY, add_env("DB_PASSWORD_PLAIN", {"value": "hunter2"})),
        "sets DB_PASSWORD_PLAIN to a literal value",
    ),
    Case(
        "no-literal-secret-env",
        on(
            CANARY,
            add_env("SIGNING_KEY", {"valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}),
        ),
        "reads SIGNING_KEY from a ConfigMap",
    ),
    Case(
        "no-literal-secret-env",
        on(CANARY, add_env("DATABASE_URL", {"value": "postgres://app:hunter2@db:5432/x"})),
        "holds a password inside a URL",
    ),
    Case(
        "no-literal-secret-env",
        on(CANARY, add_env("UPSTREAM_ID", {"value": "AKIAABCDEFGHIJKLMNOP"})),
        "holds an AWS access key id",
    ),
    Case(
        "no-secrets-in-configmaps",
        on("redis-conf", append_to("redis.conf", "requirepass hunter2\n")),
        "Redis `requirepass` password",
    ),
    Case(
        "no-secrets-in-configmaps",
        on("redis-conf", append_to("redis-password", "hunter2")),
        "key 'redis-password' looks like a credential",
    ),
    Case(
        "no-secrets-in-configmaps",
        on(
            "monitoring-dashboard",
            append_to(
                "tls.pem", "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----"
            ),
        ),
        "holds a private key",
    ),
    Case(
        "no-secrets-in-configmaps",
        on("monitoring-dashboard", append_to("settings.json", '{"api_token": "0f3a9c1e77"}')),
        "holds a `api_token` value",
    ),
    Case(
        "redis-not-exposed",
        on("redis-service", setter("spec.type", "LoadBalancer")),
        "type LoadBalancer",
    ),
    Case(
        "redis-not-exposed",
        on(
            "redis-service",
            lambda p: p["spec"].update(
                {"type": "NodePort", "ports": [{"port": 6379.0, "nodePort": 30079.0}]}
            ),
        ),
        "opens nodePort 30079",
    ),
    Case(
        "redis-not-exposed",
        on("redis-service", setter("spec.externalIPs", ["203.0.113.7"])),
        "has externalIPs",
    ),
    Case(
        "redis-network-policy",
        remove("redis-network-policy", "network-default-deny-ingress"),
        "no NetworkPolicy restricts ingress",
    ),
    Case(
        "workloads-network-isolated",
        remove("network-default-deny-ingress", "network-time-resolver-ingress"),
        "no NetworkPolicy restricts ingress to Deployment involution/time-resolver",
    ),
    Case(
        "engines-admit-only-router",
        on("network-engine-ingress", ingress_from([{"podSelector": {}}])),
        "admits every pod of the namespace, not the router",
    ),
    Case(
        "engines-admit-only-router",
        on("network-engine-ingress", ingress_from(None)),
        "open to every source",
    ),
    Case(
        "engines-admit-only-router",
        on(
            "network-engine-ingress",
            ingress_from(
                [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "default"}}}]
            ),
        ),
        "not a monitoring namespace",
    ),
    Case(
        "engines-admit-only-router",
        on(
            "network-engine-ingress",
            lambda p: p["spec"]["ingress"][1].update({"ports": [{"port": 9999.0}]}),
        ),
        "admits the monitoring namespace on ports",
    ),
    Case(
        "engines-admit-only-router",
        on("network-engine-ingress", ingress_from([{"ipBlock": {"cidr": "0.0.0.0/0"}}])),
        "admits an ipBlock",
    ),
    Case(
        "redis-network-policy",
        on("redis-network-policy", ingress_from(None)),
        "open to every source",
    ),
    Case(
        "redis-network-policy",
        on("redis-network-policy", ingress_from([{"podSelector": {}}])),
        "admits every pod of the namespace",
    ),
    Case(
        "redis-network-policy",
        on("redis-network-policy", ingress_from([{"namespaceSelector": {}}])),
        "admits pods of other namespaces",
    ),
    Case(
        "redis-network-policy",
        on(
            "redis-network-policy",
            ingress_from([{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "debug"}}}]),
        ),
        "not one of",
    ),
    Case("monitoring-rules-per-track", remove("monitoring-rules"), "no PrometheusRule"),
    Case(
        "monitoring-rules-per-track",
        on("monitoring-rules", without_track_alerts("canary")),
        "no alert is labelled track=canary",
    ),
    Case(
        "monitoring-rules-per-track",
        on("monitoring-rules", without_track_alerts("stable")),
        "no alert is labelled track=stable",
    ),
    Case(
        "monitoring-rules-per-track",
        on("monitoring-rules", without_track_alerts("canary", rollback="false")),
        "no canary alert is a rollback trigger",
    ),
]


def _id(case: Case) -> str:
    return f"{case.policy}:{case.expect[:40]}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_violation_is_reported(pack: PolicyPackProcess, base: Resources, case: Case) -> None:
    report = check(pack, case.change(base), environment=case.environment)
    found = report.of(case.policy)
    assert any(case.expect in v.message for v in found), "\n".join(
        v.describe() for v in report.violations
    )
    assert {v.level for v in found} == {case.level}


def known(violation: Violation) -> bool:
    """The router's missing version label, a known advisory (see test_policies_mocked_runs)."""
    return (violation.policy, violation.resource) in KNOWN_ADVISORIES


@pytest.mark.parametrize("policy", sorted({case.policy for case in CASES}))
def test_compliant_release_passes(base_report: PolicyReport, policy: str) -> None:
    assert [v.describe() for v in base_report.of(policy) if not known(v)] == []


def test_every_policy_has_a_crafted_violation(pack: PolicyPackProcess) -> None:
    assert {case.policy for case in CASES} == set(pack.policies)


COMPLIANT_EDITS = [
    pytest.param(
        "image-pinned",
        on(CANARY, setter("c0.image", f"registry.example:5000/involution-engine@{DIGEST}")),
        id="digest-pinned",
    ),
    pytest.param(
        "recommended-labels",
        on(CANARY, setter("c0.image", f"involution-engine@{DIGEST}")),
        id="digest-has-no-tag",
    ),
    pytest.param(
        "no-literal-secret-env",
        lambda rs: edit(
            edit(
                edit(rs, CANARY, add_env("PASSWORD_FILE", {"value": "/run/secrets/redis"})),
                CANARY,
                add_env("SECRET_NAME", {"value": "involution-redis-auth"}),
            ),
            CANARY,
            add_env("AWS_ACCESS_KEY_ID", {"value": "placeholder"}),
        ),
        id="reference-names",
    ),
    pytest.param(
        "no-secrets-in-configmaps",
        on("redis-conf", append_to("redis.conf", "requirepass ${REDIS_PASSWORD}\n")),
        id="placeholder",
    ),
    pytest.param(
        "production-approval-recorded",
        lambda rs: edit(
            edit(
                edit(rs, CANARY, annotate("approval", "null")),
                CANARY,
                annotate("phase", "rollback"),
            ),
            CANARY,
            annotate("traffic-weight", "0"),
        ),
        id="rollback-needs-no-approval",
    ),
    pytest.param(
        "production-quality-gates",
        lambda rs: edit(
            edit(rs, STABLE, annotate("gates", '{"security": "failed"}')),
            STABLE,
            annotate("phase", "rollback"),
        ),
        id="rollback-is-not-gated",
    ),
    pytest.param(
        "release-freeze-respected",
        stepped("advance", "2026-11-24T17:00:00Z"),
        id="step-after-the-window",
    ),
    pytest.param(
        "release-freeze-respected",
        stepped("rollback", "2026-11-24T12:00:00Z"),
        id="step-back-inside-the-window",
    ),
    pytest.param(
        "release-freeze-respected",
        stepped(
            "advance", "2026-11-24T12:00:00Z", override=freeze_override("ana.release", "raj.sre")
        ),
        id="override-with-two-approvers",
    ),
    pytest.param(
        "canary-traffic-weights",
        on(
            ROUTER_CONF,
            set_upstream("engine-canary:8080 weight=100", "engine-stable:8080 backup"),
        ),
        id="stable-as-backup",
    ),
]


@pytest.mark.parametrize(("policy", "change"), COMPLIANT_EDITS)
def test_compliant_edit_passes(
    pack: PolicyPackProcess,
    base: Resources,
    policy: str,
    change: Callable[[Resources], Resources],
) -> None:
    report = check(pack, change(base))
    assert [v.describe() for v in report.of(policy) if not known(v)] == []


def test_disabled_in_staging(pack: PolicyPackProcess, base: Resources) -> None:
    change = on(CANARY, annotate("approval", "null"))
    assert check(pack, change(base), environment="staging").of("production-approval-recorded") == []


def test_all_sets_every_level(pack: PolicyPackProcess, base: Resources) -> None:
    change = on(CANARY, setter("c0.image", "involution-engine:latest"))
    report = check(pack, change(base), extra={"all": "advisory", "image-pinned": {}})
    assert {v.level for v in report.of("image-pinned")} == {"advisory"}
