"""Version tags and the release type derived from them."""

from __future__ import annotations

import pytest

from involution.versions import EngineVersion, ReleaseType, VersionError, release_type

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("tag", "prerelease"),
    [("v1.2.3", False), ("v0.0.1", False), ("v1.3.0-rc.1", True), ("v2.0.0-beta.12", True)],
)
def test_valid_tags_parse(tag: str, prerelease: bool) -> None:
    version = EngineVersion.parse(tag)
    assert version.tag == tag
    assert version.is_prerelease is prerelease


@pytest.mark.parametrize(
    "text",
    ["latest", "1.2.3", "v1.2", "v1.2.3+build.5", "v01.2.3", "V1.2.3", "", "v1.2.3-", "main"],
)
def test_non_tags_are_rejected(text: str) -> None:
    with pytest.raises(VersionError, match="semver tag"):
        EngineVersion.parse(text)


def test_ordering_follows_semver_precedence() -> None:
    ordered = ["v1.2.3-alpha.1", "v1.2.3-beta.1", "v1.2.3-rc.1", "v1.2.3", "v1.2.10", "v1.10.0"]
    parsed = [EngineVersion.parse(t) for t in ordered]
    assert sorted(reversed(parsed)) == parsed


@pytest.mark.parametrize(
    ("stable", "canary", "expected"),
    [
        ("v1.2.2", "v1.2.3", ReleaseType.PATCH),
        ("v1.2.3-rc.1", "v1.2.3", ReleaseType.PATCH),
        ("v1.2.2", "v1.3.0", ReleaseType.MINOR),
        ("v1.9.9", "v2.0.0", ReleaseType.MAJOR),
        ("v1.2.2", None, ReleaseType.NONE),
    ],
)
def test_release_type_is_derived(stable: str, canary: str | None, expected: ReleaseType) -> None:
    canary_version = EngineVersion.parse(canary) if canary else None
    assert release_type(EngineVersion.parse(stable), canary_version) is expected


def test_minor_line_keys_the_cache_schema() -> None:
    assert EngineVersion.parse("v1.3.7").minor_line == "v1.3"
