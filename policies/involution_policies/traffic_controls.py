"""The router's traffic controls around the weighted split, as `canary-traffic-weights` and
`traffic-split-consistent` judge them: a sticky `split_clients` must split keys at the
upstream's weights, a `mirror` may copy requests to the canary only, and a header `map` that
pins a track (the program's `traffic.override`) needs `allowOverride` (false by default, so
production refuses it unless its policy config acknowledges it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from involution_policies.config import Schema
from involution_policies.nginx import (
    Directive,
    all_upstreams,
    header_overrides,
    mirror_targets,
    sticky_splits,
    upstream_track,
)

OVERRIDE_SCHEMA: Final[Schema] = {
    "allowOverride": {
        "type": "boolean",
        "default": False,
        "description": "allow a request header to pin a track (traffic.override): a test "
        "door around the split, for dev and staging unless acknowledged",
    },
}


def track_upstreams(tree: list[Directive], hosts: Mapping[str, str], split: str) -> dict[str, str]:
    """Upstream name -> track, for the upstreams (other than the split) serving one track."""
    found: dict[str, str] = {}
    for name, upstream in all_upstreams(tree).items():
        track = upstream_track(upstream, hosts)
        if name != split and track is not None:
            found[name] = track
    return found


def sticky_weights(
    tree: list[Directive], hosts: Mapping[str, str], split: str
) -> dict[str, int] | None:
    """The shares of the first sticky split, as weights; None without one."""
    found = sticky_splits(tree, track_upstreams(tree, hosts, split))
    if not found:
        return None
    return {track: round(share) for track, share in found[0].shares.items() if share > 0}


def mirrored_tracks(tree: list[Directive], hosts: Mapping[str, str]) -> set[str]:
    """The tracks whose servers receive mirrored copies."""
    upstreams = all_upstreams(tree)
    tracks: set[str] = set()
    for target in mirror_targets(tree):
        upstream = upstreams.get(target)
        for server in upstream.servers if upstream is not None else ():
            track = hosts.get(server.host)
            if track is not None:
                tracks.add(track)
    return tracks


def controls_problems(
    tree: list[Directive],
    hosts: Mapping[str, str],
    split: str,
    canary_weight: int | None,
    *,
    allow_override: bool,
) -> list[str]:
    """What is wrong with the controls of a parsed config around the upstream `split`."""
    tracks = track_upstreams(tree, hosts, split)
    problems: list[str] = []
    for sticky in sticky_splits(tree, tracks):
        problems += sticky.problems
        canary = sticky.shares.get("canary", 0.0)
        if canary_weight is not None and canary != canary_weight:
            problems.append(
                f"split_clients on {sticky.key} sends {canary:g}% of keys to the canary, but "
                f"upstream {split} weighs it {canary_weight}: the sticky split is the split"
            )
    if not allow_override:
        for header in header_overrides(tree, tracks):
            problems.append(
                f"a map on {header} pins requests to a track whatever the weights "
                "(traffic.override): not allowed here unless the policy config sets "
                "allowOverride"
            )
    upstreams = all_upstreams(tree)
    for target in mirror_targets(tree):
        upstream = upstreams.get(target)
        if upstream is None:
            problems.append(f"mirror copies go to {target}, which is not an upstream")
            continue
        wrong = [s.address for s in upstream.servers if hosts.get(s.host) != "canary" or s.flags]
        if wrong:
            problems.append(
                f"mirror copies go to {', '.join(wrong)} in upstream {target}: only the canary "
                "may receive copies (a copy on stable runs each request twice there)"
            )
    return problems
