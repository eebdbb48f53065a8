"""Secret config values enter Pulumi only as secret Outputs, encrypted in state."""

from __future__ import annotations

import pulumi

from involution.config.reader import SecretText


def secret_output(secret: SecretText) -> pulumi.Output[str]:
    return pulumi.Output.secret(secret.value)
