"""Run the policy pack the way the Pulumi engine does, without the engine.

    with PolicyPackProcess(stack="production") as pack:
        pack.configure(load_policy_config(CONFIG_DIR / "production.json"))
        report = pack.check(resources_from_run(run))

One module per concern: `wire` (resources as protobuf Structs, the way the engine marshals
them), `config` (loading and validating a pack's per-environment policy config), `process`
(starting the pack and speaking the Analyzer gRPC protocol) and `report` (violations and
printing them). This package re-exports what callers use.
"""

from __future__ import annotations

from tools.policy_client.config import (
    CONFIG_DIR,
    LEVELS,
    PACK_DIR,
    PROJECT_DIR,
    PolicyConfigEntry,
    PolicyInfo,
    PolicyPackError,
    load_policy_config,
    parse_policy_config,
    reconcile_policy_config,
    schema_errors,
)
from tools.policy_client.process import PolicyPackProcess, pack_project, pack_python
from tools.policy_client.report import PolicyReport, Violation, print_report
from tools.policy_client.wire import (
    PROJECT,
    UNKNOWN,
    UNKNOWN_SENTINEL,
    PackProvider,
    PackResource,
    Unknown,
    analyze_request,
    analyze_stack_request,
    resources_from_run,
    to_struct,
)

__all__ = [
    "CONFIG_DIR",
    "LEVELS",
    "PACK_DIR",
    "PROJECT",
    "PROJECT_DIR",
    "UNKNOWN",
    "UNKNOWN_SENTINEL",
    "PackProvider",
    "PackResource",
    "PolicyConfigEntry",
    "PolicyInfo",
    "PolicyPackError",
    "PolicyPackProcess",
    "PolicyReport",
    "Unknown",
    "Violation",
    "analyze_request",
    "analyze_stack_request",
    "load_policy_config",
    "pack_project",
    "pack_python",
    "parse_policy_config",
    "print_report",
    "reconcile_policy_config",
    "resources_from_run",
    "schema_errors",
    "to_struct",
]
