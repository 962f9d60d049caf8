"""Strict request types: no coercion in request bodies, and ids beyond 64 bits are a 4xx, not a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.broker.conftest import Broker
from tests.broker.test_api_support import assert_denied, exchange, token_for

pytestmark = pytest.mark.anyio
BIG = 2**63


@pytest.mark.parametrize(
    "field,value",
    [
        ("ttl_seconds", "900"),
        ("ttl_seconds", 900.0),
        ("ttl_seconds", True),
        ("scopes", "secrets.read"),
        ("aud", 1),
        ("resource", ["host:server1"]),
    ],
)
async def test_mint_fields_are_not_coerced(broker: Broker, field: str, value: Any) -> None:
    key = (await broker.create_key("svc"))["api_key"]
    r = await broker.mint(key, **{field: value})
    row = await assert_denied(broker, r, 400, "invalid_request", "token.mint")
    assert field in r.json()["message"]
    assert row["trace_id"] == r.headers["X-Trace-Id"]


@pytest.mark.parametrize("value", [BIG, 2**70, -1])
async def test_a_huge_integer_is_a_clear_refusal(broker: Broker, value: int) -> None:
    key = (await broker.create_key("svc"))["api_key"]
    r = await broker.mint(key, ttl_seconds=value)
    assert r.status_code == 400, r.text


@pytest.mark.parametrize("value", ["true", 90.0, "90"])
async def test_key_creation_is_not_coerced(broker: Broker, value: Any) -> None:
    body = {"principal": "svc", "scopes": ["secrets.read"], "expires_in_days": value}
    r = await broker.http.post("/v1/keys", json=body, headers=broker.admin)
    await assert_denied(broker, r, 400, "invalid_request", "key.create")


@pytest.mark.parametrize("value", ["900.0", "true", "1e3", "+5", " 90"])
async def test_exchange_ttl_is_a_plain_number(broker: Broker, value: str) -> None:
    key = (await broker.create_key("svc"))["api_key"]
    parent = await token_for(broker, key, scopes=["secrets.read", "tokens.exchange"])
    r = await exchange(broker, parent, ttl_seconds=value)
    await assert_denied(broker, r, 400, "invalid_request", "token.exchange")


async def test_ids_beyond_64_bits_are_refused(broker: Broker) -> None:
    r = await broker.http.get("/v1/audit", params={"before": BIG}, headers=broker.admin)
    await assert_denied(broker, r, 400, "invalid_request", "audit.query")
    r = await broker.http.get(f"/v1/admin/rotations/{BIG}", headers=broker.admin)
    await assert_denied(broker, r, 400, "invalid_request", "data_key.status")
    r = await broker.http.get(f"/v1/admin/rotations/{2**64 + 5}", headers=broker.admin)
    assert r.status_code == 400
