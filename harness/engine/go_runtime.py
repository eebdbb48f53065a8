"""The Go runtime's garbage collection for the processes the suite starts.

The engine's Go processes (CLI, language host, provider: some 800 a run) live a second or two;
collecting no garbage until the heap nears 1 GiB takes 0.2 s of CPU off each `pulumi up` (a dev
`up` peaks at 0.22 GB). Daemons that live for minutes (Prometheus, the local cluster's API
servers) keep the runtime's own defaults, or a heap left to grow would only be collected at
the limit. A caller's own GOGC or GOMEMLIMIT is kept everywhere. The settings are those
scripts/pulumi.sh gives an operator's engine (scripts/lib/go_runtime.env), so the suite times
the engine as it runs for its users.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping

from harness.paths import PROJECT_DIR

# The settings' one home, which scripts/pulumi.sh reads too (an operator's engine runs so).
SETTINGS_FILE = PROJECT_DIR / "scripts" / "lib" / "go_runtime.env"


def _settings() -> dict[str, str]:
    """KEY=VALUE lines whose key is a Go runtime variable, as scripts/pulumi.sh reads them."""
    pairs = (line.partition("=") for line in SETTINGS_FILE.read_text().splitlines())
    return {key: value for key, _, value in pairs if re.fullmatch(r"GO[A-Z]+", key)}


SHORT_LIVED = _settings()
# Set beside SHORT_LIVED, so a daemon's environment can tell the suite's setting from a caller's.
MARK = "INVOLUTION_SUITE_GO_RUNTIME"


def for_short_lived(environ: MutableMapping[str, str]) -> None:
    """SHORT_LIVED in `environ` (inherited by every process started from it), unless the caller
    tunes the Go runtime already."""
    if not any(key in environ for key in SHORT_LIVED):
        environ.update(SHORT_LIVED)
        environ[MARK] = "1"


def for_daemons(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` without the suite's SHORT_LIVED (a caller's own setting stays)."""
    if MARK not in environ:
        return dict(environ)
    return {key: value for key, value in environ.items() if key not in {*SHORT_LIVED, MARK}}
