"""A Prometheus on loopback that the canary analysis of the `local` stack can ask.

    venv/bin/python -m tools.local_prometheus [--namespace involution] [--port 19091]

Backfilled series of a healthy canary and stable for the namespace (harness.live.prometheus:
`promtool` backfill, `prometheus` with no scrape targets): an analysis that says advance
without any traffic, to try the analysis and the staging rules without running pods
(`--prometheus-url`, or the stack's monitoring.prometheusUrl). The local cluster has a real
Prometheus scraping real pods (scripts/cluster.sh prometheus-url) on 19090.
The series end when it starts and the analysis looks at the last `rateWindowMinutes`, so it
backfills afresh every `--refresh` seconds (a few seconds of restart on the same port).
Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

from harness.live.net import LOOPBACK
from harness.live.prometheus import healthy_scenario, live_prometheus
from harness.tooling import ToolMissing, tool_path
from involution.config.monitoring import MonitoringSettings

DEFAULT_PORT = 19091
# Under the default 5-minute rate window: the window always holds fresh samples.
DEFAULT_REFRESH_SECONDS = 120.0


class _StopRequestedError(Exception):
    pass


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _StopRequestedError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--namespace", default="involution")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--refresh", type=float, default=DEFAULT_REFRESH_SECONDS)
    args = parser.parse_args(argv)
    try:
        prometheus = tool_path("prometheus", "prometheus")
        promtool = tool_path("promtool", "prometheus")
    except ToolMissing as missing:
        print(missing, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop)
    print(f"http://{LOOPBACK}:{args.port}", flush=True)
    try:
        while True:
            with (
                tempfile.TemporaryDirectory(prefix="involution-prometheus-") as workdir,
                live_prometheus(
                    prometheus,
                    promtool,
                    [healthy_scenario(args.namespace)],
                    MonitoringSettings(),
                    Path(workdir),
                    port=args.port,
                ),
            ):
                time.sleep(args.refresh)
    except (_StopRequestedError, KeyboardInterrupt):
        return 0


if __name__ == "__main__":
    sys.exit(main())
