"""A real nginx on the program's nginx.conf (production stack) in front of stand-in engines:
split error per phase, failed GETs across phase reloads and on losing the canary, and the
latency nginx adds over calling an engine directly, all measured in the same run.

    python -m benchmarks.nginx_split [--requests 10000] [--latency-requests 5000] [--no-wrk]
    BENCH_QUICK=1 python -m benchmarks.nginx_split    # a tenth of the load, 4 switches

The clients are keep-alive clients that retry an idempotent GET once when it meets a reused
connection the server closed (as real clients do). wrk's figures, printed last, count those
keep-alive close races as errors, so they are shown for throughput, not for correctness.
tests/test_nginx_live.py asserts on the same scenarios.
"""

from __future__ import annotations

import argparse
import itertools
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from benchmarks.quick import full_or_quick, mode
from harness.live.backends import Backend, engine_backends
from harness.live.load import ClientPool, latencies
from harness.live.nginx import Nginx, RouterPorts
from harness.live.scenarios import canary_loss_under_load, reloads_under_load, spread_over_workers
from harness.scenarios import approval_expiring, canary_overrides, run_scenario
from harness.tooling import find_tool
from involution.phases import Phase
from tools.render import config_files

STACK = "production"
PHASES = ("none", "10", "50", "100", "rollback")
SWITCH_CYCLE = ("10", "50", "100", "50", "10", "rollback", "none")
CONNECTIONS = 8


def program_confs(now: datetime) -> dict[str, str]:
    """nginx.conf per phase, as the program renders it into the router ConfigMap at `now`."""
    approval = approval_expiring(now)
    confs: dict[str, str] = {}
    for phase in PHASES:
        overrides = canary_overrides(phase, approval=approval) if phase != "none" else None
        confs[phase] = config_files(run_scenario(STACK, overrides, now=now))["nginx.conf"]
    return confs


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def percentile(samples: Sequence[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def split_errors(
    binary: str, confs: dict[str, str], backends: tuple[Backend, Backend], n: int
) -> None:
    print(f"split over {n} GETs per phase ({CONNECTIONS} keep-alive clients, fresh nginx each)")
    for phase in ("10", "50", "100", "rollback"):
        with (
            Nginx(binary, RouterPorts.around(*backends)) as router,
            ClientPool(router.ports.listen, CONNECTIONS) as pool,
        ):
            router.start(confs[phase])
            per_worker = spread_over_workers(pool, router)
            start = time.perf_counter()
            tally = pool.run(n)
            elapsed = time.perf_counter() - start
        target = Phase(phase).canary_share
        error = abs(tally.share("canary") - target)
        print(
            f"  phase {phase:>8}: canary {tally.share('canary'):6.2f}% (target {target:3d}%)"
            f"  error {error:.2f} pp  failed {tally.failed}  {n / elapsed:,.0f} GET/s"
            f"  client connections per worker {sorted(per_worker.values())}"
        )


def reload_failures(
    binary: str, confs: dict[str, str], backends: tuple[Backend, Backend], switches: int
) -> None:
    phases = list(itertools.islice(itertools.cycle(SWITCH_CYCLE), switches))
    with (
        Nginx(binary, RouterPorts.around(*backends)) as router,
        ClientPool(router.ports.listen, CONNECTIONS) as pool,
    ):
        router.start(confs["none"])
        run = reloads_under_load(router, pool, confs, phases, window=300)
    worst = max(
        abs(w.share("canary") - Phase(p).canary_share)
        for p, w in zip(phases, run.windows, strict=True)
    )
    print(f"{switches} phase switches (rewrite nginx.conf + nginx -s reload) under load")
    print(
        f"  {run.tally.total} GETs: {run.tally.errors} errors, {run.tally.non_2xx} non-2xx,"
        f" {run.tally.retried} retried once on a closed keep-alive connection"
    )
    print(
        f"  reload to last old worker gone: median {ms(statistics.median(run.reload_seconds))},"
        f" max {ms(max(run.reload_seconds))}; /metrics phase matched after"
        f" {sum(a == b for a, b in zip(run.served, phases, strict=True))}/{switches} switches;"
        f" worst split in the 300 GETs after a switch {worst:.2f} pp off"
    )


def canary_loss(
    binary: str,
    confs: dict[str, str],
    backends: tuple[Backend, Backend],
    window: int,
    rate: float | None,
) -> None:
    """`rate`: the GETs a second of the load around the kill (None: as fast as the clients
    go); the split after recovery is sampled at full speed either way."""
    _, canary = backends
    with (
        Nginx(binary, RouterPorts.around(*backends)) as router,
        ClientPool(router.ports.listen, CONNECTIONS, rate=rate) as pool,
    ):
        router.start(confs["50"])
        try:
            loss = canary_loss_under_load(
                pool, canary, outage_seconds=1.0, window=window, timeout=20.0
            )
        finally:
            if not canary.running:
                canary.start()
    after = loss.after_recovery
    paced = "as fast as the clients go" if rate is None else f"paced at {rate:,.0f} GETs/s"
    print(f"canary SIGKILLed under load ({paced}) at phase 50, restarted on its port 1 s later")
    print(
        f"  {loss.tally.total} GETs from the kill to the end: {loss.tally.failed} failed,"
        f" {loss.tally.retried} retried by the client; {loss.outage.total} during the outage,"
        f" canary share then {loss.outage.share('canary'):.2f}%"
    )
    print(
        f"  canary answering again {loss.recovery_seconds:.1f} s after its restart"
        f" (fail_timeout 10s); split over the next {after.total} GETs:"
        f" canary {after.share('canary'):.2f}% (error {abs(after.share('canary') - 50):.2f} pp)"
    )


def latency_overhead(
    binary: str, confs: dict[str, str], backends: tuple[Backend, Backend], n: int
) -> None:
    """Direct and through nginx in alternating blocks, so drift hits both equally."""
    stable, _ = backends
    direct: list[float] = []
    proxied: list[float] = []
    with Nginx(binary, RouterPorts.around(*backends)) as router:
        router.start(confs["none"])  # every GET to stable, the same backend as direct
        block = max(1, n // 10)
        for _ in range(n // block):
            direct.extend(latencies(stable.port, block))
            proxied.extend(latencies(router.ports.listen, block))
    print(f"latency, {len(direct)} sequential keep-alive GETs each way (one client)")
    for label, samples in (("direct to engine", direct), ("through nginx", proxied)):
        print(
            f"  {label:>16}: p50 {ms(percentile(samples, 50))}  p99 {ms(percentile(samples, 99))}"
        )
    p50 = percentile(proxied, 50) / percentile(direct, 50)
    p99 = percentile(proxied, 99) / percentile(direct, 99)
    overhead = percentile(proxied, 50) - percentile(direct, 50)
    print(f"  nginx/direct ratio: p50 {p50:.2f}x  p99 {p99:.2f}x; p50 overhead {ms(overhead)}")


def wrk_summary(output: str) -> str:
    figures = []
    for pattern in (
        r"Requests/sec:\s+\S+",
        r"^\s*50%\s+\S+",
        r"^\s*99%\s+\S+",
        r"Socket errors:[^\n]+",
        r"Non-2xx or 3xx responses: \d+",
    ):
        found = re.search(pattern, output, re.MULTILINE)
        if found:
            figures.append(" ".join(found[0].split()))
    return "; ".join(figures) or output.strip()


def wrk_figures(
    wrk: str, binary: str, confs: dict[str, str], backends: tuple[Backend, Backend], seconds: int
) -> None:
    """Steady load for `seconds`, then load for `seconds` + 3 while nginx reloads every 0.2 s."""
    reloads = 4 * seconds
    print("wrk's figures (it counts a keep-alive close race at reload as a read error)")
    with Nginx(binary, RouterPorts.around(*backends)) as router:
        router.start(confs["50"])
        url = f"http://127.0.0.1:{router.ports.listen}/"
        command = [wrk, "-t2", "-c16", "--latency"]
        steady = subprocess.run(
            [*command, f"-d{seconds}s", url], capture_output=True, text=True, check=True
        )
        print(f"  phase 50, {seconds} s, 2 threads, 16 connections: {wrk_summary(steady.stdout)}")
        result: dict[str, str] = {}

        def run_wrk() -> None:
            done = subprocess.run(
                [*command, f"-d{seconds + 3}s", url], capture_output=True, text=True, check=True
            )
            result["out"] = done.stdout

        thread = threading.Thread(target=run_wrk)
        thread.start()
        time.sleep(0.5)
        for phase in itertools.islice(itertools.cycle(SWITCH_CYCLE), reloads):
            router.reload(confs[phase])
            time.sleep(0.2)
        thread.join()
    print(f"  during {reloads} reloads, {seconds + 3} s: {wrk_summary(result.get('out', ''))}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--requests", type=int, default=full_or_quick(10_000, 1_000), help="GETs per split phase"
    )
    parser.add_argument("--switches", type=int, default=full_or_quick(20, 4))
    parser.add_argument("--latency-requests", type=int, default=full_or_quick(5_000, 500))
    parser.add_argument("--recovery-window", type=int, default=full_or_quick(2_000, 500))
    # The short mode paces the load that waits out nginx's fail_timeout (10 s): unpaced it
    # took about 30 s of CPU on 2 cores for a smoke run.
    parser.add_argument(
        "--loss-rate",
        type=float,
        default=full_or_quick(None, 1_000.0),
        help="GETs a second around the canary's kill (default: unpaced; short mode 1000)",
    )
    parser.add_argument("--wrk-seconds", type=int, default=full_or_quick(5, 1))
    parser.add_argument("--no-wrk", action="store_true")
    args = parser.parse_args(argv)
    binary = find_tool("nginx")
    if binary is None:
        print("nginx not found: apt-get install -y nginx-light", file=sys.stderr)
        return 2
    version = subprocess.run(
        [binary, "-v"], capture_output=True, text=True, check=True
    ).stderr.strip()
    confs = program_confs(datetime.now(UTC))
    with engine_backends() as backends:
        with Nginx(binary, RouterPorts.around(*backends)) as probe:
            probe.start(confs["none"])
            workers = len(probe.workers())
        print(
            f"{version}, {workers} worker processes as rendered, {STACK} stack's config, {mode()}"
        )
        split_errors(binary, confs, backends, args.requests)
        reload_failures(binary, confs, backends, args.switches)
        canary_loss(binary, confs, backends, args.recovery_window, args.loss_rate)
        latency_overhead(binary, confs, backends, args.latency_requests)
        wrk = find_tool("wrk")
        if wrk and not args.no_wrk:
            wrk_figures(wrk, binary, confs, backends, args.wrk_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
