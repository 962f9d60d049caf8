"""Deny by default: a key names its scopes; a missing or empty list grants nothing (CLI included)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from aegis.cli import app
from tests.broker.conftest import Broker
from tests.broker.test_api_support import assert_denied, sql

pytestmark = pytest.mark.anyio
VAULT_GRANT = {"aud": "aegis", "scopes": ["datakeys.read"], "resource": "domain:vault", "ttl_seconds": 60}


@pytest.mark.parametrize("scopes", [None, []])
async def test_a_key_without_scopes_is_refused(broker: Broker, scopes: list[str] | None) -> None:
    body = {"principal": "svc"} if scopes is None else {"principal": "svc", "scopes": scopes}
    r = await broker.http.post("/v1/keys", json=body, headers=broker.admin)
    await assert_denied(broker, r, 400, "scopes_required", "key.create")
    assert await sql(broker, "SELECT key_id FROM api_keys") == []


async def test_a_stored_key_without_scopes_mints_nothing(broker: Broker) -> None:
    created = await broker.create_key("svc", scopes=["secrets.read"])
    # A key written by an older version with no list: it must not mean "anything".
    await sql(broker, "UPDATE api_keys SET allowed_scopes = NULL WHERE key_id = :k", k=created["key_id"])
    r = await broker.http.post("/v1/token", json=VAULT_GRANT, headers={"Authorization": f"Bearer {created['api_key']}"})
    await assert_denied(broker, r, 403, "scope_not_allowed_for_key", "token.mint")
    r = await broker.mint(created["api_key"])
    await assert_denied(broker, r, 403, "scope_not_allowed_for_key", "token.mint")


async def test_a_key_mints_only_the_scopes_it_names(broker: Broker) -> None:
    created = await broker.create_key("svc", scopes=["secrets.read"])
    assert (await broker.mint(created["api_key"])).status_code == 200
    r = await broker.http.post("/v1/token", json=VAULT_GRANT, headers={"Authorization": f"Bearer {created['api_key']}"})
    await assert_denied(broker, r, 403, "scope_not_allowed_for_key", "token.mint")


def test_the_cli_refuses_a_key_without_scopes() -> None:
    out = CliRunner().invoke(app, ["keys", "create", "svc"])
    assert out.exit_code == 2
    assert "--scope" in out.output
