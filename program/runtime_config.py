"""Reads the stack's `involution:` config from the Pulumi runtime, once."""

from __future__ import annotations

from datetime import datetime

import pulumi
from pulumi.runtime import config as runtime_config

from involution.contract import NAMESPACE
from involution.errors import CLUSTER_HEADING, PATH_HEADING, ConfigError
from involution.release.checks import CheckedRelease, check_release
from involution.settings import Settings, parse_settings
from program.analysis_gate import analysis_problems
from program.cluster_check import cluster_problems
from program.last_release import deployed_release, upstream_release
from program.live_release import live_release
from program.release_line import read_line


class StackConfigError(ConfigError, pulumi.RunError):
    """A ConfigError as the engine reports user mistakes: one message, no traceback."""


def raw_config() -> dict[str, str]:
    """Every `involution:*` value as the engine handed it over (objects arrive as JSON text)."""
    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{NAMESPACE}:"
    return {
        key[len(prefix) :]: value if isinstance(value, str) else str(value)
        for key, value in merged.items()
        if key.startswith(prefix)
    }


def read_settings() -> Settings:
    """Parse and validate the stack config; raises StackConfigError before any resource."""
    try:
        return parse_settings(raw_config(), stack=pulumi.get_stack())
    except ConfigError as error:
        raise StackConfigError(list(error.problems), error.heading) from None


def check_cluster(settings: Settings) -> None:
    """Raise StackConfigError, before any resource is registered, when the target cluster
    cannot take the stack (no Prometheus Operator CRDs while monitoring is enabled)."""
    problems = cluster_problems(settings)
    if problems:
        raise StackConfigError(problems, CLUSTER_HEADING)


def read_release(settings: Settings, now: datetime) -> CheckedRelease:
    """The step the config asks for against what the stack last deployed and what the cluster
    runs; raises StackConfigError, before any resource is registered, when the release path
    refuses it."""
    preview = pulumi.runtime.is_dry_run()
    try:
        checked = check_release(
            settings,
            deployed_release(settings.stack),
            now=now,
            read_upstream=upstream_release,
            live=live_release(settings),
            preview=preview,
            line=read_line(),
        )
    except ConfigError as error:
        raise StackConfigError(list(error.problems), error.heading) from None
    for notice in checked.notices:
        pulumi.log.info(notice)
    problems, _ = analysis_problems(settings, checked.verdict.step, preview=preview)
    if problems:
        raise StackConfigError(problems, PATH_HEADING)
    return checked
