"""The canary dashboard's numbers now, in a terminal: each panel of the Grafana dashboard the
stack deployed (its ConfigMap), its queries asked of a Prometheus.

    venv/bin/python -m tools.dashboard_numbers --namespace involution \\
        [--prometheus-url URL] [--context involution-local]

The local cluster has no Grafana; its Prometheus (scripts/cluster.sh prometheus-url, the
default) scrapes the pods and evaluates the stack's recording rules, so the numbers are the
ones the dashboard would plot: phase, weights, requests per second, error ratio and latency
by track. A panel whose query has no data says so.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from harness.cluster.local import local_cluster
from harness.tooling import ToolMissing
from involution.prometheus import PrometheusClient, PrometheusError, Sample

DASHBOARD_CONFIG_MAP = "involution-canary-dashboard"
_LEGEND = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def legend(template: str, labels: Mapping[str, str]) -> str:
    """Grafana's legend format: `{{track}}` from the series' labels."""
    return _LEGEND.sub(lambda m: labels.get(m.group(1), ""), template) or "value"


def panels(dashboard: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(title, expr, legend format) of every query of every panel, rows' panels included."""
    for panel in dashboard.get("panels", []):
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"], target.get("legendFormat", "")
        yield from panels(panel)


def numbers(dashboard: Mapping[str, Any], client: PrometheusClient) -> list[str]:
    lines = []
    for title, expr, template in panels(dashboard):
        samples: list[Sample] = client.query(expr)
        if not samples:
            lines.append(f"{title}: no data")
            continue
        values = ", ".join(
            f"{legend(template, s.labels)} {s.value:.4g}"
            for s in sorted(samples, key=lambda s: sorted(s.labels.items()))
        )
        lines.append(f"{title}: {values}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--namespace", default="involution")
    parser.add_argument("--prometheus-url", help="default: the local cluster's Prometheus")
    args = parser.parse_args(argv)
    try:
        cluster = local_cluster(start=False)
    except ToolMissing as absent:
        print(absent, file=sys.stderr)
        return 2
    found = cluster.kubectl(
        "get", "configmap", DASHBOARD_CONFIG_MAP, "-n", args.namespace, "-o", "json", check=False
    )
    if found.returncode != 0:
        print(f"no dashboard in {args.namespace}: {found.stderr.strip()}", file=sys.stderr)
        return 1
    data: dict[str, str] = json.loads(found.stdout)["data"]
    dashboard = json.loads(next(iter(data.values())))
    client = PrometheusClient(args.prometheus_url or cluster.prometheus_url)
    try:
        print(f"{dashboard['title']} ({client.url}):")
        print("\n".join(f"  {line}" for line in numbers(dashboard, client)))
    except PrometheusError as error:
        print(error, file=sys.stderr)
        return 5
    return 0


if __name__ == "__main__":
    sys.exit(main())
