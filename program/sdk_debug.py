"""The Pulumi SDK's own debug messages, sent to the engine only when asked for.

The Python SDK logs four debug messages for each resource it registers ("registering
resource", "resource registration prepared", ...), each one a blocking `Log` call to the engine
that holds the program's event loop while it waits, and the engine drops them unless
`pulumi up --debug` shows debug output. A dev `pulumi preview` made 183 of them; sent or
not (INVOLUTION_SDK_DEBUG=1 or unset, 7 alternating runs, medians) it took 2.36 or 2.05 s of
CPU (the program 1.15 or 0.95 s, `pulumi` 0.92 or 0.83 s), a no-op `pulumi up` 2.38 or 2.33 s.
So they are left out unless `INVOLUTION_SDK_DEBUG=1`; debug messages from anything else (the
program, the providers' SDKs) always go.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import pulumi

SDK_DEBUG_VARIABLE = "INVOLUTION_SDK_DEBUG"
_QUIET = "_involution_sdk_debug_quiet"


class LogModule(Protocol):
    """`pulumi.log`, or a stand-in with its `debug`."""

    debug: Callable[..., None]


def _from_the_sdk(module: str) -> bool:
    return module == "pulumi" or module.startswith("pulumi.")


def quiet_sdk_debug(log: LogModule = pulumi.log, environ: Mapping[str, str] = os.environ) -> bool:
    """Replace `log.debug` by one that drops the SDK's own calls; False when
    INVOLUTION_SDK_DEBUG=1 keeps them (or it is already done)."""
    send = log.debug
    if environ.get(SDK_DEBUG_VARIABLE) == "1" or getattr(send, _QUIET, False):
        return False

    def debug(msg: str, *args: Any, **kwargs: Any) -> None:
        if not _from_the_sdk(sys._getframe(1).f_globals.get("__name__", "")):
            send(msg, *args, **kwargs)

    setattr(debug, _QUIET, True)
    log.debug = debug
    return True
