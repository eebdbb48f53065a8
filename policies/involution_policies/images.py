"""Images and versions: what may ship. Every image is pinned, and production runs no
pre-release, neither as an engine track's recorded version nor as any image tag."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs

from involution_policies.config import Schema, config_of, resource_policy, string_list
from involution_policies.kube import containers, release_info, workload_spec
from involution_policies.props import get, is_unknown

# A tag such as v1.2.3, 1.27.3-alpine or v1.3.0-rc.1: three numeric parts, then any suffix.
SEMVER_TAG: Final = (
    r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)([-.][0-9A-Za-z][0-9A-Za-z.-]*)?$"
)
_ENGINE_VERSION = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-(?P<pre>[0-9A-Za-z.-]+))?$"
)
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
PRERELEASE_MARKERS: Final = ("alpha", "beta", "rc", "pre", "preview", "dev", "snapshot", "nightly")


@dataclass(frozen=True)
class ImageRef:
    """`[registry[:port]/]repository[:tag][@digest]`."""

    repository: str
    tag: str | None
    digest: str | None


def parse_image(image: str) -> ImageRef:
    """An image reference; a `:` before the last `/` is a registry port, not a tag."""
    rest, _, digest = image.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        repository, tag = rest[:colon], rest[colon + 1 :]
    else:
        repository, tag = rest, None
    return ImageRef(repository=repository, tag=tag or None, digest=digest or None)


def has_valid_digest(ref: ImageRef) -> bool:
    return ref.digest is not None and bool(_DIGEST.match(ref.digest))


def is_pinned_image(image: Any) -> bool:
    """A reference pinned by a semver tag or a well-formed digest."""
    if not isinstance(image, str):
        return False
    ref = parse_image(image)
    if ref.digest is not None:
        return has_valid_digest(ref)
    return ref.tag is not None and re.match(SEMVER_TAG, ref.tag) is not None


def prerelease_marker(tag: str, markers: set[str]) -> str | None:
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


def is_prerelease_version(version: str) -> bool:
    """A semver version with a pre-release part (v1.3.0-rc.1), as the release annotation
    records it."""
    match = _ENGINE_VERSION.match(version)
    return match is not None and bool(match.group("pre"))


def workload_images(args: ResourceValidationArgs) -> list[tuple[str, Any]]:
    """(container label, image value) of every container of a workload."""
    workload = workload_spec(args.resource_type, args.props)
    if workload is None:
        return []
    return [(c.label, get(c.spec, "image")) for c in containers(workload[1])]


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


def _digest_problem(image: str, ref: ImageRef, *, allow_digest: bool) -> str | None:
    if not allow_digest:
        return f"image {image!r} is pinned by digest; a tag is required"
    if not has_valid_digest(ref):
        return f"image {image!r} has a malformed digest"
    return None


def image_problem(
    image: str, pattern: re.Pattern[str], forbidden: set[str], *, allow_digest: bool
) -> str | None:
    """Why an image reference is not pinned (the text after the container label), or None."""
    ref = parse_image(image)
    if ref.digest is not None:
        return _digest_problem(image, ref, allow_digest=allow_digest)
    if ref.tag is None:
        return f"image {image!r} is untagged (pulls `latest`): pin a version tag"
    if ref.tag.lower() in forbidden:
        return f"image {image!r} uses the floating tag {ref.tag!r}"
    if not pattern.match(ref.tag):
        return f"image {image!r}: tag {ref.tag!r} is not a semver tag"
    return None


def image_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every container image is pinned to a semver tag or a sha256 digest, never `latest` or
    untagged.

    A floating tag lets the same config deploy different code on each pull, so a rollback would
    not restore what ran before and the version labels would lie.
    """
    cfg = config_of(args, IMAGE_PINNED_SCHEMA)
    pattern = re.compile(cfg.string("tagPattern"))
    forbidden = {tag.lower() for tag in cfg.strings("forbiddenTags")}
    for label, image in workload_images(args):
        if is_unknown(image):
            continue  # e.g. the digest of an image built during this update
        if not isinstance(image, str) or not image.strip():
            report(f"{label} has no image", None)
            continue
        problem = image_problem(image, pattern, forbidden, allow_digest=cfg.flag("allowDigest"))
        if problem is not None:
            report(f"{label} {problem}", None)


PRERELEASE_SCHEMA: Final[Schema] = {
    "prereleaseMarkers": string_list(
        "pre-release identifiers in image tags (a variant such as -alpine is not one)",
        PRERELEASE_MARKERS,
    ),
}


def no_prerelease_in_production(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """No pre-release version (alpha, beta, rc) runs in production: neither an engine track's
    recorded version nor any container image tag.

    The release process sends pre-releases to staging for testing; production serves only
    released versions (vX.Y.Z).
    """
    cfg = config_of(args, PRERELEASE_SCHEMA)
    markers = {marker.lower() for marker in cfg.strings("prereleaseMarkers")}
    info = release_info(args.props)
    if info is not None and info.version and is_prerelease_version(info.version):
        report(f"engine {info.track} track runs pre-release {info.version}", None)
    for label, image in workload_images(args):
        if not isinstance(image, str) or is_unknown(image):
            continue
        tag = parse_image(image).tag
        marker = prerelease_marker(tag, markers) if tag else None
        if marker is not None:
            report(f"{label} image {image!r} is a pre-release ({marker})", None)


POLICIES: Final = [
    resource_policy("image-pinned", EnforcementLevel.MANDATORY, image_pinned, IMAGE_PINNED_SCHEMA),
    resource_policy(
        "no-prerelease-in-production",
        EnforcementLevel.MANDATORY,
        no_prerelease_in_production,
        PRERELEASE_SCHEMA,
    ),
]
