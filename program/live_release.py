"""What the cluster runs: the release annotations of the stack's engine Deployments.

Read before any resource is registered, with the kubeconfig and context the provider uses, so
a stack whose outputs were lost or disagree with the cluster cannot move traffic forward
(involution.release.guard). Not asked in render mode or under Pulumi's mocks.
"""

from __future__ import annotations

from involution.names import TRACKS, track_service_name
from involution.release.live import LiveRelease, LiveTrack
from involution.settings import Settings
from program.cluster_check import REQUEST_TIMEOUT_SECONDS, discovery, mocked

NOT_FOUND = 404


def live_release(settings: Settings) -> LiveRelease | None:
    """The engine Deployments of the stack's namespace; None when no cluster is targeted."""
    if settings.target.render_directory is not None or mocked():
        return None
    from kubernetes.client import AppsV1Api
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    context = settings.target.kube_context or "the current context"
    where = f"the cluster of {context}, namespace {settings.namespace}"
    cluster = discovery(settings.target.kube_context)
    if cluster is None:
        return LiveRelease(where, unknown=f"no kubeconfig names {context}")
    where = f"the cluster at {cluster.server} ({context}), namespace {settings.namespace}"
    tracks: list[LiveTrack] = []
    try:
        apps = AppsV1Api(cluster.api)
        for track in TRACKS:
            name = track_service_name(track)
            try:
                found = apps.read_namespaced_deployment(
                    name, settings.namespace, _request_timeout=REQUEST_TIMEOUT_SECONDS
                )
            except ApiException as error:
                if error.status == NOT_FOUND:
                    continue
                return LiveRelease(where, unknown=f"reading {name}: {error.status} {error.reason}")
            except HTTPError as error:
                return LiveRelease(where, unknown=f"reading {name}: {error}")
            annotations = found.metadata.annotations if found.metadata else None
            tracks.append(LiveTrack.from_annotations(track, name, annotations))
    finally:
        cluster.close()
    return LiveRelease(where, tracks=tuple(tracks))
