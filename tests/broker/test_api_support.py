"""Helpers shared by the broker's HTTP security matrix (tests/broker/test_api_*.py). No tests here."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from broker.verify import KeySet, verify_token
from tests.broker.conftest import Broker, FakeClock, start_broker

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CANARY = "canary-Zq8v-"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def secrets_of(broker: Broker) -> list[str]:
    """Everything that must never appear in a refusal, an audit row or a log line."""
    return [*broker.secrets_seen, broker.admin_token]


def assert_clean(broker: Broker, body: str, *extra: str) -> None:
    for secret in [*secrets_of(broker), *extra]:
        assert secret not in body, "a secret leaked into the output"


async def assert_denied(
    broker: Broker,
    r: httpx.Response,
    status: int,
    reason: str,
    action: str,
    *,
    error: str | None = None,
) -> dict[str, Any]:
    """The response is a refusal with ``status`` and the last audit row records it; nothing leaks."""
    assert r.status_code == status, r.text
    assert r.json()["error"] == (error or reason), r.text
    assert_clean(broker, r.text)
    row = await broker.last_audit()
    assert (row["action"], row["result"], row["reason"]) == (action, "deny", reason), row
    assert_clean(broker, json.dumps(row))
    return row


def details(row: dict[str, Any]) -> dict[str, Any]:
    """An audit row's details (the audit API returns them as JSON text)."""
    raw = row["details"]
    out: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
    return out


async def audit_dump(broker: Broker) -> str:
    return json.dumps(await broker.audit(limit=1000))


def _b62(value: int, width: int) -> str:
    out = ""
    while value:
        value, rem = divmod(value, 62)
        out = B62[rem] + out
    return out.rjust(width, "0")


def wrong_secret(api_key: str, n: int = 0) -> str:
    """The same key id with another secret and a valid checksum: it parses, then fails the hash."""
    head, secret = api_key[:-6].split(".")
    tail = _b62(n, 3) if _b62(n, 3) != secret[-3:] else _b62(n + 1, 3)
    body = f"{head}.{secret[:-3]}{tail}"
    return body + _b62(zlib.crc32(body.encode("ascii")), 6)


def unknown_key(n: int = 0) -> str:
    """A well-formed key whose id the broker never issued."""
    body = f"aegk_{n:016x}." + "A" * 43
    return body + _b62(zlib.crc32(body.encode("ascii")), 6)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(obj: Any) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode("utf-8"))


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    head, payload, _ = token.split(".")

    def dec(seg: str) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))
        return out

    return dec(head), dec(payload)


async def jwks(broker: Broker) -> dict[str, Any]:
    r = await broker.http.get("/.well-known/jwks.json")
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    return doc


async def verify(broker: Broker, token: str, audience: str = "aegis") -> dict[str, Any]:
    keys = KeySet.from_jwks(await jwks(broker))
    return verify_token(token, keys=keys, issuer="http://broker.test", audience=audience, now=int(broker.clock()))


async def token_for(broker: Broker, api_key: str, **body: Any) -> str:
    r = await broker.mint(api_key, **body)
    assert r.status_code == 200, r.text
    tok: str = r.json()["access_token"]
    return tok


async def add_secret(
    broker: Broker, name: str, value: str, *, kind: str = "password", resource: str | None = None
) -> dict[str, Any]:
    broker.secrets_seen.append(value)
    body = {"name": name, "value": value, "type": kind, "resource": resource}
    r = await broker.http.post("/v1/secrets", json=body, headers=broker.admin)
    assert r.status_code == 201, r.text
    assert value not in r.text
    out: dict[str, Any] = r.json()
    return out


async def read_secret(broker: Broker, name: str, token: str) -> httpx.Response:
    return await broker.http.get(f"/v1/secrets/{name}", headers=bearer(token))


async def introspect(broker: Broker, token: str) -> dict[str, Any]:
    r = await broker.http.post("/v1/introspect", json={"token": token}, headers=broker.admin)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def exchange(broker: Broker, subject: str, **fields: str) -> httpx.Response:
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": subject,
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "audience": "aegis",
        "resource": "host:server1",
        "scope": "secrets.read",
        **fields,
    }
    r = await broker.http.post("/v1/token/exchange", data=form)
    if r.status_code == 200:
        broker.secrets_seen.append(r.json()["access_token"])
    return r


async def sql(broker: Broker, statement: str, **params: Any) -> list[Any]:
    async with broker.state.db.transaction() as s:
        result = await s.execute(text(statement), params)
        return list(result.all()) if statement.lstrip().upper().startswith("SELECT") else []


@asynccontextmanager
async def running_broker(
    db_url: str, tmp_path: Path, clock: FakeClock, *, key: bool = True, **overrides: Any
) -> AsyncIterator[Broker]:
    """Another real broker (own config, same database), stopped on exit."""
    server, task, state, url = await start_broker(db_url, tmp_path, clock, key=key, **overrides)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            yield Broker(url, http, state, clock, state.config.admin_token, state.config.master_key_path)
    finally:
        server.should_exit = True
        await task
