"""Console read throughput: GET /api/sessions authenticated + audited, against the same endpoint bare.

Run with ``uv run python bench/console_read.py``. SQLite in a temporary folder by default; set
``AEGIS_BENCH_DATABASE_URL`` to an empty PostgreSQL database to measure there (its tables are
created by the migrations; the database should be a scratch one). Both apps are served by uvicorn
on loopback and driven by the same httpx client with the same concurrency, alternating rounds.
Both sides are the full console app (same routes, same security headers). On the audited side the
guard rate-limits, verifies the JWT, checks the session row and commits a hash-chained audit row
(group commit) before the handler reads. On the bare side the guard is overridden to let every
request through: no auth, no audit. Goal: audited/bare >= 0.6.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from storage import migrate
from storage.crypto.keyring import DataKey, Keyring
from storage.db import Database
from web.app import create_app
from web.auth import recovery, totp
from web.auth.account import Account
from web.auth.passwords import Hasher
from web.auth.tokens import AccessClaims
from web.config import ConsoleConfig
from web.guard import Principal, guard

REQUESTS = 600  # per round and side
CONCURRENCY = 8
ROUNDS = 5
GOAL = 0.6
EMAIL = "bench@example.org"
PASSPHRASE = "bench-passphrase-Vivid-42-otter"


def keyring() -> Keyring:
    return Keyring(
        [DataKey(f"{d}.{p}.v1", os.urandom(32), "active") for d in ("auth", "audit", "chain") for p in ("enc", "idx")]
    )


async def serve(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, proxy_headers=False)
    )
    server.config.setup_event_loop = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes only a flag
        await asyncio.sleep(0.01)
    return server, task, f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"


def bare_app(db: Database, ring: Keyring, config: ConsoleConfig) -> FastAPI:
    """The same app with auth and audit turned off: the guard every route depends on lets all in."""
    app = create_app(db, keyring=ring, config=config)
    nobody = Principal("-", "none", AccessClaims("-", "-", 0, 0))

    async def open_door() -> Principal:
        return nobody

    app.dependency_overrides[guard] = open_door
    return app


async def drive(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> float:
    todo = iter(range(REQUESTS))

    async def worker() -> None:
        for _ in todo:
            r = await http.get(url, headers=headers)
            if r.status_code != 200:
                raise RuntimeError(f"{url}: {r.status_code} {r.text}")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return REQUESTS / (time.perf_counter() - start)


async def main() -> None:
    tmp = tempfile.TemporaryDirectory()
    url = os.environ.get("AEGIS_BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{Path(tmp.name) / 'bench.db'}"
    db = Database(url)
    await migrate.upgrade(db)
    config = ConsoleConfig(api_rate=(1e9, 1e9), auth_rate=(1e9, 1e9))
    ring = keyring()
    secret = totp.new_secret()
    account = Account(ring, config)
    async with db.transaction() as s:
        await account.enroll(
            s,
            email=EMAIL,
            passphrase_hash=Hasher(config.argon2).hash(PASSPHRASE),
            secret=secret,
            confirmed_step=0,
            codes=recovery.new_codes(),
            now=time.time(),
        )
    audited = create_app(db, keyring=ring, config=config)
    bare = bare_app(db, ring, config)
    servers = [await serve(audited), await serve(bare)]
    (_, _, audited_url), (_, _, bare_url) = servers
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        body = {"email": EMAIL, "passphrase": PASSPHRASE, "code": totp.code_at_step(secret, totp.step_at(time.time()))}
        login = await http.post(f"{audited_url}/auth/login", json=body)
        login.raise_for_status()
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        await drive(http, f"{audited_url}/api/sessions", auth)  # warm-up, both sides
        await drive(http, f"{bare_url}/api/sessions", {})
        with_auth, without = [], []
        for _ in range(ROUNDS):
            with_auth.append(await drive(http, f"{audited_url}/api/sessions", auth))
            without.append(await drive(http, f"{bare_url}/api/sessions", {}))
    for server, task, _ in servers:
        server.should_exit = True
        await task
    await db.dispose()
    tmp.cleanup()
    a, b = statistics.median(with_auth), statistics.median(without)
    print(f"database: {db.url.get_backend_name()}, {REQUESTS} requests x {ROUNDS} rounds, concurrency {CONCURRENCY}")
    print(f"authenticated + audited GET /api/sessions: {a:8.0f} req/s (median)")
    print(f"same endpoint, auth and audit off:         {b:8.0f} req/s (median)")
    print(f"ratio: {a / b:.2f} (goal >= {GOAL})")


if __name__ == "__main__":
    asyncio.run(main())
