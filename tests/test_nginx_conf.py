"""nginx.conf rendering from typed data, independent of any stack."""

from __future__ import annotations

import pytest

from involution.nginx.conf import (
    config_checksum,
    render_nginx_conf,
    router_spec,
    weights_metrics,
)
from involution.phases import Phase, plan_phase
from tests.nginx_parse import (
    find,
    parse_conf,
    upstream_backups,
    upstream_servers,
    upstream_weights,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("phase", list(Phase))
def test_hosts_can_point_at_local_backends(phase: Phase) -> None:
    spec = router_spec(
        plan_phase(phase, 4), stable_host="127.0.0.1", canary_host="127.0.0.2", port=18080
    )
    conf = render_nginx_conf(spec)
    servers = upstream_servers(conf)
    expected = {
        "127.0.0.1:18080": 100 - phase.canary_share,
        "127.0.0.2:18080": phase.canary_share,
    }
    assert upstream_weights(conf) == {a: w for a, w in expected.items() if w > 0}
    # At 100% stable stands by as a backup; otherwise a track at 0% is not there at all.
    assert upstream_backups(conf) == (["127.0.0.1:18080"] if phase is Phase.P100 else [])
    for params in servers.values():
        assert params["max_fails"] == "3"
        assert params["fail_timeout"] == "10s"
        assert params.get("weight") != "0"


def test_metrics_expose_phase_and_weights() -> None:
    text = weights_metrics(router_spec(plan_phase(Phase.P50, 2)))
    assert 'involution_canary_weight{track="stable"} 50' in text
    assert 'involution_canary_weight{track="canary"} 50' in text
    assert 'involution_canary_phase{phase="50"} 50' in text
    rollback = weights_metrics(router_spec(plan_phase(Phase.ROLLBACK, 2)))
    assert 'involution_canary_phase{phase="rollback"} -1' in rollback


def test_status_server_serves_metrics_and_stub_status() -> None:
    conf = render_nginx_conf(router_spec(plan_phase(Phase.P10, 2)))
    http = find(parse_conf(conf), "http")[0]["block"]
    listens = sorted(find(s["block"], "listen")[0]["args"][0] for s in find(http, "server"))
    assert listens == ["8080", "9113"]
    assert "pid /tmp/nginx.pid;" in conf  # writable path under a read-only root filesystem


def test_checksum_changes_with_the_text() -> None:
    ten = render_nginx_conf(router_spec(plan_phase(Phase.P10, 2)))
    fifty = render_nginx_conf(router_spec(plan_phase(Phase.P50, 2)))
    assert config_checksum(ten) != config_checksum(fifty)
    assert config_checksum(ten) == config_checksum(str(ten))
    assert len(config_checksum(ten)) == 64
