"""Two gateway processes' worth of apps share rate limits and keys through Redis; the
config rejects names that match nothing."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from gateway.config import ConfigError
from gateway.registry import RegistryError, build_registry
from tests.conftest import REPLENISH, TEST_CONFIG, make_config
from tests.gateway.resilience.conftest import CREATE, RECEIPT, STOCK, GatewayFactory, sandbox_stats
from tests.gateway.state.test_stores import purge, require_redis


async def test_two_gateways_share_limits_and_keys_through_redis(
    gateway_with: GatewayFactory,
) -> None:
    require_redis()
    prefix = f"lastmile-test-{uuid.uuid4().hex}:"
    shared = f"""
state: {{store: redis, url: "redis://127.0.0.1:6379/0", prefix: "{prefix}"}}
resilience:
  backends:
    acme_wms: {{rate_limit: {{limit: 3, window_s: 60}}}}
"""
    one, two = await gateway_with(shared), await gateway_with(shared)
    try:
        first = await one.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": "both"})
        assert first.status == 200
        replay = await two.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": "both"})
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert (await one.invoke("warehouse.stock.get", STOCK)).status == 200
        refused = await two.invoke("warehouse.stock.get", STOCK)
        assert refused.status == 429
        assert (await sandbox_stats(one.wms))["api_calls"] == 2
    finally:
        await purge(prefix)


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ("resilience: {backends: {nowhere: {}}}", "'nowhere' is not a configured backend"),
        ("resilience: {operations: {warehouse.nothing.get: {}}}", "is not an operation"),
        ("resilience: {rate_limits: {agents: {ghost: {limit: 1, window_s: 1}}}}", "not an agent"),
    ],
)
def test_names_in_the_resilience_section_must_exist(
    section: str, problem: str, tmp_path: Path
) -> None:
    config = make_config("http://127.0.0.1:1", tmp_path / "a.sqlite", TEST_CONFIG + section)
    with pytest.raises(RegistryError, match=problem):
        build_registry(config)


def test_a_key_must_stay_claimed_while_its_call_can_run(tmp_path: Path) -> None:
    section = "resilience: {idempotency: {in_flight_s: 10}, defaults: {retry: {deadline_s: 20}}}"
    with pytest.raises(ConfigError, match="in_flight_s"):
        make_config("http://127.0.0.1:1", tmp_path / "a.sqlite", TEST_CONFIG + section)
