"""Alert routes: critical to PagerDuty, warnings to Slack, release summaries to email."""

from __future__ import annotations

import re
from dataclasses import dataclass

from involution.config.reader import ConfigReader, SecretText

SECRET_FIELDS = frozenset({"slackWebhookUrl", "pagerdutyRoutingKey", "emailAuthPassword"})
FIELDS = {
    "slackWebhookUrl": "Slack incoming-webhook URL (secret)",
    "slackChannel": "Slack channel for warnings",
    "pagerdutyRoutingKey": "PagerDuty Events v2 routing key (secret)",
    "emailTo": "address of release summaries",
    "emailFrom": "sender of release summaries",
    "emailSmarthost": "SMTP relay host:port",
    "emailAuthUsername": "SMTP user",
    "emailAuthPassword": "SMTP password (secret)",
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_HOST_PORT = re.compile(r"[A-Za-z0-9.-]+:[0-9]{1,5}")


@dataclass(frozen=True)
class AlertingSettings:
    """Receivers; secrets stay SecretText until they become Kubernetes Secret data."""

    slack_webhook_url: SecretText | None = None
    slack_channel: str | None = None
    pagerduty_routing_key: SecretText | None = None
    email_to: str | None = None
    email_from: str | None = None
    email_smarthost: str | None = None
    email_auth_username: str | None = None
    email_auth_password: SecretText | None = None

    @property
    def has_receivers(self) -> bool:
        return bool(self.slack_webhook_url or self.pagerduty_routing_key or self.email_to)


def read_alerting(reader: ConfigReader, *, production: bool) -> AlertingSettings:
    o = reader.fields("alerting", FIELDS, SECRET_FIELDS)
    webhook = o.secret("slackWebhookUrl")
    if webhook is not None and not webhook.value.startswith("https://"):
        o.problem("slackWebhookUrl", webhook.value, "an https:// webhook URL")
    email_to = o.text("emailTo")
    email_from = o.text("emailFrom")
    smarthost = o.text("emailSmarthost")
    for name, value in (("emailTo", email_to), ("emailFrom", email_from)):
        if value is not None and not _EMAIL.fullmatch(value):
            o.problem(name, value, "an email address")
    if smarthost is not None and not _HOST_PORT.fullmatch(smarthost):
        o.problem("emailSmarthost", smarthost, "host:port of an SMTP relay")
    if email_to is not None and (email_from is None or smarthost is None):
        missing = "emailFrom" if email_from is None else "emailSmarthost"
        o.problem(missing, None, "required with emailTo")
    settings = AlertingSettings(
        slack_webhook_url=webhook,
        slack_channel=o.text("slackChannel"),
        pagerduty_routing_key=o.secret("pagerdutyRoutingKey"),
        email_to=email_to,
        email_from=email_from,
        email_smarthost=smarthost,
        email_auth_username=o.text("emailAuthUsername"),
        email_auth_password=o.secret("emailAuthPassword"),
    )
    if production:
        # A rollback trigger nobody hears is no trigger: production must page and notify.
        required: dict[str, object] = {
            "pagerdutyRoutingKey": settings.pagerduty_routing_key,
            "slackWebhookUrl": settings.slack_webhook_url,
            "emailTo": settings.email_to,
        }
        for name, configured in required.items():
            if configured is None:
                secret = " --secret" if name in SECRET_FIELDS else ""
                o.problem(
                    name,
                    None,
                    f"required in production: pulumi config set --path{secret} "
                    f"involution:alerting.{name} <value>",
                )
    return settings
