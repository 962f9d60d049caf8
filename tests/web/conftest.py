"""A real console over real HTTP on loopback, per test: fresh database, keyring, enrolled admin, fake clock.

TOTP codes are computed here from the shared secret (RFC 6238 by hand), never by the code under test.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest
import uvicorn
from argon2 import Parameters, Type
from fastapi import FastAPI

from storage.crypto.keyring import DataKey, Keyring
from storage.db import Database
from web.app import create_app
from web.auth.account import Account
from web.config import ConsoleConfig

EMAIL = "owner@example.org"
PASSPHRASE = "violet-harbor-kettle-91-Quartz"
CHEAP_ARGON2 = Parameters(
    type=Type.ID, version=19, salt_len=16, hash_len=32, time_cost=1, memory_cost=8192, parallelism=1
)
START = 1_800_000_000.0


@dataclass
class FakeClock:
    now: float = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def totp(secret: bytes, unix_time: float, *, offset: int = 0) -> str:
    """RFC 6238 with SHA-1, 30 s, 6 digits: written from the RFC, independent of web.auth.totp."""
    counter = int(unix_time) // 30 + offset
    mac = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    start = mac[19] & 0xF
    number = (struct.unpack(">I", mac[start : start + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{number:06d}"


def make_keyring() -> Keyring:
    return Keyring(
        [
            DataKey("auth.enc.v1", os.urandom(32), "active"),
            DataKey("auth.idx.v1", os.urandom(32), "active"),
            DataKey("audit.enc.v1", os.urandom(32), "active"),
            DataKey("audit.idx.v1", os.urandom(32), "active"),
            DataKey("chain.idx.v1", os.urandom(32), "active"),
        ]
    )


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Cookie name -> value from Set-Cookie headers (httpx's jar will not send Secure cookies over http)."""
    out: dict[str, str] = {}
    for raw in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(raw)
        for name, morsel in jar.items():
            out[name] = morsel.value
    return out


def raw_set_cookies(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


@dataclass
class Console:
    url: str
    http: httpx.AsyncClient
    clock: FakeClock
    db: Database
    keyring: Keyring
    app: FastAPI
    secret: bytes
    recovery_codes: list[str]
    email: str = EMAIL
    passphrase: str = PASSPHRASE
    used_steps: set[int] = field(default_factory=set)

    def code(self, offset: int = 0) -> str:
        return totp(self.secret, self.clock.now, offset=offset)

    def fresh_code(self) -> str:
        """A code for a step not used yet: moves the clock on by one step if needed."""
        step = int(self.clock.now) // 30
        if step in self.used_steps:
            self.clock.advance(30)
            step += 1
        self.used_steps.add(step)
        return self.code()

    async def login(self, code: str | None = None, **overrides: str) -> httpx.Response:
        body = {"email": self.email, "passphrase": self.passphrase, "code": code or self.fresh_code(), **overrides}
        return await self.http.post("/auth/login", json=body)

    async def login_tokens(self) -> dict[str, Any]:
        r = await self.login()
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    async def browser_login(self) -> dict[str, str]:
        body = {"email": self.email, "passphrase": self.passphrase, "code": self.fresh_code()}
        r = await self.http.post("/auth/login", data=body)
        assert r.status_code == 303, r.text
        return set_cookies(r)

    async def audit(self, token: str, **params: Any) -> list[dict[str, Any]]:
        r = await self.http.get("/api/audit", params=params, headers=bearer(token))
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def cookie_header(cookies: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


async def enroll(db: Database, keyring: Keyring, config: ConsoleConfig, now: float) -> tuple[bytes, list[str]]:
    from web.auth import recovery
    from web.auth.passwords import Hasher

    account = Account(keyring, config)
    secret = os.urandom(20)
    codes = recovery.new_codes()
    async with db.transaction() as s:
        await account.enroll(
            s,
            email=EMAIL,
            passphrase_hash=Hasher(config.argon2).hash(PASSPHRASE),
            secret=secret,
            confirmed_step=int(now) // 30 - 2,
            codes=codes,
            now=now,
        )
    return secret, codes


async def serve(app: Any, port: int = 0) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on", proxy_headers=False
        )
    )
    server.config.setup_event_loop = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=None))
    async with asyncio.timeout(10):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def console_config(clock: FakeClock) -> ConsoleConfig:
    return ConsoleConfig(clock=clock, argon2=CHEAP_ARGON2, auth_rate=(100.0, 1000), api_rate=(1000.0, 5000))


@pytest.fixture
async def console(db_url: str, clock: FakeClock, console_config: ConsoleConfig) -> AsyncIterator[Console]:
    db = Database(db_url)
    keyring = make_keyring()
    secret, codes = await enroll(db, keyring, console_config, clock.now)
    app = create_app(db, keyring=keyring, config=console_config)
    server, task, url = await serve(app)
    async with httpx.AsyncClient(base_url=url, timeout=10, follow_redirects=False) as http:
        yield Console(url, http, clock, db, keyring, app, secret, codes)
    server.should_exit = True
    await task
