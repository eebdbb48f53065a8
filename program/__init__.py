"""The wiring layer: reads the stack's config from the Pulumi runtime and builds the components.

Above `components/` and `involution/`; the only package `__main__.py` imports.
"""

from program.deploy import deploy

__all__ = ["deploy"]
