"""Under the real engine, `pulumi preview --debug` shows none of the SDK's four debug messages
per registered resource unless INVOLUTION_SDK_DEBUG=1 (program.sdk_debug; that the program's
own still go is tests/test_sdk_debug.py's)."""

from __future__ import annotations

import pytest

from program.sdk_debug import SDK_DEBUG_VARIABLE
from tests.engine_stacks import Deployed

pytestmark = pytest.mark.engine

SDK_MESSAGE = "resource registration successful"


def test_the_sdks_debug_messages_only_when_asked(deployed_dev: Deployed) -> None:
    project = deployed_dev.project
    quiet = project.pulumi("preview", "--debug", "--stack", "dev")
    loud = project.pulumi(
        "preview", "--debug", "--stack", "dev", env_extra={SDK_DEBUG_VARIABLE: "1"}
    )
    assert SDK_MESSAGE not in quiet.stdout + quiet.stderr
    # One per resource of the stack (the namespace, the router's Deployment, ...).
    assert loud.stdout.count(SDK_MESSAGE) > 20, loud.stdout[-3000:]
    assert "ty=kubernetes:core/v1:Namespace" in loud.stdout
