"""Engine version tags (semver with a leading v) and the release type derived from two of them."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import total_ordering

import semver

# The tag form images and git tags use: v + semver core, optional pre-release, no build metadata
# (a `+` is not legal in an image tag).
_TAG = re.compile(r"^v(?P<semver>\d+\.\d+\.\d+(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)$")

TAG_FORM = "a semver tag vX.Y.Z or vX.Y.Z-<pre>.N (e.g. v1.2.3, v1.3.0-rc.1)"


class VersionError(ValueError):
    """A string that is not an engine version tag."""


@total_ordering
@dataclass(frozen=True)
class EngineVersion:
    """A parsed version tag; ordering follows semver precedence (pre-releases sort first)."""

    tag: str
    semver: semver.Version

    @classmethod
    def parse(cls, text: str) -> EngineVersion:
        match = _TAG.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise VersionError(f"{text!r} is not {TAG_FORM}")
        try:
            parsed = semver.Version.parse(match.group("semver"))
        except ValueError as exc:  # e.g. leading zeros, which the regex lets through
            raise VersionError(f"{text!r} is not {TAG_FORM}: {exc}") from exc
        return cls(tag=f"v{parsed}", semver=parsed)

    @property
    def is_prerelease(self) -> bool:
        return self.semver.prerelease is not None

    @property
    def minor_line(self) -> str:
        """`v1.3`: stable and canary of different minor lines must not share cache entries."""
        return f"v{self.semver.major}.{self.semver.minor}"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, EngineVersion):
            return NotImplemented
        return self.semver < other.semver

    def __str__(self) -> str:
        return self.tag


class ReleaseType(enum.Enum):
    """What the release types of docs/release-process.md mean for approvals and canaries."""

    NONE = "none"  # no canary configured
    PATCH = "patch"
    MINOR = "minor"
    MAJOR = "major"

    @property
    def needs_approval(self) -> bool:
        return self in (ReleaseType.MINOR, ReleaseType.MAJOR)


def release_type(stable: EngineVersion, canary: EngineVersion | None) -> ReleaseType:
    """Derive the release type from the two versions; it is never configured by hand."""
    if canary is None:
        return ReleaseType.NONE
    if canary.semver.major != stable.semver.major:
        return ReleaseType.MAJOR
    if canary.semver.minor != stable.semver.minor:
        return ReleaseType.MINOR
    return ReleaseType.PATCH
