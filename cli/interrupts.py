"""Children that SIGINT can stop, also when this process was started deaf to it.

A shell without job control starts a background job (`involution watch ... &` in a script, a
test runner started with `&`) with SIGINT ignored, and an ignored signal stays ignored through
`exec`: the engine's plugins (its language host first) then ignore the SIGINT by which
`pulumi` closes them, and `pulumi` waits 5 s for each before it kills it. That was 4.5 s added
to every `pulumi up` (one dev `up`: 6.9 s started so, 2.2 s otherwise), to a watch's rollback
as much as to any step. A signal that is handled, not ignored, is back at its default in a
child; handling SIGINT by doing nothing keeps this process as deaf to it as it was started.
"""

from __future__ import annotations

import signal
from types import FrameType


def let_children_hear_sigint() -> None:
    """If this process ignores SIGINT, go on ignoring it by a handler of its own, so that the
    processes it starts from now on get SIGINT's default. Call from the main thread."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, _still_ignored)


def _still_ignored(signum: int, frame: FrameType | None) -> None:
    """SIGINT, as ignored by this process as before."""
