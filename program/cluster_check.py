"""Before any resource is registered on a cluster: can the cluster take them?

The Monitoring component registers PrometheusRule, ServiceMonitor and AlertmanagerConfig
objects, kinds the Prometheus Operator's CRDs add. On a cluster without them the provider
retries each one for about a minute and then fails with one error per resource; the program
asks the API server's discovery instead (the kubeconfig and context the provider uses:
`KUBECONFIG` or ~/.kube/config, and `kubeContext`) and stops up front with one message.

Only a definite answer stops the program: a kubeconfig without the context, or an API server
that does not answer or refuses the request, is left to the provider, which reports it in its
own words (and in preview proceeds against an unreachable cluster, as it always has).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import get_monitor

from involution.errors import ConfigProblem
from involution.settings import Settings

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

# The kubernetes client is imported only when a cluster is asked (a second or more of CPU):
# render mode and the mocked unit tests never pay for it.

MONITORING_GROUP = "monitoring.coreos.com"
# The kinds the Monitoring component registers, by the API version it registers them with.
MONITORING_KINDS: dict[str, tuple[str, ...]] = {
    f"{MONITORING_GROUP}/v1": ("PrometheusRule", "ServiceMonitor"),
    f"{MONITORING_GROUP}/v1alpha1": ("AlertmanagerConfig",),
}
# Discovery answers in milliseconds; a cluster that does not is the provider's to report.
REQUEST_TIMEOUT_SECONDS = 5.0
NOT_FOUND = 404


@dataclass(frozen=True)
class Discovery:
    """What the API server at `server` serves, asked once per group version."""

    api: ApiClient
    server: str

    def close(self) -> None:
        self.api.close()  # type: ignore[no-untyped-call]

    def kinds(self, group_version: str) -> set[str] | None:
        """Kinds served in `group_version`: empty when it is not served, None when the server
        gave no answer that says either."""
        from kubernetes.client import CustomObjectsApi
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        group, version = group_version.split("/")
        try:
            found = CustomObjectsApi(self.api).get_api_resources(
                group, version, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )
        except ApiException as error:
            return set() if error.status == NOT_FOUND else None
        except HTTPError:
            return None
        # Subresources (`prometheusrules/status`) name their parent's kind too.
        return {r.kind for r in found.resources or [] if "/" not in r.name}


def discovery(context: str | None) -> Discovery | None:
    """The API server of `context` (None: the kubeconfig's current context), or None when the
    kubeconfig cannot name one."""
    from kubernetes.config import new_client_from_config
    from kubernetes.config.config_exception import ConfigException

    try:
        # The provider's rule (client-go's): KUBECONFIG, a list of files, else ~/.kube/config.
        # Read now: the client's own default is KUBECONFIG when it was first imported.
        files = os.environ.get("KUBECONFIG") or "~/.kube/config"
        api = new_client_from_config(config_file=files, context=context)  # type: ignore[no-untyped-call]
    except (ConfigException, OSError, ValueError):
        return None
    api.configuration.retries = 0
    return Discovery(api=api, server=str(api.configuration.host))


def missing_monitoring_kinds(cluster: Discovery) -> list[str] | None:
    """The Monitoring component's kinds the cluster lacks; None when it cannot tell."""
    missing: list[str] = []
    for group_version, kinds in MONITORING_KINDS.items():
        served = cluster.kinds(group_version)
        if served is None:
            return None
        missing += [kind for kind in kinds if kind not in served]
    return missing


def mocked() -> bool:
    """Under pulumi.runtime.set_mocks (the unit tests) there is no cluster to ask."""
    return isinstance(get_monitor(), MockMonitor)


def cluster_problems(settings: Settings) -> list[ConfigProblem]:
    """What the target cluster cannot take of this stack; none in render mode."""
    if settings.target.render_directory is not None or not settings.monitoring.enabled:
        return []
    if mocked():
        return []
    cluster = discovery(settings.target.kube_context)
    if cluster is None:
        return []
    try:
        missing = missing_monitoring_kinds(cluster)
    finally:
        cluster.close()
    if not missing:
        return []
    context = settings.target.kube_context or "the current context"
    pulumi.log.debug(f"{cluster.server} ({context}) lacks {', '.join(missing)}")
    return [
        ConfigProblem(
            "monitoring.enabled",
            "true",
            f"the cluster has no {MONITORING_GROUP} CRDs ({', '.join(missing)}) at "
            f"{cluster.server} ({context}): install the Prometheus Operator's CRDs "
            "or set monitoring.enabled false",
        )
    ]
