"""Hardening: every container is sized and locked down to the `restricted` Pod Security
Standard.

They apply to anything with a pod template (Deployment, StatefulSet, DaemonSet, ReplicaSet,
Job, CronJob, Pod) and to init containers as well as the main ones, where Kubernetes lets
those carry the setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs

from involution_policies.config import Schema, config_of, resource_policy, string_list
from involution_policies.kube import Container, containers, workload_spec
from involution_policies.props import as_int, elements, get, is_unknown


def _effective(container: Container, pod: Mapping[str, Any], key: str) -> Any:
    """A security setting as the kubelet applies it: the container's, else the pod's."""
    value = get(container.spec, "securityContext", key)
    return value if value is not None else get(pod, "securityContext", key)


RESOURCES_SCHEMA: Final[Schema] = {
    "requests": string_list("resources every container requests", ["cpu", "memory"]),
    "limits": string_list("resources every container is limited on", ["cpu", "memory"]),
}


def container_resources(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every container sets CPU and memory requests and limits.

    Requests let the scheduler place pods where they fit; limits keep one runaway container
    (a canary with a leak) from starving the stable track on the same node.
    """
    workload = workload_spec(args.resource_type, args.props)
    if workload is None:
        return
    cfg = config_of(args, RESOURCES_SCHEMA)
    for container in containers(workload[1]):
        resources = get(container.spec, "resources")
        if is_unknown(resources):
            continue
        for section in ("requests", "limits"):
            values = get(resources, section)
            if is_unknown(values):
                continue
            missing = [
                name
                for name in cfg.strings(section)
                if get(values, name) is None or get(values, name) == ""
            ]
            if missing:
                report(f"{container.label} sets no {section} for {', '.join(missing)}", None)


def run_as_non_root(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every container runs as a non-root user (`runAsNonRoot: true`, never UID 0).

    A process escaping a root container is root on the node; the namespace enforces the
    `restricted` Pod Security Standard, which rejects such pods at admission anyway.
    """
    workload = workload_spec(args.resource_type, args.props)
    if workload is None:
        return
    pod = workload[1]
    for container in containers(pod):
        non_root = _effective(container, pod, "runAsNonRoot")
        user = as_int(_effective(container, pod, "runAsUser"))
        if is_unknown(non_root):
            continue
        if non_root is not True:
            report(f"{container.label} does not set runAsNonRoot: true", None)
        if user == 0:
            report(f"{container.label} runs as UID 0 (root)", None)


def read_only_root_filesystem(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every container mounts its root filesystem read-only.

    An attacker (or a bug) cannot change the binaries a container runs; what must be written
    goes to an explicit volume such as the in-memory /tmp the program mounts.
    """
    workload = workload_spec(args.resource_type, args.props)
    if workload is None:
        return
    for container in containers(workload[1]):
        value = get(container.spec, "securityContext", "readOnlyRootFilesystem")
        if not is_unknown(value) and value is not True:
            report(f"{container.label} does not set readOnlyRootFilesystem: true", None)


PRIVILEGES_SCHEMA: Final[Schema] = {
    "allowedCapabilities": string_list(
        "capabilities a container may add back (the restricted profile allows only this one)",
        ["NET_BIND_SERVICE"],
    ),
}


def restricted_privileges(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """No privileged container, no privilege escalation, every capability dropped (`drop:
    [ALL]`) and no host namespaces.

    These are the container-level rules of the `restricted` Pod Security Standard: a
    compromised engine process gets nothing beyond its own files.
    """
    workload = workload_spec(args.resource_type, args.props)
    if workload is None:
        return
    pod = workload[1]
    cfg = config_of(args, PRIVILEGES_SCHEMA)
    allowed = {cap.upper() for cap in cfg.strings("allowedCapabilities")}
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if get(pod, field) is True:
            report(f"the pod shares the node's namespace ({field}: true)", None)
    for container in containers(pod):
        context = get(container.spec, "securityContext")
        if is_unknown(context):
            continue
        if get(context, "privileged") is True:
            report(f"{container.label} is privileged", None)
        escalation = get(context, "allowPrivilegeEscalation")
        if not is_unknown(escalation) and escalation is not False:
            report(f"{container.label} does not set allowPrivilegeEscalation: false", None)
        drop = get(context, "capabilities", "drop")
        if not is_unknown(drop):
            dropped = {str(cap).upper() for cap in elements(drop) if isinstance(cap, str)}
            if "ALL" not in dropped:
                report(f"{container.label} does not drop ALL capabilities", None)
        added = [
            str(cap)
            for cap in elements(get(context, "capabilities", "add"))
            if isinstance(cap, str) and cap.upper() not in allowed
        ]
        if added:
            report(f"{container.label} adds capabilities {', '.join(added)}", None)


POLICIES: Final = [
    resource_policy(
        "container-resources",
        EnforcementLevel.MANDATORY,
        container_resources,
        RESOURCES_SCHEMA,
    ),
    resource_policy("run-as-non-root", EnforcementLevel.MANDATORY, run_as_non_root),
    resource_policy(
        "read-only-root-filesystem", EnforcementLevel.MANDATORY, read_only_root_filesystem
    ),
    resource_policy(
        "restricted-privileges",
        EnforcementLevel.MANDATORY,
        restricted_privileges,
        PRIVILEGES_SCHEMA,
    ),
]
