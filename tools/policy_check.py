"""Offline policy check: the stack under mocks, its resources through the policy pack.

    python -m tools.policy_check --stack production --placeholder-secrets \\
        [--set canaryVersion=v1.3.0 --set canaryPhase=10 --set approval={...}] \\
        [--policy-config policies/config/production.json] [--now 2026-11-24T12:00:00Z]

No cluster, no credentials, no Pulumi engine: the real program runs under Pulumi mocks (as a
preview), and the pack runs in its own process, spoken to over the Analyzer gRPC protocol the
way `pulumi preview --policy-pack policies` would (tools/policy_client/). Prints every
violation (level, policy, resource, message) and exits 1 on a mandatory one, 2 when the stack
config or the policy config is invalid.

Secrets: a committed stack file carries its secrets encrypted (they become placeholders here)
or not at all (operators set them per stack). `--set redisPassword=...` supplies one;
`--placeholder-secrets` fills every secret the stack file lacks, and the alert routes
production requires, with placeholders, which is what CI and pull requests use: the policies
judge where secrets go, not their values. The policy config defaults to
policies/config/<environment>.json of the stack's `environment`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.mockrun import load_stack_config, run_program
from involution.errors import ConfigError
from tools.policy_client import (
    CONFIG_DIR,
    PolicyConfigEntry,
    PolicyPackError,
    PolicyPackProcess,
    load_policy_config,
    print_report,
    resources_from_run,
)
from tools.render import parse_overrides

APPROVAL_POLICY = "production-approval-recorded"
# Stand-ins for what operators set with `pulumi config set --secret`: never real values.
PLACEHOLDER_SECRETS: Mapping[str, Any] = {"redisPassword": "placeholder-redis-password"}
PLACEHOLDER_ALERTING: Mapping[str, str] = {
    "slackWebhookUrl": "https://hooks.slack.example/services/PLACEHOLDER",
    "pagerdutyRoutingKey": "placeholder-pagerduty-routing-key",
    "emailTo": "releases@placeholder.example",
    "emailFrom": "alertmanager@placeholder.example",
    "emailSmarthost": "smtp.placeholder.example:587",
}


def with_placeholders(stack: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Overrides plus placeholders for the secrets (and alert routes) the stack file lacks."""
    raw = load_stack_config(stack)
    result = dict(overrides)
    for key, value in PLACEHOLDER_SECRETS.items():
        if key not in raw and key not in result:
            result[key] = value
    environment = result.get("environment", raw.get("environment", "dev"))
    if environment == "production" and "alerting" not in result:
        present = json.loads(raw["alerting"]) if "alerting" in raw else {}
        result["alerting"] = {**PLACEHOLDER_ALERTING, **present}
    return result


def environment_of(stack: str, overrides: Mapping[str, Any]) -> str:
    value = overrides.get("environment", load_stack_config(stack).get("environment", "dev"))
    return str(value or "dev")


def policy_config(path: Path, now: datetime | None) -> dict[str, PolicyConfigEntry]:
    config = load_policy_config(path)
    if now is not None:
        entry = config.get(APPROVAL_POLICY, PolicyConfigEntry(None, {}))
        config[APPROVAL_POLICY] = PolicyConfigEntry(
            entry.level, {**entry.properties, "evaluationTime": now.isoformat()}
        )
    return config


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--stack", default="dev", help="stack file Pulumi.<stack>.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--policy-config",
        type=Path,
        help="policy config JSON (default: policies/config/<environment>.json)",
    )
    parser.add_argument(
        "--placeholder-secrets",
        "--with-test-secrets",
        action="store_true",
        help="fill secrets the stack file lacks with placeholders",
    )
    parser.add_argument(
        "--now",
        type=datetime.fromisoformat,
        help="judge the stack at this time (approval expiry) instead of now",
    )
    args = parser.parse_args(argv)

    overrides = parse_overrides(args.set)
    if args.placeholder_secrets:
        overrides = with_placeholders(args.stack, overrides)
    environment = environment_of(args.stack, overrides)
    config_path = args.policy_config or CONFIG_DIR / f"{environment}.json"
    try:
        run = run_program(args.stack, overrides, now=args.now, preview=True)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        config = policy_config(config_path, args.now)
        with PolicyPackProcess(stack=args.stack) as pack:
            pack.configure(config)
            report = pack.check(resources_from_run(run))
    except (PolicyPackError, OSError, ValueError) as error:
        print(f"policy check failed: {error}", file=sys.stderr)
        return 2
    print(f"stack {args.stack} ({environment}), policy config {config_path}", file=sys.stdout)
    print_report(report, sys.stdout)
    return 1 if report.mandatory else 0


if __name__ == "__main__":
    sys.exit(main())
