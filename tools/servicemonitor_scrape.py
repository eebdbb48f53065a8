"""The local cluster's Prometheus configuration from its ServiceMonitors and PrometheusRules,
as the Prometheus Operator writes it, kept in step while the cluster runs.

    venv/bin/python -m tools.servicemonitor_scrape --kubeconfig RUN/prometheus.kubeconfig \\
        --out CLUSTER_HOME/prometheus [--reload http://127.0.0.1:19090/-/reload] [--watch 2]

scripts/cluster.sh runs it beside Debian's `prometheus` on this machine. It reads the
ServiceMonitors and PrometheusRules of every namespace and writes `prometheus.yml` (one scrape
job per ServiceMonitor endpoint with the operator's relabelings: the Service selector, the
port, `namespace`, `service`, `pod`, `container`, `job`, `endpoint` and the monitor's
`targetLabels` from the Service's labels) and one rule file per PrometheusRule, and asks
Prometheus to reload when they changed.

Debian builds Prometheus without its Kubernetes service discovery ("field
kubernetes_sd_configs not found"), so this does the discovery too: each job reads a
`file_sd` file holding what Kubernetes SD's `endpointslice` role would give it, target by
target with the same `__meta_kubernetes_*` labels (the EndpointSlices of the monitor's
namespaces, their Services' labels, the pods behind them), rewritten every `--watch` seconds;
Prometheus picks changes up without a reload. Pods are scraped at their IPs on the node's
bridge, which this machine reaches.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")
GLOBAL = {"scrape_interval": "15s", "evaluation_interval": "15s"}
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def sanitized(name: str) -> str:
    """A Kubernetes label name as a Prometheus meta label suffix (the operator's rule)."""
    return _INVALID_LABEL_CHARS.sub("_", name)


# ------------------------------------------------------------ configuration ----


def _selector_relabelings(selector: Mapping[str, Any]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for key in sorted(selector.get("matchLabels") or {}):
        value = selector["matchLabels"][key]
        sources = [
            f"__meta_kubernetes_service_label_{sanitized(key)}",
            f"__meta_kubernetes_service_labelpresent_{sanitized(key)}",
        ]
        rules.append({"action": "keep", "source_labels": sources, "regex": f"({value});true"})
    for expression in selector.get("matchExpressions") or []:
        key, operator = sanitized(expression["key"]), expression["operator"]
        values = "|".join(expression.get("values") or [])
        pair = [
            f"__meta_kubernetes_service_label_{key}",
            f"__meta_kubernetes_service_labelpresent_{key}",
        ]
        present = [f"__meta_kubernetes_service_labelpresent_{key}"]
        rules.append(
            {
                "In": {"action": "keep", "source_labels": pair, "regex": f"({values});true"},
                "NotIn": {"action": "drop", "source_labels": pair, "regex": f"({values});true"},
                "Exists": {"action": "keep", "source_labels": present, "regex": "true"},
                "DoesNotExist": {"action": "drop", "source_labels": present, "regex": "true"},
            }[operator]
        )
    return rules


def relabelings(spec: Mapping[str, Any], endpoint: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The operator's relabel_configs of one ServiceMonitor endpoint (endpointslice role)."""
    kind_name = [
        "__meta_kubernetes_endpointslice_address_target_kind",
        "__meta_kubernetes_endpointslice_address_target_name",
    ]
    relabel: list[dict[str, Any]] = [
        {"source_labels": ["job"], "target_label": "__tmp_prometheus_job_name"},
        *_selector_relabelings(spec.get("selector") or {}),
    ]
    port = endpoint.get("port")
    if port:
        relabel.append(
            {
                "action": "keep",
                "source_labels": ["__meta_kubernetes_endpointslice_port_name"],
                "regex": port,
            }
        )
    relabel += [
        {
            "source_labels": kind_name,
            "separator": ";",
            "regex": f"{kind};(.*)",
            "replacement": "${1}",
            "target_label": label,
        }
        for kind, label in (("Node", "node"), ("Pod", "pod"))
    ]
    relabel += [
        {"source_labels": [f"__meta_kubernetes_{source}"], "target_label": target}
        for source, target in (
            ("namespace", "namespace"),
            ("service_name", "service"),
            ("pod_name", "pod"),
            ("pod_container_name", "container"),
        )
    ]
    relabel.append(
        {
            "action": "drop",
            "source_labels": ["__meta_kubernetes_pod_phase"],
            "regex": "(Failed|Succeeded)",
        }
    )
    for label in spec.get("targetLabels") or []:
        relabel.append(
            {
                "source_labels": [f"__meta_kubernetes_service_label_{sanitized(label)}"],
                "target_label": sanitized(label),
                "regex": "(.+)",
                "replacement": "${1}",
            }
        )
    relabel.append(
        {
            "source_labels": ["__meta_kubernetes_service_name"],
            "target_label": "job",
            "replacement": "${1}",
        }
    )
    if port:
        relabel.append({"target_label": "endpoint", "replacement": port})
    return relabel


@dataclass(frozen=True)
class Job:
    """One scrape job: a ServiceMonitor endpoint and the namespaces it discovers in."""

    name: str
    namespaces: tuple[str, ...]
    config: dict[str, Any]

    @property
    def targets_file(self) -> str:
        return sanitized(self.name) + ".json"


def jobs_of(monitors: Sequence[Mapping[str, Any]], targets_dir: Path) -> list[Job]:
    jobs = []
    ordered = sorted(monitors, key=lambda m: (m["metadata"]["namespace"], m["metadata"]["name"]))
    for monitor in ordered:
        meta, spec = monitor["metadata"], monitor["spec"]
        selector = spec.get("namespaceSelector") or {}
        namespaces = tuple(selector.get("matchNames") or [meta["namespace"]])
        for index, endpoint in enumerate(spec.get("endpoints") or []):
            name = f"serviceMonitor/{meta['namespace']}/{meta['name']}/{index}"
            config: dict[str, Any] = {
                "job_name": name,
                "honor_labels": bool(endpoint.get("honorLabels", False)),
                "file_sd_configs": [{"files": [str(targets_dir / (sanitized(name) + ".json"))]}],
            }
            for source, target in (
                ("interval", "scrape_interval"),
                ("scrapeTimeout", "scrape_timeout"),
                ("path", "metrics_path"),
                ("scheme", "scheme"),
            ):
                if endpoint.get(source):
                    config[target] = endpoint[source]
            config["relabel_configs"] = relabelings(spec, endpoint)
            jobs.append(Job(name, namespaces, config))
    return jobs


def prometheus_config(jobs: Sequence[Job], rules_dir: Path) -> dict[str, Any]:
    return {
        "global": GLOBAL,
        "rule_files": [str(rules_dir / "*.yaml")],
        "scrape_configs": [job.config for job in jobs],
    }


def rule_file_name(rule: Mapping[str, Any]) -> str:
    meta = rule["metadata"]
    return f"{meta['namespace']}-{meta['name']}.yaml"


# ---------------------------------------------------------------- discovery ----


def _labels(prefix: str, labels: Mapping[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in labels.items():
        found[f"__meta_kubernetes_{prefix}_label_{sanitized(key)}"] = value
        found[f"__meta_kubernetes_{prefix}_labelpresent_{sanitized(key)}"] = "true"
    return found


def _container_labels(pod: Mapping[str, Any], port: int) -> dict[str, str]:
    """The container of the pod that declares the port, as Kubernetes SD names it."""
    for container in pod["spec"].get("containers") or []:
        for declared in container.get("ports") or []:
            if declared.get("containerPort") == port:
                return {
                    "__meta_kubernetes_pod_container_name": container["name"],
                    "__meta_kubernetes_pod_container_port_name": declared.get("name", ""),
                    "__meta_kubernetes_pod_container_port_number": str(port),
                    "__meta_kubernetes_pod_container_port_protocol": declared.get(
                        "protocol", "TCP"
                    ),
                }
    return {}


def endpointslice_targets(
    slices: Sequence[Mapping[str, Any]],
    services: Mapping[str, Mapping[str, Any]],
    pods: Mapping[str, Mapping[str, Any]],
) -> Iterator[dict[str, Any]]:
    """Kubernetes SD's `endpointslice` role: one target per endpoint address and port."""
    for eps in slices:
        meta = eps["metadata"]
        namespace = meta["namespace"]
        service_name = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        common = {
            "__meta_kubernetes_namespace": namespace,
            "__meta_kubernetes_endpointslice_name": meta["name"],
            "__meta_kubernetes_endpointslice_address_type": eps.get("addressType", ""),
        }
        service = services.get(f"{namespace}/{service_name}")
        if service is not None:
            common["__meta_kubernetes_service_name"] = service_name or ""
            common.update(_labels("service", service["metadata"].get("labels") or {}))
        for endpoint in eps.get("endpoints") or []:
            target_ref = endpoint.get("targetRef") or {}
            conditions = endpoint.get("conditions") or {}
            pod = pods.get(f"{namespace}/{target_ref.get('name')}")
            for address in endpoint.get("addresses") or []:
                for port in eps.get("ports") or []:
                    labels = {
                        **common,
                        "__meta_kubernetes_endpointslice_port": str(port.get("port", "")),
                        "__meta_kubernetes_endpointslice_port_name": port.get("name", ""),
                        "__meta_kubernetes_endpointslice_port_protocol": port.get(
                            "protocol", "TCP"
                        ),
                        "__meta_kubernetes_endpointslice_endpoint_conditions_ready": str(
                            bool(conditions.get("ready"))
                        ).lower(),
                    }
                    if target_ref:
                        labels["__meta_kubernetes_endpointslice_address_target_kind"] = (
                            target_ref.get("kind", "")
                        )
                        labels["__meta_kubernetes_endpointslice_address_target_name"] = (
                            target_ref.get("name", "")
                        )
                    if pod is not None and target_ref.get("kind") == "Pod":
                        labels["__meta_kubernetes_pod_name"] = pod["metadata"]["name"]
                        labels["__meta_kubernetes_pod_ip"] = pod["status"].get("podIP", "")
                        labels["__meta_kubernetes_pod_phase"] = pod["status"].get("phase", "")
                        labels["__meta_kubernetes_pod_node_name"] = pod["spec"].get("nodeName", "")
                        labels.update(_labels("pod", pod["metadata"].get("labels") or {}))
                        labels.update(_container_labels(pod, int(port.get("port", 0))))
                    yield {"targets": [f"{address}:{port.get('port')}"], "labels": labels}


class Cluster:
    """The API server, asked with the Prometheus kubeconfig (read access only)."""

    def __init__(self, kubeconfig: str) -> None:
        from kubernetes.config import new_client_from_config

        self.client = new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]

    def get(self, path: str) -> tuple[int, Any]:
        """(HTTP status, parsed JSON body) of a GET."""
        method, url, headers, _, _ = self.client.param_serialize(
            "GET", path, auth_settings=["BearerToken"]
        )
        response = self.client.call_api(method, url, header_params=headers)
        response.read()
        return int(response.status), json.loads(response.data)

    def items(self, path: str) -> list[dict[str, Any]]:
        """The list at `path`; empty when the resource does not exist (no CRDs)."""
        status, body = self.get(path)
        if status == 404:
            return []
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status}: {body}")
        items: list[dict[str, Any]] = body["items"]
        return items

    def namespaced(self, namespace: str) -> dict[str, list[dict[str, Any]]]:
        return {
            "slices": self.items(
                f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices"
            ),
            "services": self.items(f"/api/v1/namespaces/{namespace}/services"),
            "pods": self.items(f"/api/v1/namespaces/{namespace}/pods"),
        }


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)
    return True


def _keyed(objects: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {f"{o['metadata']['namespace']}/{o['metadata']['name']}": o for o in objects}


def sync(cluster: Cluster, out: Path) -> bool:
    """Write the configuration, the rule files and every job's targets; True when the
    configuration or the rules changed (targets need no reload)."""
    rules_dir, targets_dir = out / "rules", out / "targets"
    rules_dir.mkdir(parents=True, exist_ok=True)
    targets_dir.mkdir(parents=True, exist_ok=True)
    monitors = cluster.items("/apis/monitoring.coreos.com/v1/servicemonitors")
    rules = cluster.items("/apis/monitoring.coreos.com/v1/prometheusrules")
    jobs = jobs_of(monitors, targets_dir)
    seen: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for job in jobs:
        groups: list[dict[str, Any]] = []
        for namespace in job.namespaces:
            if namespace not in seen:
                seen[namespace] = cluster.namespaced(namespace)
            found = seen[namespace]
            groups += endpointslice_targets(
                found["slices"], _keyed(found["services"]), _keyed(found["pods"])
            )
        _write_if_changed(targets_dir / job.targets_file, json.dumps(groups, indent=1))
    wanted_targets = {job.targets_file for job in jobs}
    for stale in targets_dir.glob("*.json"):
        if stale.name not in wanted_targets:
            stale.unlink()
    config = prometheus_config(jobs, rules_dir)
    changed = _write_if_changed(out / "prometheus.yml", yaml.safe_dump(config, sort_keys=False))
    wanted = {rule_file_name(rule): rule for rule in rules}
    for name, rule in wanted.items():
        text = yaml.safe_dump({"groups": rule["spec"].get("groups") or []}, sort_keys=False)
        changed |= _write_if_changed(rules_dir / name, text)
    for stale in rules_dir.glob("*.yaml"):
        if stale.name not in wanted:
            stale.unlink()
            changed = True
    return changed


def reload(url: str) -> None:
    request = urllib.request.Request(url, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
    except (urllib.error.URLError, OSError) as error:
        print(f"servicemonitor_scrape: reload {url}: {error}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--reload", help="Prometheus's /-/reload URL, POSTed after a change")
    parser.add_argument("--watch", type=float, help="seconds between syncs (else once)")
    args = parser.parse_args(argv)
    cluster = Cluster(args.kubeconfig)
    while True:
        try:
            changed = sync(cluster, args.out)
        except Exception as error:  # the API server restarting, say: report, go on watching
            print(f"servicemonitor_scrape: {error}", file=sys.stderr, flush=True)
            if args.watch is None:
                return 1
            changed = False
        if changed and args.reload:
            reload(args.reload)
        if args.watch is None:
            return 0
        time.sleep(args.watch)


if __name__ == "__main__":
    sys.exit(main())
