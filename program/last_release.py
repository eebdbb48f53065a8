"""What the stack (and its `promoteFrom` stack) last deployed, read through StackReferences.

A StackReference to the current stack reads the outputs of its last update, on the file
backend as on Pulumi Cloud; the program waits for them before it registers any resource, so
a refused step fails preview and up alike with nothing changed.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime.sync_await import _sync_await

from involution.release.state import DeployedRelease, UpstreamRelease
from involution.versions import EngineVersion, VersionError

# The local file backend names every stack `organization/<project>/<stack>`.
FILE_BACKEND_ORGANIZATION = "organization"
# The engine's builtin function behind StackReference reads.
READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs"


def qualified_stack_name(stack: str) -> str:
    """`<organization>/<project>/<stack>` of a stack of this project."""
    organization = pulumi.get_organization() or FILE_BACKEND_ORGANIZATION
    return f"{organization}/{pulumi.get_project()}/{stack}"


def stack_outputs(resource_name: str, stack: str) -> dict[str, Any]:
    """The last outputs of `stack`; empty when it was never deployed."""
    reference = pulumi.StackReference(resource_name, stack_name=qualified_stack_name(stack))
    outputs = _sync_await(reference.outputs.future())
    return dict(outputs or {})


def deployed_release(stack: str) -> DeployedRelease | None:
    """The current stack's last deployment; None for its first."""
    return DeployedRelease.from_outputs(stack_outputs("last-release", stack))


def stack_exists(stack: str) -> bool:
    """Whether the backend knows `stack`. A StackReference to an unknown stack fails the whole
    update with the engine's own error; this builtin read fails alone, so it can be asked."""
    try:
        pulumi.runtime.invoke(READ_STACK_OUTPUTS, {"name": qualified_stack_name(stack)})
    except Exception:  # the engine's error names the stack; only yes or no matters here
        return False
    return True


def upstream_release(stack: str) -> UpstreamRelease:
    """The stable version the `promoteFrom` stack runs, if any."""
    if not stack_exists(stack):
        return UpstreamRelease(stack=stack, stable=None)
    value = stack_outputs("upstream-release", stack).get("stableVersion")
    try:
        stable = EngineVersion.parse(value) if isinstance(value, str) else None
    except VersionError:
        stable = None
    return UpstreamRelease(stack=stack, stable=stable)
