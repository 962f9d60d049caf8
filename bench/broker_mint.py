"""Broker latency over real HTTP on PostgreSQL, one worker: token minting (with its audit write and
issued-token row) and secret reads, against a bare round trip to the same server (GET /health).

Run with ``uv run python bench/broker_mint.py [--quick]``. Uses ``AEGIS_BENCH_DATABASE_URL`` (default
``postgresql+asyncpg://postgres@127.0.0.1:5432/aegis_bench_broker``), created and dropped here.
Goals: mint p50 <= 5 ms and >= 300 mints/s.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
import uvicorn
from sqlalchemy.engine import make_url

from broker.app import create_broker_app
from broker.config import BrokerConfig
from broker.state import BrokerState
from storage import migrate
from storage.crypto.master import generate_master_key_file
from storage.db import Database

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/aegis_bench_broker"


async def _recreate(url: str) -> None:
    u = make_url(url)
    conn = await asyncpg.connect(host=u.host, port=u.port, user=u.username, database="postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{u.database}"')
    finally:
        await conn.close()


async def _drop(url: str) -> None:
    u = make_url(url)
    conn = await asyncpg.connect(host=u.host, port=u.port, user=u.username, database="postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
    finally:
        await conn.close()


CLIENTS = 4


async def _timed(n: int, op: Callable[[], Awaitable[httpx.Response]]) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        r = await op()
        out.append(time.perf_counter() - start)
        if r.status_code != 200:
            raise SystemExit(f"unexpected {r.status_code}: {r.text[:200]}")
    return out


async def _throughput(n: int, op: Callable[[], Awaitable[httpx.Response]], clients: int = CLIENTS) -> float:
    """Requests per second with ``clients`` callers at once (one worker still serves them all)."""
    each = n // clients

    async def caller() -> None:
        for _ in range(each):
            r = await op()
            if r.status_code != 200:
                raise SystemExit(f"unexpected {r.status_code}: {r.text[:200]}")

    start = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(clients)))
    return each * clients / (time.perf_counter() - start)


def _pct(samples: list[float], q: float) -> float:
    return sorted(samples)[min(len(samples) - 1, int(q * len(samples)))] * 1000


async def main(quick: bool) -> None:
    url = os.environ.get("AEGIS_BENCH_DATABASE_URL", DEFAULT_URL)
    n = 300 if quick else 2000
    await _recreate(url)
    tmp = Path(tempfile.mkdtemp())
    generate_master_key_file(tmp / "master.key")
    db = Database(url)
    await migrate.upgrade(db)
    config = BrokerConfig(
        database_url=url,
        master_key_path=tmp / "master.key",
        admin_token="bench-admin-" + "x" * 20,
        issuer="http://bench",
        ip_rate=1e6,
        ip_burst=1e6,
        key_rate=1e6,
        key_burst=1e6,
    )
    state = BrokerState(config=config, db=db)
    server = uvicorn.Server(
        uvicorn.Config(create_broker_app(state), host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes only a flag
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    admin = {"X-Admin-Token": config.admin_token}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            key = (
                await http.post(
                    "/v1/keys",
                    headers=admin,
                    json={
                        "principal": "bench",
                        "max_scopes": ["secrets.read"],
                        "max_resources": ["host:bench"],
                        "scopes": ["secrets.read"],
                    },
                )
            ).json()
            await http.post(
                "/v1/secrets", headers=admin, json={"name": "bench-secret", "value": "v" * 64, "resource": "host:bench"}
            )
            auth = {"Authorization": f"Bearer {key['api_key']}"}
            body = {"aud": "aegis", "scopes": ["secrets.read"], "resource": "host:bench", "ttl_seconds": 300}
            token = (await http.post("/v1/token", headers=auth, json=body)).json()["access_token"]
            bearer = {"Authorization": f"Bearer {token}"}

            async def health() -> httpx.Response:
                return await http.get("/health")

            async def mint() -> httpx.Response:
                return await http.post("/v1/token", headers=auth, json=body)

            async def read() -> httpx.Response:
                return await http.get("/v1/secrets/bench-secret", headers=bearer)

            for op in (health, mint, read):
                await _timed(50, op)  # warm up
            base, mints, reads = [], [], []
            for _ in range(4):  # interleaved rounds: machine noise hits every side alike
                base += await _timed(n // 4, health)
                mints += await _timed(n // 4, mint)
                reads += await _timed(n // 4, read)
            bare_rate = await _throughput(n, health)
            busy_rate = await _throughput(n, mint)
    finally:
        server.should_exit = True
        await task
        await db.dispose()
        await _drop(url)
    rate = len(mints) / sum(mints)
    print(f"broker on PostgreSQL, one worker, {len(mints)} sequential requests per kind")
    print(f"  bare round trip (GET /health): p50 {_pct(base, 0.5):.2f} ms  p99 {_pct(base, 0.99):.2f} ms")
    print(
        f"  mint (POST /v1/token):         p50 {_pct(mints, 0.5):.2f} ms  p99 {_pct(mints, 0.99):.2f} ms  "
        f"{rate:.0f} mints/s"
    )
    print(f"  secret read (GET /v1/secrets): p50 {_pct(reads, 0.5):.2f} ms  p99 {_pct(reads, 0.99):.2f} ms")
    print(f"  {CLIENTS} callers at once: {busy_rate:.0f} mints/s against {bare_rate:.0f} bare round trips/s")
    print(
        f"  mint p50 / bare p50: {statistics.median(mints) / statistics.median(base):.1f}x; "
        f"goals: p50 <= 5 ms ({'met' if _pct(mints, 0.5) <= 5 else 'missed'}), "
        f">= 300 mints/s ({'met' if busy_rate >= 300 else 'missed'}: {rate:.0f}/s one at a time, "
        f"{busy_rate:.0f}/s with {CLIENTS} callers)"
    )


if __name__ == "__main__":
    asyncio.run(main("--quick" in sys.argv))
