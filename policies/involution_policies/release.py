"""Release policies: what may ship, who approved it, which gates it passed, how traffic splits.

They read what the program records on the engine Deployments (`involution.dev/*` annotations)
and the router's nginx.conf, so they judge what the cluster would get, not the stack config.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs

from involution_policies.config import Schema, config_of, resource_policy, string_list
from involution_policies.kube import (
    ANNOTATION_PREFIX,
    WORKLOAD_KINDS,
    containers,
    has_valid_digest,
    kind_of,
    object_name,
    parse_image,
    pod_spec,
    release_info,
)
from involution_policies.nginx import NginxSyntaxError, mentions_upstream, upstreams
from involution_policies.props import (
    as_int,
    entries,
    get,
    is_unknown,
    json_value,
    parse_time,
)

GATE_NAMES: Final = (
    "codeQuality",
    "unitTests",
    "integrationTests",
    "accuracy",
    "security",
    "apiContract",
)
# A tag such as v1.2.3, 1.27.3-alpine or v1.3.0-rc.1: three numeric parts, then any suffix.
SEMVER_TAG: Final = (
    r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)([-.][0-9A-Za-z][0-9A-Za-z.-]*)?$"
)
_ENGINE_VERSION = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-(?P<pre>[0-9A-Za-z.-]+))?$"
)


def _workload_images(args: ResourceValidationArgs) -> list[tuple[str, Any]]:
    """(container label, image value) of every container of a workload."""
    kind = kind_of(args.resource_type)
    if kind not in WORKLOAD_KINDS:
        return []
    return [(c.label, get(c.spec, "image")) for c in containers(pod_spec(kind, args.props))]


IMAGE_PINNED_SCHEMA: Final[Schema] = {
    "tagPattern": {
        "type": "string",
        "default": SEMVER_TAG,
        "description": "regular expression a tag must match (default: a semver tag)",
    },
    "forbiddenTags": string_list("floating tags never accepted", ["latest"]),
    "allowDigest": {
        "type": "boolean",
        "default": True,
        "description": "accept an image pinned by sha256 digest instead of a tag",
    },
}


def image_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every container image is pinned to a semver tag or a sha256 digest, never `latest` or
    untagged.

    A floating tag lets the same config deploy different code on each pull, so a rollback would
    not restore what ran before and the version labels would lie.
    """
    cfg = config_of(args, IMAGE_PINNED_SCHEMA)
    pattern = re.compile(cfg.string("tagPattern"))
    forbidden = {tag.lower() for tag in cfg.strings("forbiddenTags")}
    for label, image in _workload_images(args):
        if is_unknown(image):
            continue  # e.g. the digest of an image built during this update
        if not isinstance(image, str) or not image.strip():
            report(f"{label} has no image", None)
            continue
        ref = parse_image(image)
        if ref.digest is not None:
            if not cfg.flag("allowDigest"):
                report(f"{label} image {image!r} is pinned by digest; a tag is required", None)
            elif not has_valid_digest(ref):
                report(f"{label} image {image!r} has a malformed digest", None)
            continue
        if ref.tag is None:
            report(f"{label} image {image!r} is untagged (pulls `latest`): pin a version tag", None)
        elif ref.tag.lower() in forbidden:
            report(f"{label} image {image!r} uses the floating tag {ref.tag!r}", None)
        elif not pattern.match(ref.tag):
            report(f"{label} image {image!r}: tag {ref.tag!r} is not a semver tag", None)


PRERELEASE_SCHEMA: Final[Schema] = {
    "prereleaseMarkers": string_list(
        "pre-release identifiers in image tags (a variant such as -alpine is not one)",
        ["alpha", "beta", "rc", "pre", "preview", "dev", "snapshot", "nightly"],
    ),
}


def _prerelease_marker(tag: str, markers: set[str]) -> str | None:
    """The pre-release identifier of an image tag, e.g. `rc` in v1.3.0-rc.1; None for a
    release or a variant suffix such as 1.27.3-alpine."""
    match = re.match(r"^v?\d+\.\d+\.\d+[-.](?P<rest>.+)$", tag)
    if match is None:
        return None
    for part in re.split(r"[-.]", match.group("rest")):
        word = re.sub(r"\d+$", "", part.lower())
        if word in markers:
            return part
    return None


def no_prerelease_in_production(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """No pre-release version (alpha, beta, rc) runs in production: neither an engine track's
    recorded version nor any container image tag.

    The release process sends pre-releases to staging for testing; production serves only
    released versions (vX.Y.Z).
    """
    cfg = config_of(args, PRERELEASE_SCHEMA)
    markers = {marker.lower() for marker in cfg.strings("prereleaseMarkers")}
    info = release_info(args.props)
    if info is not None and info.version:
        match = _ENGINE_VERSION.match(info.version)
        if match is not None and match.group("pre"):
            report(f"engine {info.track} track runs pre-release {info.version}", None)
    for label, image in _workload_images(args):
        if not isinstance(image, str) or is_unknown(image):
            continue
        tag = parse_image(image).tag
        marker = _prerelease_marker(tag, markers) if tag else None
        if marker is not None:
            report(f"{label} image {image!r} is a pre-release ({marker})", None)


APPROVAL_SCHEMA: Final[Schema] = {
    "releaseTypes": string_list("release types that need an approval", ["minor", "major"]),
    "trafficPhases": string_list("phases in which the canary serves traffic", ["10", "50", "100"]),
    "majorReleaseApprovers": {
        "type": "integer",
        "minimum": 1,
        "default": 2,
        "description": "distinct approvers a major release needs (multiple stakeholders)",
    },
    "ticketPattern": {
        "type": "string",
        "default": r"^[A-Z][A-Z0-9]*-[0-9]+$",
        "description": "regular expression of a change ticket id, e.g. CHG-2041",
    },
    "evaluationTime": {
        "type": "string",
        "default": "",
        "description": "ISO-8601 time approvals are judged at; empty means now",
    },
}


def _approvers(record: Mapping[str, Any]) -> list[str]:
    raw = record.get("approvedBy")
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        return []
    return list(dict.fromkeys(a.strip() for a in raw if isinstance(a, str) and a.strip()))


def production_approval_recorded(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A minor or major canary serving production traffic carries a recorded human approval:
    approver(s), a change ticket and an expiry that has not passed.

    The release process requires manual approval for production minor releases and multiple
    stakeholders for a major one; an approval that expires cannot be reused for a later release.
    Rollbacks are never blocked: the canary at 0% needs no approval.
    """
    info = release_info(args.props)
    if kind_of(args.resource_type) != "Deployment" or info is None or info.track != "canary":
        return
    cfg = config_of(args, APPROVAL_SCHEMA)
    if info.release_type not in cfg.strings("releaseTypes"):
        return
    if info.phase not in cfg.strings("trafficPhases"):
        return
    what = f"{info.release_type} canary {info.version} at phase {info.phase}"
    ok, record = json_value(info.approval)
    if info.approval is None or (ok and record is None):
        report(
            f"no approval recorded for the {what}: set involution:approval "
            "{approvedBy, ticket, expiresAt}",
            None,
        )
        return
    if not ok or not isinstance(record, dict):
        report(f"the approval annotation of the {what} is not a JSON object", None)
        return
    approvers = _approvers(record)
    needed = cfg.integer("majorReleaseApprovers") if info.release_type == "major" else 1
    if len(approvers) < needed:
        report(
            f"the {what} has {len(approvers)} approver(s) ({', '.join(approvers) or 'none'}); "
            f"{needed} distinct approvers are required",
            None,
        )
    ticket = record.get("ticket")
    if not isinstance(ticket, str) or not re.match(cfg.string("ticketPattern"), ticket.strip()):
        report(f"the approval of the {what} has no valid change ticket: {ticket!r}", None)
    expires = parse_time(record.get("expiresAt"))
    now = cfg.now()
    if expires is None:
        report(
            f"the approval of the {what} has no expiry with a time zone: "
            f"{record.get('expiresAt')!r}",
            None,
        )
    elif expires <= now:
        report(
            f"the approval of the {what} expired at {expires.isoformat()} "
            f"(now {now.isoformat(timespec='seconds')})",
            None,
        )


GATES_SCHEMA: Final[Schema] = {
    "requiredGates": string_list("quality gates that must be `passed`", GATE_NAMES),
    "exemptPhases": string_list(
        "phases that never wait for gates (a rollback abandons the release)", ["rollback"]
    ),
}


def production_quality_gates(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every engine Deployment in production records all six quality gates as `passed`.

    The release process blocks deployment unless code quality, unit tests, integration tests,
    accuracy, security and API contract all passed; a rollback is exempt because it moves
    traffic back to what already passed.
    """
    info = release_info(args.props)
    if kind_of(args.resource_type) != "Deployment" or info is None:
        return
    cfg = config_of(args, GATES_SCHEMA)
    if info.phase in cfg.strings("exemptPhases"):
        return
    ok, record = json_value(info.gates)
    if not ok or not isinstance(record, dict):
        report(
            f"engine {info.track} track {info.version} has no quality-gate record "
            f"({ANNOTATION_PREFIX}gates)",
            None,
        )
        return
    failing = [
        f"{gate}={record.get(gate, 'unreported')}"
        for gate in cfg.strings("requiredGates")
        if record.get(gate) != "passed"
    ]
    if failing:
        report(
            f"engine {info.track} track {info.version}: quality gates not passed: "
            + ", ".join(failing),
            None,
        )


WEIGHTS_SCHEMA: Final[Schema] = {
    "upstreamName": {
        "type": "string",
        "default": "involution_engine",
        "description": "nginx upstream that splits traffic between the tracks",
    },
    "stableHost": {"type": "string", "default": "engine-stable", "description": "stable Service"},
    "canaryHost": {"type": "string", "default": "engine-canary", "description": "canary Service"},
    "allowedCanaryWeights": {
        "type": "array",
        "items": {"type": "integer", "minimum": 0, "maximum": 100},
        "default": [0, 10, 50, 100],
        "description": "canary shares (percent) the release process allows",
    },
    "allowBackup": {
        "type": "boolean",
        "default": True,
        "description": "allow `backup` servers: failover only, no share of the split",
    },
}


def expected_canary_weight(phase: str | None, allowed: list[int]) -> int | None:
    """The canary's share at a phase: the phase number, 0 for none and rollback."""
    if phase in ("none", "rollback"):
        return 0
    number = as_int(phase)
    return number if number is not None and number > 0 and number in allowed else None


def _check_upstream_text(
    conf: str,
    where: str,
    cfg_hosts: dict[str, str],
    allowed: list[int],
    upstream: str,
    *,
    allow_backup: bool,
) -> list[str]:
    problems: list[str] = []
    try:
        blocks = upstreams(conf, upstream)
    except NginxSyntaxError as error:
        return [f"{where}: nginx.conf does not parse: {error}"]
    for block in blocks:
        weights: dict[str, int] = {}
        if not block.servers:
            problems.append(f"{where}: upstream {upstream} has no server")
        for server in block.servers:
            track = cfg_hosts.get(server.host)
            label = f"server {server.address}"
            if track is None:
                problems.append(f"{where}: {label} is neither the stable nor the canary Service")
                continue
            if "backup" in server.flags:
                if not allow_backup:
                    problems.append(f"{where}: {label} is a backup server")
                continue  # failover only: no share of the split
            if server.weight_text is None:
                problems.append(
                    f"{where}: {label} has no weight (nginx would use 1): weights are explicit"
                )
                continue
            if server.weight is None:
                problems.append(f"{where}: {label} weight={server.weight_text} is not a number")
                continue
            if server.weight == 0:
                problems.append(
                    f"{where}: {label} has weight=0, which nginx rejects: "
                    "a track at 0% is left out of the upstream"
                )
            if server.flags:
                problems.append(
                    f"{where}: {label} is marked {' '.join(server.flags)}: "
                    "a track at 0% is left out of the upstream instead"
                )
            if track in weights:
                problems.append(f"{where}: the {track} track appears twice in {upstream}")
            weights[track] = weights.get(track, 0) + server.weight
        primaries = [server for server in block.servers if "backup" not in server.flags]
        if primaries and len(weights) == len(primaries):
            total = sum(weights.values())
            if total != 100:
                problems.append(
                    f"{where}: stable + canary weights add up to {total}, not 100 "
                    f"({', '.join(f'{t}={w}' for t, w in sorted(weights.items()))})"
                )
            canary = weights.get("canary", 0)
            if canary not in allowed:
                problems.append(
                    f"{where}: canary weight {canary} is not an allowed phase weight {allowed}"
                )
    return problems


def canary_traffic_weights(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Traffic is split only at the allowed canary weights (0/10/50/100), stable + canary = 100,
    and a track at 0% is absent from the nginx upstream, never `weight=0`.

    These are the phases the release process monitors and rolls back between; nginx refuses
    `weight=0`, and a weight outside the phase table is traffic nobody agreed to. A `backup`
    server (the stable track standing by at 100%) takes no share and is not counted.
    """
    cfg = config_of(args, WEIGHTS_SCHEMA)
    kind = kind_of(args.resource_type)
    allowed = cfg.integers("allowedCanaryWeights")
    upstream = cfg.string("upstreamName")
    if kind == "ConfigMap":
        hosts = {cfg.string("stableHost"): "stable", cfg.string("canaryHost"): "canary"}
        where = object_name(kind, args.props, args.name)
        for key, value in entries(get(args.props, "data")):
            if (
                isinstance(value, str)
                and not is_unknown(value)
                and mentions_upstream(value, upstream)
            ):
                problems = _check_upstream_text(
                    value,
                    f"{where} {key}",
                    hosts,
                    allowed,
                    upstream,
                    allow_backup=cfg.flag("allowBackup"),
                )
                for problem in problems:
                    report(problem, None)
        return
    info = release_info(args.props)
    if kind != "Deployment" or info is None:
        return
    canary_share = expected_canary_weight(info.phase, allowed)
    if canary_share is None:
        report(f"engine {info.track} track is at phase {info.phase!r}, not an allowed phase", None)
        return
    expected = canary_share if info.track == "canary" else 100 - canary_share
    recorded = as_int(info.traffic_weight)
    if recorded != expected:
        report(
            f"engine {info.track} track records traffic weight {info.traffic_weight!r} at phase "
            f"{info.phase}; the phase table gives it {expected}",
            None,
        )


def is_pinned_image(image: Any) -> bool:
    """A reference pinned by a semver tag or a well-formed digest."""
    if not isinstance(image, str):
        return False
    ref = parse_image(image)
    if ref.digest is not None:
        return has_valid_digest(ref)
    return ref.tag is not None and re.match(SEMVER_TAG, ref.tag) is not None


POLICIES: Final = [
    resource_policy("image-pinned", EnforcementLevel.MANDATORY, image_pinned, IMAGE_PINNED_SCHEMA),
    resource_policy(
        "no-prerelease-in-production",
        EnforcementLevel.MANDATORY,
        no_prerelease_in_production,
        PRERELEASE_SCHEMA,
    ),
    resource_policy(
        "production-approval-recorded",
        EnforcementLevel.MANDATORY,
        production_approval_recorded,
        APPROVAL_SCHEMA,
    ),
    resource_policy(
        "production-quality-gates",
        EnforcementLevel.MANDATORY,
        production_quality_gates,
        GATES_SCHEMA,
    ),
    resource_policy(
        "canary-traffic-weights",
        EnforcementLevel.MANDATORY,
        canary_traffic_weights,
        WEIGHTS_SCHEMA,
    ),
]
