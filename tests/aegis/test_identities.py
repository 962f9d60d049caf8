"""Embedded service keys: created once, and replaced when a new version needs a scope the old key lacks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
import pytest

from aegis.identities import console_identity, ensure_key
from aegis.runtime import build_context
from aegis.settings import Settings
from broker.apikeys import parse_api_key
from broker.client import BrokerClient
from integrations import Catalog
from tests.broker.conftest import FakeClock, start_broker

pytestmark = pytest.mark.anyio


async def test_a_key_missing_a_new_scope_is_replaced_and_the_old_one_revoked(db_url: str, tmp_path: Path) -> None:
    console = console_identity(Catalog.load())
    server, task, state, url = await start_broker(db_url, tmp_path, FakeClock())
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    token = data / "broker-admin.token"
    token.write_text(state.config.admin_token)
    token.chmod(0o600)
    ctx = build_context(Settings(data_dir=data, secrets_dir=tmp_path / "no-secrets"))
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            client = BrokerClient(http)
            admin = BrokerClient(http, admin_token=state.config.admin_token)
            older = dataclasses.replace(console, scopes=tuple(s for s in console.scopes if s != "mail.link"))
            path = await ensure_key(ctx, client, older)  # what an earlier version created
            first = parse_api_key(path.read_text().strip()).key_id
            assert await ensure_key(ctx, client, older) == path  # unchanged ceiling: kept
            assert parse_api_key(path.read_text().strip()).key_id == first

            await ensure_key(ctx, client, console)  # this version needs mail.link
            second = parse_api_key(path.read_text().strip()).key_id
            assert second != first and path.stat().st_mode & 0o777 == 0o600
            keys = {k["key_id"]: k for k in (await admin.principal(console.name))["keys"]}
            assert keys[first]["revoked"] and not keys[second]["revoked"]
            assert "mail.link" in keys[second]["scopes"]
            minted = await client.mint(
                path.read_text().strip(), aud="mcp-gmail", scopes=["mail.link"], resource="mcp:gmail", ttl_seconds=60
            )
            assert minted["access_token"]
    finally:
        server.should_exit = True
        await task
