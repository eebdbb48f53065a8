"""Monitoring: both tracks are watched by alert rules, and the canary has a rollback trigger."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from pulumi_policy import EnforcementLevel, ReportViolation, StackValidationArgs

from involution_policies.config import Schema, config_of, stack_policy, string_list
from involution_policies.names import TRACK_LABEL, TRACKS
from involution_policies.props import elements, get, is_unknown, string_map
from involution_policies.resources import objects

MONITORING_SCHEMA: Final[Schema] = {
    "requiredTracks": string_list("tracks that need alert rules", TRACKS),
    "requireRollbackTrigger": {
        "type": "boolean",
        "default": True,
        "description": "require a canary alert labelled rollback=true (a rollback trigger)",
    },
}


def monitoring_rules_per_track(args: StackValidationArgs, report: ReportViolation) -> None:
    """A PrometheusRule carries alerts for both tracks (labels track=stable and track=canary),
    including at least one canary rollback trigger.

    The release process advances or rolls back on error rate, latency and accuracy per track;
    a track without alerts is a track nobody watches.
    """
    cfg = config_of(args, MONITORING_SCHEMA)
    rules = objects(args.resources, "PrometheusRule")
    if not rules:
        report("no PrometheusRule: no alert watches the release", None)
        return
    tracks: set[str] = set()
    rollback_trigger = False
    unknown = False
    for rule_set in rules:
        groups = get(rule_set.props, "spec", "groups")
        if is_unknown(groups):
            unknown = True
            continue
        for group in elements(groups):
            for rule in elements(get(group, "rules")):
                if not isinstance(rule, Mapping) or get(rule, "alert") is None:
                    continue
                labels = string_map(get(rule, "labels"))
                track = labels.get(TRACK_LABEL)
                if track:
                    tracks.add(track)
                if track == "canary" and labels.get("rollback") == "true":
                    rollback_trigger = True
    if unknown:
        return
    missing = [track for track in cfg.strings("requiredTracks") if track not in tracks]
    if missing:
        report(f"no alert is labelled track={', track='.join(missing)}", rules[0].urn)
    if cfg.flag("requireRollbackTrigger") and "canary" not in missing and not rollback_trigger:
        report('no canary alert is a rollback trigger (label rollback="true")', rules[0].urn)


POLICIES: Final = [
    stack_policy(
        "monitoring-rules-per-track",
        EnforcementLevel.MANDATORY,
        monitoring_rules_per_track,
        MONITORING_SCHEMA,
    ),
]
