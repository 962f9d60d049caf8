"""A real broker over real HTTP on loopback, per test, with a controllable clock."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from broker.app import create_broker_app
from broker.config import BrokerConfig
from broker.state import BrokerState
from storage.crypto.master import generate_master_key_file
from storage.db import Database

# What a test key may mint unless the test names its scopes (keys must name them).
TEST_SCOPES = [
    "secrets.read",
    "secrets.write",
    "secrets.list",
    "secrets.readwrite",
    "secret.read",
    "repo.read",
    "mail.send",
    "mail.read",
    "datakeys.read",
    "tokens.exchange",
    "tokens.introspect",
    "ssh.exec",
    "a.b",
    "c.d",
]


@dataclass
class FakeClock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Broker:
    url: str
    http: httpx.AsyncClient
    state: BrokerState
    clock: FakeClock
    admin_token: str
    key_path: Path
    secrets_seen: list[str] = field(default_factory=list)

    @property
    def admin(self) -> dict[str, str]:
        return {"X-Admin-Token": self.admin_token}

    async def create_key(self, principal: str = "svc", **body: Any) -> dict[str, Any]:
        if "scopes" not in body:
            ceiling = body.get("max_scopes")
            body["scopes"] = TEST_SCOPES if ceiling is None else ceiling
        r = await self.http.post("/v1/keys", json={"principal": principal, **body}, headers=self.admin)
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        self.secrets_seen.append(out["api_key"])
        return out

    async def mint(self, api_key: str, **body: Any) -> httpx.Response:
        req = {"aud": "aegis", "scopes": ["secrets.read"], "resource": "host:server1", "ttl_seconds": 300, **body}
        r = await self.http.post("/v1/token", json=req, headers={"Authorization": f"Bearer {api_key}"})
        if r.status_code == 200:
            self.secrets_seen.append(r.json()["access_token"])
        return r

    async def audit(self, **params: Any) -> list[dict[str, Any]]:
        r = await self.http.get("/v1/audit", params=params, headers=self.admin)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    async def last_audit(self) -> dict[str, Any]:
        return (await self.audit(limit=1))[0]


async def start_broker(
    db_url: str, tmp_path: Path, clock: FakeClock, *, key: bool = True, **overrides: Any
) -> tuple[uvicorn.Server, asyncio.Task[None], BrokerState, str]:
    key_path = tmp_path / "master.key"
    if key:
        generate_master_key_file(key_path)
    token = "adm-" + secrets.token_urlsafe(24)
    config = BrokerConfig(
        database_url=db_url, master_key_path=key_path, admin_token=token, issuer="http://broker.test", **overrides
    )
    state = BrokerState(config=config, db=Database(db_url), clock=clock)
    server = uvicorn.Server(
        uvicorn.Config(
            create_broker_app(state), host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="on"
        )
    )
    server.config.setup_event_loop = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=None))
    async with asyncio.timeout(10):
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes only a flag
            await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, state, f"http://127.0.0.1:{port}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def broker(db_url: str, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Broker]:
    server, task, state, url = await start_broker(db_url, tmp_path, clock)
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        yield Broker(url, http, state, clock, state.config.admin_token, state.config.master_key_path)
    server.should_exit = True
    await task
