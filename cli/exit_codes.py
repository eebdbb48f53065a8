"""Exit codes of the `involution` command, one per kind of outcome, so CI can branch on them."""

from __future__ import annotations

OK = 0
REFUSED = 1  # the program refused the step before any resource: nothing changed
USAGE = 2  # bad arguments (argparse uses 2 as well)
UNKNOWN_STACK = 3
NOTHING_TO_DO = 4  # e.g. nothing to advance, nothing to roll back
PROMETHEUS_DOWN = 5  # the analysis could not query Prometheus
HOLD = 6  # `analyze`: the analysis says hold
ROLLBACK = 7  # `analyze`: a rollback trigger holds
FAILED_UPDATE = 8  # the update failed after it began: the stack is in a failed update
