"""Monitoring: scrape configs, the rollback-trigger alerts, their routes and a dashboard, for a
cluster running the Prometheus Operator (kube-prometheus-stack)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.kubernetes_object import CONFIG_MAP, SECRET, KubernetesObject, custom_kind
from components.secrets import secret_output
from components.workload import recommended_labels
from involution.alert_rules import RuleContext, rule_groups
from involution.config.alerting import AlertingSettings
from involution.config.monitoring import MonitoringSettings
from involution.config.reader import SecretText
from involution.dashboard import dashboard_json
from involution.names import (
    ENGINE_NAME,
    ENGINE_VERSION_LABEL,
    NAME_LABEL,
    ROUTER_NAME,
    TRACK_LABEL,
)

MONITORING_API = "monitoring.coreos.com/v1"
ALERTMANAGER_API = "monitoring.coreos.com/v1alpha1"
ALERTING_SECRET = "involution-alerting"
SLACK_KEY = "slack-webhook-url"
PAGERDUTY_KEY = "pagerduty-routing-key"
EMAIL_PASSWORD_KEY = "email-auth-password"


@dataclass(frozen=True)
class MonitoringArgs:
    """Thresholds, routes and where the rules apply."""

    monitoring: MonitoringSettings
    alerting: AlertingSettings
    namespace: pulumi.Input[str]
    namespace_name: str
    instance: str
    rollback_command: str


def alertmanager_spec(alerting: AlertingSettings) -> dict[str, Any]:
    """Critical to PagerDuty, warnings to Slack, release summaries to email; secrets by
    reference to the Secret, never inline."""
    receivers: list[dict[str, Any]] = [{"name": "null"}]
    routes: list[dict[str, Any]] = []
    if alerting.pagerduty_routing_key is not None:
        receivers.append(
            {
                "name": "pagerduty",
                "pagerdutyConfigs": [
                    {
                        "routingKey": {"name": ALERTING_SECRET, "key": PAGERDUTY_KEY},
                        "sendResolved": True,
                    }
                ],
            }
        )
        routes.append(
            {
                "receiver": "pagerduty",
                "matchers": [{"name": "severity", "value": "critical", "matchType": "="}],
                "repeatInterval": "1h",
            }
        )
    if alerting.slack_webhook_url is not None:
        slack: dict[str, Any] = {
            "apiURL": {"name": ALERTING_SECRET, "key": SLACK_KEY},
            "sendResolved": True,
            "title": "{{ .CommonAnnotations.summary }}",
            "text": (
                "{{ .CommonAnnotations.description }}\n{{ .CommonAnnotations.rollback_command }}"
            ),
        }
        if alerting.slack_channel:
            slack["channel"] = alerting.slack_channel
        receivers.append({"name": "slack", "slackConfigs": [slack]})
        # Critical alerts reach Slack too (continue on the PagerDuty route): the team sees
        # every rollback trigger where it discusses releases.
        if routes:
            routes[0]["continue"] = True
        routes.append(
            {
                "receiver": "slack",
                "matchers": [{"name": "severity", "value": "critical|warning", "matchType": "=~"}],
                "repeatInterval": "4h",
            }
        )
    if alerting.email_to is not None:
        email: dict[str, Any] = {
            "to": alerting.email_to,
            "from": alerting.email_from,
            "smarthost": alerting.email_smarthost,
            "sendResolved": False,
            "requireTLS": True,
        }
        if alerting.email_auth_username:
            email["authUsername"] = alerting.email_auth_username
        if alerting.email_auth_password is not None:
            email["authPassword"] = {"name": ALERTING_SECRET, "key": EMAIL_PASSWORD_KEY}
        receivers.append({"name": "email", "emailConfigs": [email]})
        routes.append(
            {
                "receiver": "email",
                "matchers": [{"name": "notify", "value": "release-summary", "matchType": "="}],
                "repeatInterval": "24h",
            }
        )
    return {
        "route": {
            "receiver": "null",
            "groupBy": ["alertname", TRACK_LABEL],
            "groupWait": "30s",
            "groupInterval": "5m",
            "repeatInterval": "4h",
            "routes": routes,
        },
        "receivers": receivers,
    }


def alerting_secret_data(alerting: AlertingSettings) -> dict[str, pulumi.Output[str]]:
    pairs: list[tuple[str, SecretText | None]] = [
        (SLACK_KEY, alerting.slack_webhook_url),
        (PAGERDUTY_KEY, alerting.pagerduty_routing_key),
        (EMAIL_PASSWORD_KEY, alerting.email_auth_password),
    ]
    return {key: secret_output(value) for key, value in pairs if value is not None}


class Monitoring(pulumi.ComponentResource):
    """ServiceMonitors for the engine tracks and the router, the PrometheusRule, the
    AlertmanagerConfig with its Secret, and the Grafana dashboard ConfigMap."""

    rule_names: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("involution:index:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        m = args.monitoring
        labels = {
            **recommended_labels(
                name="involution-monitoring", component="monitoring", instance=args.instance
            ),
            # The Prometheus Operator of kube-prometheus-stack selects on this label.
            "release": m.prometheus_release_label,
        }

        def monitor(part: str, app: str, port: str, target_labels: list[str]) -> None:
            KubernetesObject(
                f"{name}-{part}-servicemonitor",
                custom_kind(MONITORING_API, "ServiceMonitor"),
                metadata={"name": app, "namespace": args.namespace, "labels": labels},
                fields={
                    "spec": {
                        "selector": {"matchLabels": {NAME_LABEL: app}},
                        "namespaceSelector": {"matchNames": [args.namespace_name]},
                        "targetLabels": target_labels,
                        "endpoints": [
                            {
                                "port": port,
                                "path": "/metrics",
                                "interval": "15s",
                                "honorLabels": False,
                            }
                        ],
                    }
                },
                opts=child,
            )

        # One monitor for both tracks: `track` and `version` come from the Service labels.
        monitor("engine", ENGINE_NAME, "http", [TRACK_LABEL, ENGINE_VERSION_LABEL])
        monitor("router", ROUTER_NAME, "status", [])

        groups = rule_groups(
            m,
            RuleContext(
                namespace=args.namespace_name,
                stack=args.instance,
                rollback_command=args.rollback_command,
            ),
        )
        KubernetesObject(
            f"{name}-rules",
            custom_kind(MONITORING_API, "PrometheusRule"),
            metadata={"name": "involution-release", "namespace": args.namespace, "labels": labels},
            fields={"spec": groups},
            opts=child,
        )

        if args.alerting.has_receivers:
            secret = KubernetesObject(
                f"{name}-alerting-secret",
                SECRET,
                metadata={"name": ALERTING_SECRET, "namespace": args.namespace, "labels": labels},
                fields={"type": "Opaque", "stringData": alerting_secret_data(args.alerting)},
                opts=child,
            )
            KubernetesObject(
                f"{name}-alertmanager-config",
                custom_kind(ALERTMANAGER_API, "AlertmanagerConfig"),
                metadata={"name": "involution", "namespace": args.namespace, "labels": labels},
                fields={"spec": alertmanager_spec(args.alerting)},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[secret]),
            )

        KubernetesObject(
            f"{name}-dashboard",
            CONFIG_MAP,
            metadata={
                "name": "involution-canary-dashboard",
                "namespace": args.namespace,
                # Picked up by the Grafana sidecar of kube-prometheus-stack.
                "labels": {**labels, "grafana_dashboard": "1"},
                "annotations": {"grafana_folder": "Involution"},
            },
            fields={
                "data": {
                    "involution-canary.json": dashboard_json(m, args.namespace_name, args.instance)
                }
            },
            opts=child,
        )
        self.rule_names = pulumi.Output.from_input(
            [rule.get("alert") or rule["record"] for g in groups["groups"] for rule in g["rules"]]
        )
        self.register_outputs({"rule_names": self.rule_names})
