"""The wiring layer: reads the stack's config from the Pulumi runtime and builds the components.

Above `components/` and `involution/`; the only package `__main__.py` imports.
"""

from program.deploy import deploy
from program.sdk_debug import quiet_sdk_debug

__all__ = ["deploy", "quiet_sdk_debug"]
