"""The phone's ingest endpoint, end to end: a real broker on loopback issues and checks the device
token, the route parses, and the real MCP server stores through an in-process MCP client."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from mcp import Client
from sqlalchemy import func, select

from broker.client import BrokerClient
from integrations import Catalog, Manifest
from mcp_servers._common import CallGate, audit_log
from mcp_servers.applehealth.console.ingest import PATH, push_router
from mcp_servers.applehealth.models import HealthSampleRow
from mcp_servers.applehealth.server import HealthDeps, build_server
from mcp_servers.applehealth.store import HealthStore
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tests.mcp_servers.conftest import Clock, Tokens
from web import devices

pytestmark = pytest.mark.anyio
LIMIT = 64 * 1024


def _manifest() -> Manifest:
    found = Catalog.load().get("applehealth")
    assert found is not None
    return found


MANIFEST = _manifest()
BODY = {
    "data": {
        "metrics": [
            {
                "name": "step_count",
                "units": "count",
                "data": [
                    {"date": "2026-11-20 00:00:00 -0800", "qty": 8500, "source": "iPhone"},
                    {"date": "2026-11-21 00:00:00 -0800", "qty": 9100, "source": "iPhone"},
                ],
            }
        ]
    }
}


@dataclass
class Result:
    ok: bool
    content: Any
    error: str | None = None


@dataclass
class Phone:
    http: httpx.AsyncClient
    broker: BrokerClient
    token: devices.IssuedToken
    db: Database
    audited: list[tuple[str, str | None, dict[str, Any]]]

    async def post(self, body: Any, *, token: str | None = None, **headers: str) -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {"content-type": "application/json", "authorization": f"Bearer {token or self.token.token}"}
        return await self.http.post(PATH, content=raw, headers=sent | headers)


@pytest.fixture
async def phone(
    db: Database,
    broker_url: tuple[str, str],
    make_gate: Callable[[str], CallGate],
    signing_key: Any,
    clock: Clock,
) -> AsyncIterator[Phone]:
    url, admin = broker_url
    keyring = Keyring(
        [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("health", "chain") for p in ("enc", "idx")]
    )
    store = HealthStore(db, FieldCipher(keyring), audit_log(keyring, "health"))
    server = build_server(HealthDeps(store=store, gate=make_gate("applehealth"), today=dt.date.today))
    minted = Tokens(signing_key, clock, "applehealth")
    async with Client(server) as client, httpx.AsyncClient(base_url=url, timeout=10) as broker_http:
        broker = BrokerClient(broker_http, admin_token=admin)

        async def forward(tool: str, args: dict[str, Any]) -> Result:
            out = await client.call_tool(tool.partition(".")[2], args, meta=minted.meta("health.ingest"))
            return Result(not out.is_error, out.structured_content)

        audited: list[tuple[str, str | None, dict[str, Any]]] = []

        async def audit(_request: Request, result: str, reason: str | None, details: Mapping[str, Any]) -> None:
            audited.append((result, reason, dict(details)))

        app = FastAPI()
        app.include_router(push_router(broker=broker, forward=forward, audit=audit, max_bytes=LIMIT))
        issued = await devices.issue(broker, MANIFEST, "owners-iphone")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://aegis.test") as http:
            yield Phone(http, broker, issued, db, audited)


async def _stored(p: Phone) -> int:
    async with p.db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(HealthSampleRow)) or 0)


async def test_a_batch_is_stored_once_and_a_repeat_stores_nothing(phone: Phone) -> None:
    r = await phone.post(BODY)
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 2, "stored": 2, "repeated": 0, "samples": 2}
    again = await phone.post(BODY)
    assert again.json()["stored"] == 0 and again.json()["repeated"] == 2
    assert await _stored(phone) == 2
    assert [(r, d["stored"]) for r, _, d in phone.audited] == [("ok", 2), ("ok", 0)]


async def test_the_shortcut_shape_is_accepted(phone: Phone) -> None:
    body = {"samples": [{"metric": "step_count", "time": "2026-11-22T09:00:00+01:00", "value": 120, "unit": "count"}]}
    r = await phone.post(body)
    assert r.status_code == 200 and r.json()["stored"] == 1


@pytest.mark.parametrize("token", ["", "not-a-key", "aegis_live_0000"])
async def test_a_missing_or_malformed_token_is_401(phone: Phone, token: str) -> None:
    r = await phone.http.post(PATH, json=BODY, headers={"authorization": f"Bearer {token}"} if token else {})
    assert r.status_code == 401 and "WWW-Authenticate" in r.headers
    assert await _stored(phone) == 0
    assert phone.audited == [("denied", "unauthorized", {"status": 401, "device": None})]


async def test_a_revoked_token_is_refused(phone: Phone) -> None:
    await devices.revoke(phone.broker, MANIFEST, phone.token.key_id)
    r = await phone.post(BODY)
    assert r.status_code == 401
    assert await _stored(phone) == 0


async def test_a_key_with_other_scopes_cannot_ingest(phone: Phone) -> None:
    other = await phone.broker.create_key(
        principal="mcp-other",
        scopes=["mail.read"],
        resources=["mcp:other"],
        max_scopes=["mail.read"],
        max_resources=["mcp:other"],
    )
    r = await phone.post(BODY, token=other["api_key"])
    assert r.status_code == 401 and await _stored(phone) == 0


async def test_bad_input_gets_a_clear_4xx_and_stores_nothing(phone: Phone) -> None:
    big = {"samples": [{"metric": "x", "time": "2026-11-22T09:00:00Z", "value": 1}] * 3000}
    assert (await phone.post(big)).status_code == 413
    assert (await phone.post(b"{not json")).status_code == 400
    assert (await phone.post(BODY, **{"content-type": "text/plain"})).status_code == 415
    wrong = {"data": {"metrics": [{"name": "step_count", "data": [{"date": "2026-11-20", "qty": 1}]}]}}
    r = await phone.post(wrong)
    assert r.status_code == 400 and r.json()["where"] == "data.metrics[0].data[0].date"
    typed = {"data": {"metrics": [{"name": "step_count", "data": [{"date": "2026-11-20 00:00:00 -0800", "qty": "1"}]}]}}
    assert (await phone.post(typed)).json()["where"] == "data.metrics[0].data[0].qty"
    assert await _stored(phone) == 0
    # every refused batch left an audit row naming why, with the device once its token was checked
    assert [(r, why) for r, why, _ in phone.audited] == [
        ("denied", "too_large"),
        ("fail", "invalid_json"),
        ("denied", "unsupported_media_type"),
        ("fail", "invalid_payload"),
        ("fail", "invalid_payload"),
    ]
    assert all(str(d["device"]).startswith("key-") for _, _, d in phone.audited)
