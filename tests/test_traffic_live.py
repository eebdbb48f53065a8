"""The router's traffic controls on a real nginx in front of stand-in engines: the header
override pins a track, a sticky split keeps each client on one track and only moves clients
forward, and at `shadow` every answer is stable's while the canary gets the copies.

Each config is the program's nginx.conf (a mocked run), localized for loopback as in
tests/test_nginx_live.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.live.backends import Backend, engine_backends
from harness.live.load import ClientPool, tracks_per_client
from harness.live.nginx import Nginx, RouterPorts
from harness.live.traffic_scenarios import StickyRun, pinned, shadow_copies, sticky_clients
from harness.mockrun import MockRun
from involution.config.traffic import DEFAULT_OVERRIDE_HEADER
from tests.conftest import canary_overrides
from tests.tooling import require_tool
from tools.render import config_files

pytestmark = pytest.mark.tools

Runner = Callable[..., MockRun]
PIN_REQUESTS = 2_000
STICKY_CLIENTS = 2_000
STICKY_REPEATS = 3
STICKY_HEADER = "X-Client-Id"
SHADOW_REQUESTS = 2_000


def conf(mocked: Runner, stack: str, phase: str, traffic: dict[str, Any] | None = None) -> str:
    overrides: dict[str, Any] = dict(canary_overrides(phase)) if phase != "none" else {}
    if traffic is not None:
        overrides["traffic"] = traffic
    return config_files(mocked(stack, overrides or None))["nginx.conf"]


@pytest.fixture(scope="module")
def backends() -> Iterator[tuple[Backend, Backend]]:
    with engine_backends() as pair:
        yield pair


@pytest.fixture
def nginx(backends: tuple[Backend, Backend]) -> Iterator[Nginx]:
    binary = require_tool("nginx", "nginx-light")
    with Nginx(binary, RouterPorts.around(*backends)) as router:
        yield router


@pytest.mark.parametrize("track", ["canary", "stable"])
def test_the_header_pins_every_request_at_10(mocked: Runner, nginx: Nginx, track: str) -> None:
    """Staging has the override on by default: the header beats the 90/10 weights."""
    nginx.start(conf(mocked, "staging", "10"))
    tally = pinned(nginx.ports.listen, DEFAULT_OVERRIDE_HEADER, track, PIN_REQUESTS)
    assert tally.ok == PIN_REQUESTS, tally.describe()
    assert tally.share(track) == 100.0, tally.describe()


@pytest.mark.parametrize(
    ("phase", "canary_answers"),
    [("none", "stable"), ("rollback", "stable"), ("shadow", "canary"), ("100", "canary")],
)
def test_a_canary_header_reaches_the_canary_only_where_it_has_pods(
    mocked: Runner, nginx: Nginx, phase: str, canary_answers: str
) -> None:
    nginx.start(conf(mocked, "staging", phase))
    tally = pinned(nginx.ports.listen, DEFAULT_OVERRIDE_HEADER, "canary", 200)
    assert tally.ok == 200 and tally.share(canary_answers) == 100.0, tally.describe()


def test_other_header_values_and_a_custom_header(mocked: Runner, nginx: Nginx) -> None:
    """A value that names no track falls through to the weighted split; the header is the
    configured one."""
    nginx.start(conf(mocked, "production", "50", {"override": True, "overrideHeader": "X-Pin"}))
    other = pinned(nginx.ports.listen, "X-Pin", "beta", 2_000)
    assert abs(other.share("canary") - 50) <= 0.5, other.describe()
    assert pinned(nginx.ports.listen, "X-Pin", "canary", 200).share("canary") == 100.0
    unset = pinned(nginx.ports.listen, DEFAULT_OVERRIDE_HEADER, "canary", 2_000)
    assert abs(unset.share("canary") - 50) <= 0.5, unset.describe()


def test_production_has_no_override_by_default(mocked: Runner, nginx: Nginx) -> None:
    nginx.start(conf(mocked, "production", "10"))
    tally = pinned(nginx.ports.listen, DEFAULT_OVERRIDE_HEADER, "canary", 2_000)
    assert abs(tally.share("canary") - 10) <= 0.5, tally.describe()


def test_sticky_clients_keep_one_track_and_only_move_forward(mocked: Runner, nginx: Nginx) -> None:
    traffic = {"stickyBy": f"header:{STICKY_HEADER}"}
    nginx.start(conf(mocked, "production", "10", traffic))
    at_10 = sticky_clients(nginx.ports.listen, STICKY_HEADER, STICKY_CLIENTS, STICKY_REPEATS)
    nginx.reload(conf(mocked, "production", "50", traffic))
    at_50 = sticky_clients(nginx.ports.listen, STICKY_HEADER, STICKY_CLIENTS, STICKY_REPEATS)
    for run, target in ((at_10, 10.0), (at_50, 50.0)):
        assert run.mixed == [], run.mixed[:10]  # one track per client within the phase
        assert abs(run.share("canary") - target) <= 2.0, run.share("canary")
    moved_back = at_10.on("canary") - at_50.on("canary")
    assert moved_back == set(), sorted(moved_back)[:10]


@pytest.mark.parametrize("sticky_by", ["cookie:session_id", "ip"])
def test_other_sticky_keys(mocked: Runner, nginx: Nginx, sticky_by: str) -> None:
    """A cookie keys the split like a header; every loopback client shares one IP, so `ip`
    puts them all on one track."""
    nginx.start(conf(mocked, "production", "50", {"stickyBy": sticky_by}))
    if sticky_by == "ip":
        tally = pinned(nginx.ports.listen, "X-Nothing", "x", 500)
        assert max(tally.share("canary"), tally.share("stable")) == 100.0, tally.describe()
        return
    cookies = [f"session_id=client-{i}" for i in range(1_000)]
    run = StickyRun(tracks_per_client(nginx.ports.listen, cookies, "Cookie", STICKY_REPEATS))
    assert run.mixed == [], run.mixed[:10]
    assert abs(run.share("canary") - 50) <= 5.0, run.share("canary")  # 3 sigma of 1,000


def test_shadow_answers_from_stable_and_copies_to_the_canary(
    mocked: Runner, nginx: Nginx, backends: tuple[Backend, Backend]
) -> None:
    stable, canary = backends
    nginx.start(conf(mocked, "production", "shadow"))
    with ClientPool(nginx.ports.listen, 8) as pool:
        run = shadow_copies(pool, stable, canary, SHADOW_REQUESTS)
    assert run.answers.ok == SHADOW_REQUESTS, run.answers.describe()
    assert run.answers.share("stable") == 100.0, run.answers.describe()
    assert run.stable_served == SHADOW_REQUESTS
    assert run.canary_served == 0  # every answer the client got is stable's
    assert run.canary_mirrored == run.stable_served  # mirrorPercent 100: one copy each


def test_shadow_mirrors_the_configured_percent(
    mocked: Runner, nginx: Nginx, backends: tuple[Backend, Backend]
) -> None:
    stable, canary = backends
    nginx.start(conf(mocked, "production", "shadow", {"mirrorPercent": 25}))
    with ClientPool(nginx.ports.listen, 8) as pool:
        run = shadow_copies(pool, stable, canary, SHADOW_REQUESTS, expected_percent=25)
    assert run.answers.share("stable") == 100.0 and run.canary_served == 0
    share = 100 * run.canary_mirrored / SHADOW_REQUESTS
    assert abs(share - 25) <= 4.0, share  # split_clients on $request_id: 4 sigma of 2,000


def test_a_dead_canary_at_shadow_costs_no_answer(
    mocked: Runner, nginx: Nginx, backends: tuple[Backend, Backend]
) -> None:
    _, canary = backends
    nginx.start(conf(mocked, "production", "shadow"))
    canary.kill()
    try:
        with ClientPool(nginx.ports.listen, 8) as pool:
            tally = pool.run(1_000)
    finally:
        canary.start()
    assert tally.ok == 1_000 and tally.share("stable") == 100.0, tally.describe()


@pytest.mark.parametrize("mirror_percent", [100, 25])
def test_at_shadow_a_request_pinned_to_the_canary_is_not_copied_to_it_as_well(
    mocked: Runner, nginx: Nginx, backends: tuple[Backend, Backend], mirror_percent: int
) -> None:
    """The canary answers a pinned request itself: it sees it once, never a mirrored twin.
    Requests pinned to stable are still copied (all of them at 100%)."""
    _, canary = backends
    nginx.start(conf(mocked, "staging", "shadow", {"mirrorPercent": mirror_percent}))
    before = canary.counts()
    tally = pinned(nginx.ports.listen, DEFAULT_OVERRIDE_HEADER, "canary", 400)
    assert tally.ok == 400 and tally.share("canary") == 100.0, tally.describe()
    to_stable = pinned(nginx.ports.listen, DEFAULT_OVERRIDE_HEADER, "stable", 400)
    assert to_stable.share("stable") == 100.0, to_stable.describe()
    wanted = 400 * mirror_percent // 100
    deadline = time.monotonic() + 10
    while canary.counts()["mirrored"] - before["mirrored"] < wanted * 0.8:
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    time.sleep(0.5)  # copies still in flight would land now
    after = canary.counts()
    assert after["served"] - before["served"] == 400
    mirrored = after["mirrored"] - before["mirrored"]
    if mirror_percent == 100:
        assert mirrored == 400  # one copy of each stable-pinned request, none of the others
    else:
        assert abs(mirrored - wanted) <= 4 * (400 * 0.25 * 0.75) ** 0.5, mirrored


def test_a_paced_load_keeps_its_rate_and_takes_a_sample_at_full_speed(
    mocked: Runner, nginx: Nginx
) -> None:
    """What the pods layer's background load relies on (harness.cluster.pods.LOAD_RATE): paced
    between samples, unpaced while `wait_for` waits for one."""
    nginx.start(conf(mocked, "staging", "none"))
    with ClientPool(nginx.ports.listen, 4, rate=100) as pool, pool.load():
        time.sleep(1.0)
        paced = pool.snapshot().total
        started = time.monotonic()
        sample = pool.wait_for(400, timeout=30)
        sampled_in = time.monotonic() - started
        time.sleep(0.5)
        after = pool.snapshot().total - paced - sample.total
    assert 50 <= paced <= 130, paced  # 100 a second for a second
    assert sample.ok >= 400 and sample.failed == 0, sample.describe()
    assert sampled_in < 3.0, sampled_in  # paced, 400 GETs take 4 s
    assert after <= 90, after  # paced again: about 50 in half a second
    with pytest.raises(ValueError, match="rate = 0: a positive number"):
        ClientPool(nginx.ports.listen, 4, rate=0)
