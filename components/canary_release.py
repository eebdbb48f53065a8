"""CanaryRelease: the stable and canary tracks the phase table asks for."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.engine_track import EngineTrack, EngineTrackArgs
from components.traffic_router import TrafficRouter, TrafficRouterArgs
from involution.config.path import ReleaseOverride
from involution.config.release import Approval, GateResults
from involution.config.resources import ResourceSettings
from involution.config.traffic import TrafficSettings
from involution.images import ImageRef
from involution.names import ANNOTATION_PREFIX, Track
from involution.nginx.conf import router_spec
from involution.phases import Phase, PhasePlan
from involution.versions import EngineVersion, ReleaseType


@dataclass(frozen=True)
class CanaryReleaseArgs:
    """The release as config describes it; images are resolved by the caller."""

    plan: PhasePlan
    stable_version: EngineVersion
    canary_version: EngineVersion | None
    release_type: ReleaseType
    stable_image: pulumi.Input[str]
    canary_image: pulumi.Input[str] | None
    namespace: pulumi.Input[str]
    instance: str
    approval: Approval | None
    gates: GateResults
    router_image: ImageRef
    router_replicas: int
    release_override: ReleaseOverride | None = None
    # Dev only: the router names the answering pod (IP:port) in X-Involution-Upstream.
    expose_upstream: bool = False
    # Header override, sticky split, shadow mirror: how the router routes within the phase.
    traffic: TrafficSettings = field(default_factory=TrafficSettings)
    # The step that brought the release to its phase (the last releaseLog entry): the policy
    # pack exempts steps back from the checks that guard traffic moving to a canary.
    release_step: str = "first-deployment"
    # The freeze windows as configured (`FreezeCalendar.as_records`) and when the release
    # step was taken: the policy pack refuses a step forward taken inside a window.
    freeze: tuple[Mapping[str, Any], ...] = ()
    release_step_at: str = ""
    engine_env: Mapping[str, str] = field(default_factory=dict)
    engine_secret_env: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # Requests and limits of the engine's and the router's containers (`resources`).
    resources: ResourceSettings = field(default_factory=ResourceSettings)


def release_annotations(args: CanaryReleaseArgs, track: Track) -> dict[str, str]:
    """What an auditor reads off a Deployment: who approved what, which gates passed, and
    where traffic returns on rollback. On the Deployment, not the pod template, so a new
    ticket never restarts pods."""
    version = args.stable_version if track == "stable" else args.canary_version
    assert version is not None
    annotations = {
        f"{ANNOTATION_PREFIX}/track": track,
        f"{ANNOTATION_PREFIX}/version": version.tag,
        f"{ANNOTATION_PREFIX}/release-type": args.release_type.value,
        f"{ANNOTATION_PREFIX}/phase": args.plan.phase.value,
        f"{ANNOTATION_PREFIX}/traffic-weight": str(
            args.plan.stable_weight if track == "stable" else args.plan.canary_weight
        ),
        f"{ANNOTATION_PREFIX}/approval": json.dumps(
            args.approval.as_record() if args.approval else None, sort_keys=True
        ),
        f"{ANNOTATION_PREFIX}/gates": json.dumps(args.gates.as_record(), sort_keys=True),
        f"{ANNOTATION_PREFIX}/rollback-target": args.stable_version.tag,
        f"{ANNOTATION_PREFIX}/release-step": args.release_step,
    }
    if args.freeze:
        annotations[f"{ANNOTATION_PREFIX}/freeze"] = json.dumps(list(args.freeze), sort_keys=True)
        if args.release_step_at:
            annotations[f"{ANNOTATION_PREFIX}/release-step-at"] = args.release_step_at
    if args.release_override is not None:
        # Recorded wherever it is configured: the policy pack flags every one.
        annotations[f"{ANNOTATION_PREFIX}/release-override"] = json.dumps(
            args.release_override.as_record(), sort_keys=True
        )
    return annotations


def cache_env(version: EngineVersion) -> dict[str, str]:
    """A cache key prefix per engine minor line: stable and canary of different minors never
    read each other's entries, which may have another schema."""
    return {"REDIS_KEY_PREFIX": f"involution:{version.minor_line}:"}


class CanaryRelease(pulumi.ComponentResource):
    """Stable track always; canary track from phase 10 on (0 pods on rollback); the router.

    Update order protects live traffic: moving forward, the tracks are ready before the router
    shifts weight onto them; on rollback, the router takes traffic off the canary before the
    canary scales to 0."""

    stable_weight: pulumi.Output[int]
    canary_weight: pulumi.Output[int]
    stable_replicas: pulumi.Output[int]
    canary_replicas: pulumi.Output[int | None]
    phase: pulumi.Output[str]
    nginx_conf: pulumi.Output[str]
    nginx_conf_sha256: pulumi.Output[str]

    def __init__(
        self, name: str, args: CanaryReleaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("involution:index:CanaryRelease", name, None, opts)
        plan = args.plan
        self.stable = self._track(name, args, "stable", plan.stable_replicas, wait_for=())
        self.canary: EngineTrack | None = None
        rolling_back = plan.phase is Phase.ROLLBACK
        if plan.canary_replicas is not None and not rolling_back:
            self.canary = self._track(name, args, "canary", plan.canary_replicas, wait_for=())
        self.router = TrafficRouter(
            f"{name}-router",
            TrafficRouterArgs(
                spec=router_spec(plan, traffic=args.traffic, expose_upstream=args.expose_upstream),
                image=args.router_image,
                replicas=args.router_replicas,
                namespace=args.namespace,
                instance=args.instance,
                resources=args.resources.router,
                wait_for=[t for t in (self.stable, self.canary) if t is not None],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        if rolling_back:
            self.canary = self._track(name, args, "canary", 0, wait_for=(self.router,))

        self.stable_weight = pulumi.Output.from_input(plan.stable_weight)
        self.canary_weight = pulumi.Output.from_input(plan.canary_weight)
        self.stable_replicas = pulumi.Output.from_input(plan.stable_replicas)
        self.canary_replicas = pulumi.Output.from_input(plan.canary_replicas)
        self.phase = pulumi.Output.from_input(plan.phase.value)
        self.nginx_conf = self.router.nginx_conf
        self.nginx_conf_sha256 = self.router.config_sha256
        self.register_outputs(
            {
                "stable_weight": self.stable_weight,
                "canary_weight": self.canary_weight,
                "stable_replicas": self.stable_replicas,
                "canary_replicas": self.canary_replicas,
                "phase": self.phase,
                "nginx_conf": self.nginx_conf,
                "nginx_conf_sha256": self.nginx_conf_sha256,
            }
        )

    def _track(
        self,
        name: str,
        args: CanaryReleaseArgs,
        track: Track,
        replicas: int,
        wait_for: tuple[pulumi.Resource, ...],
    ) -> EngineTrack:
        version = args.stable_version if track == "stable" else args.canary_version
        image = args.stable_image if track == "stable" else args.canary_image
        if version is None or image is None:
            raise ValueError(f"the {track} track needs a version and an image")
        return EngineTrack(
            f"{name}-{track}",
            EngineTrackArgs(
                track=track,
                version=version,
                image=image,
                replicas=replicas,
                namespace=args.namespace,
                instance=args.instance,
                release_annotations=release_annotations(args, track),
                env={**args.engine_env, **cache_env(version)},
                secret_env=args.engine_secret_env,
                resources=args.resources.engine,
                wait_for=wait_for,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
