"""What the cluster runs, from the release annotations on the engine Deployments.

The stack's outputs say what its last update deployed; the cluster says what runs. The two
part ways when the state is lost (`pulumi stack rm` and `init`, a new backend, an import) or
an update failed halfway. `program.live_release` reads the annotations; `release.guard` judges
a step against both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from involution.names import Track, annotation
from involution.phases import Phase
from involution.release.state import DeployedRelease
from involution.versions import EngineVersion, VersionError

VERSION_ANNOTATION = annotation("version")
PHASE_ANNOTATION = annotation("phase")
TRACK_ANNOTATION = annotation("track")
# Phases whose canary Deployment exists (at rollback with 0 pods).
CANARY_DEPLOYMENT_PHASES = (Phase.SHADOW, Phase.P10, Phase.P50, Phase.P100, Phase.ROLLBACK)


@dataclass(frozen=True)
class LiveTrack:
    """One engine Deployment the cluster runs, as its release annotations record it."""

    track: Track
    deployment: str
    version: str | None
    phase: str | None
    # The `involution.dev/track` annotation: the Deployment's own word for its track.
    recorded_track: str | None = None

    @classmethod
    def from_annotations(
        cls, track: Track, deployment: str, annotations: Mapping[str, str] | None
    ) -> LiveTrack:
        found = annotations or {}
        return cls(
            track=track,
            deployment=deployment,
            version=found.get(VERSION_ANNOTATION),
            phase=found.get(PHASE_ANNOTATION),
            recorded_track=found.get(TRACK_ANNOTATION),
        )

    @property
    def readable(self) -> bool:
        return (
            _version(self.version) is not None
            and _phase(self.phase) is not None
            and self.recorded_track == self.track
        )

    def describe(self) -> str:
        if not self.readable:
            return (
                f"{self.deployment} with unreadable release annotations "
                f"({TRACK_ANNOTATION}={self.recorded_track!r}, "
                f"{VERSION_ANNOTATION}={self.version!r}, {PHASE_ANNOTATION}={self.phase!r})"
            )
        return f"{self.deployment} runs {self.version} at phase {self.phase}"


@dataclass(frozen=True)
class LiveRelease:
    """The engine Deployments of the stack's namespace; `unknown` says why none could be read
    (an unreachable API server, a refused request, no kubeconfig)."""

    where: str
    tracks: tuple[LiveTrack, ...] = ()
    unknown: str | None = None

    @property
    def readable(self) -> bool:
        return self.unknown is None and all(t.readable for t in self.tracks)

    def track(self, name: Track) -> LiveTrack | None:
        return next((t for t in self.tracks if t.track == name), None)

    def describe(self) -> str:
        if self.unknown is not None:
            return f"{self.where} cannot be read ({self.unknown})"
        if not self.tracks:
            return f"{self.where} runs no engine Deployment"
        return f"{self.where}: " + "; ".join(t.describe() for t in self.tracks)

    def as_deployed(self) -> DeployedRelease | None:
        """The release the cluster runs, to judge a step against; None when it runs nothing
        or its annotations cannot be read."""
        if not self.readable or not self.tracks:
            return None
        stable = self.track("stable")
        canary = self.track("canary")
        lead = stable or canary
        assert lead is not None
        phase = _phase(lead.phase)
        assert phase is not None
        return DeployedRelease(
            phase=phase,
            stable=_version(stable.version) if stable else None,
            canary=_version(canary.version) if canary else None,
            phase_since=None,
        )


def expected_annotations(
    phase: Phase, stable: str | None, canary: str | None
) -> dict[Track, tuple[str, str]]:
    """(version, phase) each engine Deployment carries when this release is deployed."""
    expected: dict[Track, tuple[str, str]] = {}
    if stable:
        expected["stable"] = (stable, phase.value)
    if canary and phase in CANARY_DEPLOYMENT_PHASES:
        expected["canary"] = (canary, phase.value)
    return expected


def matches_either(live: LiveRelease, releases: tuple[dict[Track, tuple[str, str]], ...]) -> bool:
    """Every Deployment the cluster runs carries what one of `releases` puts there: the last
    update's, or this one's (an update that failed halfway leaves a mix of the two)."""
    for live_track in live.tracks:
        found = (live_track.version, live_track.phase)
        if not any(release.get(live_track.track) == found for release in releases):
            return False
    return True


def _version(text: str | None) -> EngineVersion | None:
    if not text:
        return None
    try:
        return EngineVersion.parse(text)
    except VersionError:
        return None


def _phase(text: str | None) -> Phase | None:
    try:
        return Phase(text)
    except ValueError:
        return None
