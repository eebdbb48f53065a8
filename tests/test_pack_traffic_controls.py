"""The pack's reading of the router's traffic controls, on the program's own nginx.conf and
on hand-broken copies of it: a sticky split off the weights, a mirror to stable, a header
override without allowOverride."""

from __future__ import annotations

import pytest
from involution_policies import traffic
from involution_policies.nginx import all_upstreams, mirror_targets, parse, sticky_splits
from involution_policies.traffic_controls import (
    mirrored_tracks,
    sticky_weights,
    track_upstreams,
)

from involution.config.traffic import StickyKey, TrafficSettings
from involution.nginx.conf import render_nginx_conf, router_spec
from involution.phases import Phase, plan_phase

pytestmark = pytest.mark.policy

HOSTS = {"engine-stable": "stable", "engine-canary": "canary"}
SPLIT = "involution_engine"
ALLOWED = [0, 10, 50, 100]


def render(phase: Phase, **traffic: object) -> str:
    settings = TrafficSettings(**traffic)  # type: ignore[arg-type]
    return render_nginx_conf(router_spec(plan_phase(phase, 4), traffic=settings))


def problems(conf: str, *, allow_override: bool = False) -> list[str]:
    return traffic.upstream_problems(
        conf, HOSTS, ALLOWED, SPLIT, allow_backup=True, allow_override=allow_override
    )


def test_the_program_s_controls_pass() -> None:
    sticky = StickyKey("header", "X-Client-Id")
    for phase in (Phase.P10, Phase.P50):
        assert problems(render(phase, sticky=sticky)) == []
    assert problems(render(Phase.SHADOW, mirror_percent=25)) == []
    assert problems(render(Phase.P10, override=True), allow_override=True) == []


def test_sticky_shares_are_the_weights() -> None:
    conf = render(Phase.P10, sticky=StickyKey("cookie", "sid"))
    tree = parse(conf)
    tracks = track_upstreams(tree, HOSTS, SPLIT)
    assert tracks == {"involution_stable": "stable", "involution_canary": "canary"}
    [split] = sticky_splits(tree, tracks)
    assert split.key == "$cookie_sid" and split.shares == {"canary": 10.0, "stable": 90.0}
    assert sticky_weights(tree, HOSTS, SPLIT) == {"canary": 10, "stable": 90}
    broken = conf.replace("10% involution_canary", "30% involution_canary")
    assert problems(broken) == [
        "split_clients on $cookie_sid sends 30% of keys to the canary, but upstream "
        "involution_engine weighs it 10: the sticky split is the split"
    ]


def test_mirror_goes_to_the_canary_only() -> None:
    conf = render(Phase.SHADOW)
    tree = parse(conf)
    assert mirror_targets(tree) == ["involution_mirror"]
    assert mirrored_tracks(tree, HOSTS) == {"canary"}
    assert [s.address for s in all_upstreams(tree)["involution_mirror"].servers] == [
        "engine-canary:8080"
    ]
    to_stable = conf.replace(
        "upstream involution_mirror {\n        zone involution_mirror 64k;\n"
        "        server engine-canary:8080",
        "upstream involution_mirror {\n        zone involution_mirror 64k;\n"
        "        server engine-stable:8080",
    )
    assert problems(to_stable) == [
        "mirror copies go to engine-stable:8080 in upstream involution_mirror: only the canary "
        "may receive copies (a copy on stable runs each request twice there)"
    ]


def test_the_override_needs_allow_override() -> None:
    conf = render(Phase.P10, override=True)
    [problem] = problems(conf)
    assert problem.startswith("a map on $http_x_involution_track pins requests to a track")
    assert problems(render(Phase.P10)) == []  # no override, nothing to acknowledge
