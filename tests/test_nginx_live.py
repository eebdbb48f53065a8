"""The program's nginx.conf run by a real nginx: syntax, split, phase switches, a lost canary.

Each config is the text the program puts in the router ConfigMap (mocked run), with only the
upstream hosts, listen ports and temp paths rewritten for loopback (`harness.live.nginx.localize`).
nginx runs with the rendered `worker_processes 2`; the shared upstream `zone` keeps one
smooth weighted round-robin sequence for all workers, so the split is exact, not statistical.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.live.backends import Backend, engine_backends
from harness.live.load import ClientPool
from harness.live.nginx import Nginx, NginxError, RouterPorts, localize, with_fail_timeout
from harness.live.scenarios import (
    CanaryLoss,
    canary_loss_under_load,
    reloads_under_load,
    spread_over_workers,
)
from harness.mockrun import MockRun
from involution.phases import Phase
from tests.conftest import STACKS, TRAFFIC_PHASES, canary_overrides
from tests.nginx_parse import upstream_servers
from tests.tooling import require_tool
from tools.render import config_files

pytestmark = pytest.mark.tools

Runner = Callable[..., MockRun]
ALL_PHASES = ("none", "shadow", *TRAFFIC_PHASES)
LIVE_STACK = "production"
CONNECTIONS = 8
# Sample sizes from what is already proven exact. Without a sticky key the split is nginx's
# smooth weighted round-robin over one shared zone: N consecutive picks give each server its
# weight's share to within one pick, so 2,000 GETs put the share within 0.05 pp of the target
# and 0.5 pp (10 GETs) is a margin, not a statistical bound (10,000 bought nothing more).
# With a sticky key the split is by a hash of the key (client-0 .. client-(N-1)), which
# behaves as N Bernoulli(p) draws: the share's standard deviation is 100 * sqrt(p(1 - p)/N)
# pp, 0.5 pp at N = 10,000 and p = 0.5, so 2 pp is 4 sigma only from 10,000 keys on; at
# phases where p is 0 or 1 (none, shadow, 100, rollback) every key lands on one track and
# 2,000 suffice there too.
SPLIT_REQUESTS = 2_000
STICKY_SPLIT_REQUESTS = 10_000
SPLIT_TOLERANCE_PP = 0.5
STICKY_TOLERANCE_PP = 2.0
# The lost-canary tests wait out one fail_timeout before the canary is tried again: they run
# on the rendered config with a shorter one (harness.live.nginx.with_fail_timeout; the rendered
# 10 s is asserted), and allow the same 2 s past it for the recovery.
FAIL_TIMEOUT_SECONDS = 2
STICKY_HEADER = "X-Client-Id"
# Each traffic control on, over the production stack's config (`traffic`). Requests carry no
# override header (the map falls through to the split); with `sticky` each carries its own key.
TRAFFIC_OPTIONS: dict[str, dict[str, object] | None] = {
    "plain": None,
    "override": {"override": True},
    "sticky": {"stickyBy": f"header:{STICKY_HEADER}"},
    "mirror": {"mirrorPercent": 50},
}
OPTIONS = sorted(TRAFFIC_OPTIONS)
# Shadow, forward, staged back, rolled back, cleared: every consecutive pair is a real change,
# and one pass from none back to none reloads each of the eight once under load (per traffic
# control; benchmarks.nginx_split, run by the suite too, reloads for longer).
SWITCH_CYCLE = ("shadow", "10", "50", "100", "50", "10", "rollback", "none")
SWITCHES = len(SWITCH_CYCLE)
SWITCH_WINDOW = 300
RECOVERY_WINDOW = 2_000
# GETs answered while the canary is dead (its second-long outage lasts until there are this
# many): every one of them retried on stable, none failed.
OUTAGE_REQUESTS = 1_000


def rendered_conf(mocked: Runner, stack: str, phase: str, option: str = "plain") -> str:
    """nginx.conf exactly as the program renders it into the router ConfigMap."""
    overrides = dict(canary_overrides(phase)) if phase != "none" else {}
    traffic = TRAFFIC_OPTIONS[option]
    if traffic is not None:
        overrides["traffic"] = traffic
    run = mocked(stack, overrides or None)
    return config_files(run)["nginx.conf"]


def pool_for(router: Nginx, option: str) -> ClientPool:
    key_header = STICKY_HEADER if option == "sticky" else None
    return ClientPool(router.ports.listen, CONNECTIONS, key_header=key_header)


def tolerance(option: str) -> float:
    return STICKY_TOLERANCE_PP if option == "sticky" else SPLIT_TOLERANCE_PP


def canary_target(phase: str) -> float:
    return float(Phase(phase).canary_share)


def split_requests(phase: str, option: str) -> int:
    """GETs enough for the tolerance (see SPLIT_REQUESTS): a sticky split off 0 and 100%
    is statistical, every other split exact."""
    statistical = option == "sticky" and 0 < canary_target(phase) < 100
    return STICKY_SPLIT_REQUESTS if statistical else SPLIT_REQUESTS


@pytest.fixture(scope="module")
def backends() -> Iterator[tuple[Backend, Backend]]:
    """Stand-in stable and canary engines shared by the module (a test that kills the canary
    brings it back on the same port)."""
    with engine_backends() as pair:
        yield pair


@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize("phase", ALL_PHASES)
def test_localize_changes_only_hosts_ports_and_temp_paths(
    mocked: Runner, phase: str, option: str
) -> None:
    """What nginx runs below differs from the cluster's file only where loopback needs it."""
    conf = rendered_conf(mocked, LIVE_STACK, phase, option)
    local = localize(conf, RouterPorts(18001, 18002, 18003, 18004), Path("/srv/router"))
    before, after = conf.splitlines(), local.splitlines()
    assert len(before) == len(after)
    changed = [
        (old.split(), new.split()) for old, new in zip(before, after, strict=True) if old != new
    ]
    directives = sorted(old[0] for old, _ in changed)
    servers = conf.count("server engine-")  # every upstream's servers, backups included
    temp = ["client_body_temp_path", "fastcgi_temp_path", "pid", "proxy_temp_path"]
    temp += ["scgi_temp_path", "uwsgi_temp_path"]
    assert directives == sorted(["listen", "listen", *["server"] * servers, *temp])
    for old, new in changed:
        assert old[0] == new[0] and old[2:] == new[2:]  # only the first argument moved
    assert "engine-stable" not in local and "engine-canary" not in local


@pytest.mark.parametrize("phase", ["50", "100"])
def test_with_fail_timeout_changes_only_every_servers_fail_timeout(
    mocked: Runner, phase: str
) -> None:
    conf = rendered_conf(mocked, LIVE_STACK, phase)
    shorter = with_fail_timeout(conf, FAIL_TIMEOUT_SECONDS)
    assert {p["fail_timeout"] for p in upstream_servers(shorter).values()} == {"2s"}
    assert shorter.replace("fail_timeout=2s", "fail_timeout=10s") == conf
    with pytest.raises(ValueError, match="fail_timeout on 0 of"):
        with_fail_timeout(conf.replace("fail_timeout=", "fail-timeout="), 2)


@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize("phase", ALL_PHASES)
@pytest.mark.parametrize("stack", STACKS)
def test_nginx_accepts_the_rendered_conf(
    mocked: Runner, backends: tuple[Backend, Backend], stack: str, phase: str, option: str
) -> None:
    binary = require_tool("nginx", "nginx-light")
    with Nginx(binary, RouterPorts.around(*backends)) as router:
        output = router.test(rendered_conf(mocked, stack, phase, option))
    assert "syntax is ok" in output
    assert "test is successful" in output


def test_nginx_t_can_fail(mocked: Runner, backends: tuple[Backend, Backend]) -> None:
    """The check above has teeth: a weight of 0 (which the renderer avoids) is rejected."""
    binary = require_tool("nginx", "nginx-light")
    conf = rendered_conf(mocked, LIVE_STACK, "10")
    assert "weight=10 " in conf
    with (
        Nginx(binary, RouterPorts.around(*backends)) as router,
        pytest.raises(NginxError, match="weight=0"),
    ):
        router.test(conf.replace("weight=10 ", "weight=0 "))


@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize("phase", ALL_PHASES)
def test_split_matches_the_phase(
    mocked: Runner, backends: tuple[Backend, Backend], phase: str, option: str
) -> None:
    binary = require_tool("nginx", "nginx-light")
    with (
        Nginx(binary, RouterPorts.around(*backends)) as router,
        pool_for(router, option) as pool,
    ):
        router.start(rendered_conf(mocked, LIVE_STACK, phase, option))
        per_worker = spread_over_workers(pool, router)
        requests = split_requests(phase, option)
        tally = pool.run(requests)
    detail = f"{tally.describe()}; client connections per worker {per_worker}"
    assert tally.ok == requests, detail
    assert set(tally.tracks) <= {"stable", "canary"}, detail  # every answer names its track
    target = canary_target(phase)
    assert abs(tally.share("canary") - target) <= tolerance(option), detail
    assert abs(tally.share("stable") - (100 - target)) <= tolerance(option), detail


@pytest.mark.parametrize("option", OPTIONS)
def test_phase_switches_under_load_lose_no_request(
    mocked: Runner, backends: tuple[Backend, Backend], option: str
) -> None:
    binary = require_tool("nginx", "nginx-light")
    confs = {phase: rendered_conf(mocked, LIVE_STACK, phase, option) for phase in ALL_PHASES}
    phases = list(itertools.islice(itertools.cycle(SWITCH_CYCLE), SWITCHES))
    with (
        Nginx(binary, RouterPorts.around(*backends)) as router,
        pool_for(router, option) as pool,
    ):
        router.start(confs["none"])
        run = reloads_under_load(router, pool, confs, phases, SWITCH_WINDOW)
    assert run.tally.errors == 0, run.tally.describe()
    assert run.tally.non_2xx == 0, run.tally.describe()
    assert run.tally.ok > SWITCHES * SWITCH_WINDOW
    assert run.served == phases  # each reload really loaded the next phase's config
    for phase, window in zip(phases, run.windows, strict=True):
        # Exact but for at most one answer per connection from an old worker finishing;
        # a sticky split of a window's keys is binomial: allowed 4 standard deviations more.
        target = canary_target(phase)
        allowed = 100 * (CONNECTIONS + 1) / window.ok
        if option == "sticky":
            allowed += 400 * math.sqrt(target / 100 * (1 - target / 100) / window.ok)
        assert abs(window.share("canary") - target) <= allowed, (
            f"after switching to {phase}: {window.describe()}"
        )


def lose_the_canary(
    conf: str, backends: tuple[Backend, Backend], option: str = "plain"
) -> CanaryLoss:
    """SIGKILL the canary under load through a real nginx on `conf`, then bring it back."""
    binary = require_tool("nginx", "nginx-light")
    _, canary = backends
    with (
        Nginx(binary, RouterPorts.around(*backends)) as router,
        pool_for(router, option) as pool,
    ):
        router.start(conf)
        try:
            return canary_loss_under_load(
                pool,
                canary,
                outage_seconds=1.0,
                window=RECOVERY_WINDOW,
                timeout=15.0,
                outage_requests=OUTAGE_REQUESTS,
            )
        finally:
            if not canary.running:
                canary.start()


@pytest.mark.parametrize("option", OPTIONS)
def test_losing_the_canary_fails_no_get(
    mocked: Runner, backends: tuple[Backend, Backend], option: str
) -> None:
    conf = rendered_conf(mocked, LIVE_STACK, "50", option)
    fail_timeouts = {p["fail_timeout"] for p in upstream_servers(conf).values()}
    assert fail_timeouts == {"10s"}
    loss = lose_the_canary(with_fail_timeout(conf, FAIL_TIMEOUT_SECONDS), backends, option)
    # nginx retried every GET the dead canary got on stable (proxy_next_upstream error).
    assert loss.tally.failed == 0, loss.tally.describe()
    assert loss.outage.ok >= OUTAGE_REQUESTS, loss.outage.describe()
    assert loss.outage.share("canary") < 1.0, loss.outage.describe()
    # Back within fail_timeout of the restart, then at the target split again.
    assert loss.recovery_seconds <= FAIL_TIMEOUT_SECONDS + 2.0
    # Sticky: the window's keys split by hash, binomially (4 standard deviations of 2,000).
    allowed = 4 * 100 * math.sqrt(0.25 / RECOVERY_WINDOW) if option == "sticky" else 0.5
    assert abs(loss.after_recovery.share("canary") - 50) <= allowed, loss.after_recovery.describe()


@pytest.mark.parametrize("option", OPTIONS)
def test_at_100_percent_a_dead_canary_fails_over_to_stable(
    mocked: Runner, backends: tuple[Backend, Backend], option: str
) -> None:
    """Stable, kept warm at 100%, is the upstream's backup: losing every canary pod costs no
    GET, and traffic returns to the canary when it is back."""
    conf = with_fail_timeout(rendered_conf(mocked, LIVE_STACK, "100", option), FAIL_TIMEOUT_SECONDS)
    loss = lose_the_canary(conf, backends, option)
    assert loss.tally.failed == 0, loss.tally.describe()
    # The outage window opens as the kill is sent: the few answers the dying canary still
    # gives count as canary, more of them on a loaded machine; none may fail.
    assert loss.outage.share("stable") > 97.0, loss.outage.describe()
    assert loss.after_recovery.share("canary") == 100.0, loss.after_recovery.describe()
