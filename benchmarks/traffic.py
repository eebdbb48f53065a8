"""The router's traffic controls on a real nginx (production stack's config, each control
switched on through `traffic`) in front of stand-in engines: the header override's pin share,
sticky shares at 10 and 50 and the clients that moved back, the shadow phase's answers and
mirrored copies, and the latency each control adds against the plain split, in one run.

    python -m benchmarks.traffic [--clients 2000] [--latency-requests 5000]
    BENCH_QUICK=1 python -m benchmarks.traffic     # a tenth of the load

tests/test_traffic_live.py asserts on the same scenarios.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from benchmarks.nginx_split import ms, percentile
from benchmarks.quick import full_or_quick, mode
from harness.live.backends import Backend, engine_backends
from harness.live.load import ClientPool, latencies
from harness.live.nginx import Nginx, RouterPorts
from harness.live.traffic_scenarios import pinned, shadow_copies, sticky_clients
from harness.scenarios import approval_expiring, canary_overrides, run_scenario
from harness.tooling import find_tool
from involution.config.traffic import DEFAULT_OVERRIDE_HEADER
from tools.render import config_files

STACK = "production"
STICKY_HEADER = "X-Client-Id"
# The latency variants: the plain split at 10, the sticky split at 10, the mirror at shadow.
VARIANTS: dict[str, tuple[str, dict[str, Any] | None, str | None]] = {
    "plain split (10)": ("10", None, None),
    "sticky split (10)": ("10", {"stickyBy": f"header:{STICKY_HEADER}"}, STICKY_HEADER),
    "override on (10)": ("10", {"override": True}, None),
    "mirror 100% (shadow)": ("shadow", None, None),
}


def conf(now: datetime, phase: str, traffic: dict[str, Any] | None = None) -> str:
    overrides: dict[str, Any] = dict(canary_overrides(phase, approval=approval_expiring(now)))
    if traffic is not None:
        overrides["traffic"] = traffic
    return config_files(run_scenario(STACK, overrides, now=now))["nginx.conf"]


def header_pins(binary: str, now: datetime, backends: tuple[Backend, Backend], n: int) -> None:
    with Nginx(binary, RouterPorts.around(*backends)) as router:
        router.start(conf(now, "10", {"override": True}))
        print(f"header override at phase 10 ({DEFAULT_OVERRIDE_HEADER}), {n} GETs per value")
        for track in ("canary", "stable"):
            tally = pinned(router.ports.listen, DEFAULT_OVERRIDE_HEADER, track, n)
            print(
                f"  {DEFAULT_OVERRIDE_HEADER}: {track:<6} -> {track} {tally.share(track):6.2f}%"
                f"  failed {tally.failed}"
            )


def sticky(
    binary: str, now: datetime, backends: tuple[Backend, Backend], clients: int, repeats: int
) -> None:
    traffic = {"stickyBy": f"header:{STICKY_HEADER}"}
    with Nginx(binary, RouterPorts.around(*backends)) as router:
        router.start(conf(now, "10", traffic))
        at_10 = sticky_clients(router.ports.listen, STICKY_HEADER, clients, repeats)
        router.reload(conf(now, "50", traffic))
        at_50 = sticky_clients(router.ports.listen, STICKY_HEADER, clients, repeats)
    moved_back = at_10.on("canary") - at_50.on("canary")
    print(f"sticky split by {STICKY_HEADER}: {clients} clients x {repeats} GETs, 10 then 50")
    for phase, run in (("10", at_10), ("50", at_50)):
        print(
            f"  phase {phase}: canary {run.share('canary'):6.2f}% of clients"
            f"  clients that saw two tracks {len(run.mixed)}"
        )
    print(
        f"  canary clients at 10: {len(at_10.on('canary'))}; back on stable at 50:"
        f" {len(moved_back)}"
    )


def shadow(binary: str, now: datetime, backends: tuple[Backend, Backend], n: int) -> None:
    stable, canary = backends
    print(f"shadow phase, {n} GETs (8 keep-alive clients)")
    for percent in (100, 25):
        traffic = {"mirrorPercent": percent} if percent != 100 else None
        with (
            Nginx(binary, RouterPorts.around(*backends)) as router,
            ClientPool(router.ports.listen, 8) as pool,
        ):
            router.start(conf(now, "shadow", traffic))
            run = shadow_copies(pool, stable, canary, n, expected_percent=percent)
        print(
            f"  mirrorPercent {percent:>3}: answers stable {run.answers.share('stable'):6.2f}%"
            f" (failed {run.answers.failed}); stable served {run.stable_served},"
            f" canary served {run.canary_served}, canary got {run.canary_mirrored} copies"
            f" ({100 * run.canary_mirrored / n:.1f}%)"
        )


def latency(binary: str, now: datetime, backends: tuple[Backend, Backend], n: int) -> None:
    """Each variant through its own nginx, in alternating blocks so drift hits all equally."""
    samples: dict[str, list[float]] = {label: [] for label in VARIANTS}
    routers: dict[str, Nginx] = {}
    try:
        for label, (phase, traffic, _) in VARIANTS.items():
            routers[label] = Nginx(binary, RouterPorts.around(*backends))
            routers[label].start(conf(now, phase, traffic))
        block = max(1, n // 10)
        for _ in range(n // block):
            for label, (_, _, key_header) in VARIANTS.items():
                port = routers[label].ports.listen
                samples[label].extend(latencies(port, block, key_header=key_header))
    finally:
        for router in routers.values():
            router.close()
    print(f"nginx latency, {n} sequential keep-alive GETs per variant (one client)")
    plain = samples["plain split (10)"]
    for label, values in samples.items():
        print(
            f"  {label:>22}: p50 {ms(percentile(values, 50))}  p99 {ms(percentile(values, 99))}"
            f"  (p50 {ms(percentile(values, 50) - percentile(plain, 50))},"
            f" p99 {ms(percentile(values, 99) - percentile(plain, 99))} vs plain)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=full_or_quick(2_000, 200))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pin-requests", type=int, default=full_or_quick(2_000, 200))
    parser.add_argument("--shadow-requests", type=int, default=full_or_quick(2_000, 200))
    parser.add_argument("--latency-requests", type=int, default=full_or_quick(5_000, 500))
    args = parser.parse_args(argv)
    binary = find_tool("nginx")
    if binary is None:
        print("nginx not found: apt-get install -y nginx-light", file=sys.stderr)
        return 2
    version = subprocess.run(
        [binary, "-v"], capture_output=True, text=True, check=True
    ).stderr.strip()
    now = datetime.now(UTC)
    print(f"{version}, {STACK} stack's config with each traffic control on, {mode()}")
    with engine_backends() as backends:
        header_pins(binary, now, backends, args.pin_requests)
        sticky(binary, now, backends, args.clients, args.repeats)
        shadow(binary, now, backends, args.shadow_requests)
        latency(binary, now, backends, args.latency_requests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
