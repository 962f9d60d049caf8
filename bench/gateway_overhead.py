"""Gateway overhead: a READ tool call through the gateway and MCP against a bare MCP call on the same transport.

Run with ``uv run python bench/gateway_overhead.py`` (``--quick`` for a short run, ``--pg URL`` to put
the audit log in a scratch PostgreSQL database, which is dropped, created, migrated and dropped again;
``--dir /dev/shm`` to put the SQLite file on tmpfs, which shows the cost without the commit's fsync).

The tool is ``gmail.list_labels`` on the Gmail MCP server built exactly as ``python -m mcp_servers.gmail``
builds it (``mcp_servers.gmail.__main__.build``) over the demo mailbox, with call tokens enforced by its
``CallGate``. Only the bootstrapping differs from production: the server gets the bench's broker key
set (``AEGIS_BENCH_JWKS``) instead of fetching it from a running broker, and fresh random data keys.

* **bare**: ``client.call_tool("list_labels", meta={"aegis/token": <valid token>})`` on the MCP client
  the host holds for the server;
* **gateway**: ``GatewayToolRunner.run`` (the loop's tool runner) with the production ``Policy``, the
  operator ``Registry`` with the approved pins of ``agent/gateway/pins.yaml`` (checked live with
  ``refresh_pins``), a ``SecretScanner``, the audit sink ``agent_root`` wires (a hash-chained
  ``AuditLog.append`` committed in its own transaction) and ``McpExecutor`` with a token source that
  returns a cached valid token. Each call gets a fresh turn context (``PolicyContext``), built outside
  the timed region, as the console builds one per turn.

Two transports: stdio (the server in its own process, as in production) and in-memory (the same server
built in this process, ``ServerSpec(instance=...)``). Sides alternate in blocks, order flipped each
round; p50 and p99 are over every call of a side. Goal: at most 2 ms added at p50. To show where the
added time goes it also prints the gateway side's own time (the call minus the executor), the audit
append alone, and the secret scan of one result measured alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import hmac
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import asyncpg
import httpx
from mcp.types import RequestParamsMeta
from sqlalchemy.engine import URL, make_url

from aegis.agent_root import gateway_audit_sink
from agent.approval_store import DbApprovalStore
from agent.gateway import ContextLabel, ToolGateway
from agent.gateway.approvals import ApprovalService
from agent.gateway.gateway import ExecRequest, Executor
from agent.gateway.policy import Policy, PolicyContext
from agent.gateway.redact import SecretScanner
from agent.gateway.registry import Registry
from agent.mcp_host import McpHost, ServerSpec
from agent.model import ToolCall
from agent.toolrunner import GatewayToolRunner, McpExecutor, refresh_pins
from broker.client import BrokerClient
from broker.tokens import SigningKey, jwks, mint_token
from broker.verify import KeySet
from mcp_servers._common import TOKEN_META, CallGate, Runtime, ServerSettings, audit_log, keyset_verify
from mcp_servers.gmail.__main__ import build as build_gmail
from storage import migrate
from storage.audit import AuditEvent
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tools._http import build_http_client
from tools.credentials import StaticCredentials
from tools.egress import EgressGuard
from tools.gmail.demo import demo_credentials, demo_transport

HERE = Path(__file__).resolve()
ISSUER = "https://broker.bench"
SERVER = "gmail"
TOOL = "list_labels"
SCOPE = "mail.read"
GOAL_MS = 2.0
CONSOLE_KEY = "aegk_benchconsolekey.0123456789abcdefABCDEF"  # registered with the scanner, as agent_root does


CHAIN = DataKey("chain.idx.v1", os.urandom(32), ACTIVE)  # the audit chain key every writer shares


def _keyring(domains: tuple[str, ...]) -> Keyring:
    keys = [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in domains for p in ("enc", "idx")]
    return Keyring([*keys, CHAIN])


@contextlib.asynccontextmanager
async def gmail_runtime(jwks_doc: dict[str, Any], database_url: str) -> AsyncIterator[Runtime]:
    """What ``mcp_servers._common.open_runtime`` yields in the demo profile, with a fixed broker key set."""
    keyring = _keyring(("mail",))
    db = Database(database_url)
    settings = ServerSettings(
        name=SERVER,
        broker_url="http://127.0.0.1:9",  # never contacted: keys and JWKS are given
        issuer=ISSUER,
        key_file=Path(os.devnull),
        database_url=database_url,
        demo=True,
        call_tokens=True,
    )
    verify = keyset_verify(KeySet.from_jwks(jwks_doc), issuer=ISSUER, audience=settings.audience, clock=time.time)
    async with (
        httpx.AsyncClient(base_url=settings.broker_url) as broker_http,
        build_http_client(transport=demo_transport()) as http,
    ):
        try:
            yield Runtime(
                settings=settings,
                broker=BrokerClient(broker_http),
                db=db,
                keyring=keyring,
                cipher=FieldCipher(keyring),
                credentials=StaticCredentials(demo_credentials()),
                http=http,
                gate=CallGate(server=SERVER, resource=settings.resource, verify=verify),
                audit=audit_log(keyring, "mail"),
            )
        finally:
            await db.dispose()


def serve() -> None:
    """The stdio server process (``--serve``): logs to stderr through the project's pipeline, as in production."""
    from aegis.logs import Redactor, configure_logging

    configure_logging(Redactor(), level="WARNING")

    async def run() -> None:
        doc = json.loads(os.environ["AEGIS_BENCH_JWKS"])
        async with gmail_runtime(doc, os.environ["AEGIS_BENCH_SERVER_DB"]) as runtime:
            await build_gmail(runtime).run_stdio_async()

    asyncio.run(run())


class CachedTokens:
    """A token source holding one valid call token (``CallTokens`` between refreshes)."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self, audience: str, scope: str, resource: str) -> str:
        assert (audience, scope, resource) == (f"mcp-{SERVER}", SCOPE, f"mcp:{SERVER}")
        return self._token


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


async def _admin(url: URL, sql: str) -> None:
    conn = await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database="postgres",
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@dataclass
class Probe:
    """Per-call timings inside the gateway side: the executor (token + MCP call) and the audit sink."""

    exec_ms: list[float] = field(default_factory=list)
    audit_ms: list[float] = field(default_factory=list)
    own_ms: list[float] = field(default_factory=list)  # gateway + runner, without the executor

    def clear(self) -> None:
        self.exec_ms.clear()
        self.audit_ms.clear()
        self.own_ms.clear()


class TimedExecutor:
    def __init__(self, inner: Executor, probe: Probe) -> None:
        self._inner = inner
        self._probe = probe

    async def __call__(self, req: ExecRequest) -> Any:
        began = time.perf_counter()
        try:
            return await self._inner(req)
        finally:
            self._probe.exec_ms.append((time.perf_counter() - began) * 1000)


@dataclass
class Sides:
    bare_ms: list[float] = field(default_factory=list)
    gw_ms: list[float] = field(default_factory=list)
    added_p50: list[float] = field(default_factory=list)  # per round


async def measure(
    host: McpHost,
    gateway: ToolGateway,
    turn: Callable[[], PolicyContext],
    store: DbApprovalStore,
    token: str,
    probe: Probe,
    rounds: int,
    calls: int,
) -> Sides:
    client = host._servers[SERVER].client  # the host's own connection: the very same transport
    assert client is not None
    meta = cast(RequestParamsMeta, {TOKEN_META: token})

    async def bare() -> float:
        began = time.perf_counter()
        result = await client.call_tool(TOOL, {}, meta=meta)
        took = time.perf_counter() - began
        if result.is_error:
            raise RuntimeError(f"bare call failed: {result.content}")
        return took * 1000

    seq = 0

    async def through_gateway() -> float:
        nonlocal seq
        seq += 1
        runner = GatewayToolRunner(gateway, turn(), host, stage=store)
        call = ToolCall(f"toolu_{seq:08d}", f"{SERVER}__{TOOL}", {})
        began = time.perf_counter()
        outcome = await runner.run(call)
        took = (time.perf_counter() - began) * 1000
        if outcome.is_error:
            raise RuntimeError(f"gateway call failed: {outcome.content}")
        probe.own_ms.append(took - probe.exec_ms[-1])
        return took

    async def block(fn: Callable[[], Awaitable[float]], n: int) -> list[float]:
        return [await fn() for _ in range(n)]

    await block(bare, 100)  # warm up: connections, statement caches, caches of the verifier
    await block(through_gateway, 100)
    probe.clear()
    out = Sides()
    for r in range(rounds):  # alternate, order flipped each round, so drift hits both sides alike
        order = [("bare", bare), ("gateway", through_gateway)]
        got: dict[str, list[float]] = {}
        for side, fn in order if r % 2 == 0 else reversed(order):
            got[side] = await block(fn, calls)
        out.bare_ms += got["bare"]
        out.gw_ms += got["gateway"]
        out.added_p50.append(statistics.median(got["gateway"]) - statistics.median(got["bare"]))
        gc.collect()  # between blocks, not inside one
    return out


def report(name: str, sides: Sides, probe: Probe, scan_ms: float) -> bool:
    bare_ms, gw_ms = sides.bare_ms, sides.gw_ms
    b50, b99 = pct(bare_ms, 50), pct(bare_ms, 99)
    g50, g99 = pct(gw_ms, 50), pct(gw_ms, 99)
    ok = g50 - b50 <= GOAL_MS
    added = sides.added_p50
    print(f"  {name}: {len(bare_ms)} calls per side")
    print(f"    bare MCP call_tool        p50 {b50:7.3f} ms | p99 {b99:7.3f} ms")
    print(f"    gateway + MCP             p50 {g50:7.3f} ms | p99 {g99:7.3f} ms")
    print(
        f"    added                     p50 {g50 - b50:+7.3f} ms | p99 {g99 - b99:+7.3f} ms"
        f" | ratio p50 {g50 / b50:.2f}x | {'meets' if ok else 'MISSES'} the goal of <= {GOAL_MS} ms at p50"
    )
    print(
        f"    added p50 per round       min {min(added):+7.3f} ms | median {statistics.median(added):+.3f} ms"
        f" | max {max(added):+.3f} ms"
    )
    print(f"    inside the gateway side:  executor (token + MCP call) p50 {pct(probe.exec_ms, 50):.3f} ms")
    print(
        f"      gateway's own work      p50 {pct(probe.own_ms, 50):7.3f} ms | p99 {pct(probe.own_ms, 99):7.3f} ms"
        " (policy, audit, redaction, labels, runner)"
    )
    print(
        f"      of which audit append   p50 {pct(probe.audit_ms, 50):7.3f} ms | p99 {pct(probe.audit_ms, 99):7.3f} ms"
    )
    print(f"      of which result scan    median {scan_ms:.3f} ms (SecretScanner.redact_value, measured alone)")
    return ok


def scan_cost(scanner: SecretScanner, result: Any) -> float:
    """Median time of redacting one tool result, alone."""
    times = []
    for _ in range(300):
        began = time.perf_counter()
        scanner.redact_value(result)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


async def main(args: argparse.Namespace) -> None:
    rounds, calls = (4, 100) if args.quick else (10, 300)
    tmp = tempfile.TemporaryDirectory(dir=args.dir)
    pg: URL | None = None
    if args.pg:
        pg = make_url(args.pg)
        name = pg.database or ""
        if pg.get_backend_name() != "postgresql" or not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise SystemExit("--pg must name a scratch PostgreSQL database like aegis_bench_gateway")
        await _admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await _admin(pg, f'CREATE DATABASE "{name}"')
        url = pg.render_as_string(hide_password=False)
    else:
        url = f"sqlite+aiosqlite:///{Path(tmp.name) / 'aegis.db'}"
    db = Database(url)
    try:
        await migrate.upgrade(db)
        await run(args, db, url, rounds, calls)
    finally:
        await db.dispose()
        if pg is not None:
            await _admin(pg, f'DROP DATABASE IF EXISTS "{pg.database}" WITH (FORCE)')
        tmp.cleanup()


async def run(args: argparse.Namespace, db: Database, url: str, rounds: int, calls: int) -> None:
    now = int(time.time())
    key = SigningKey.generate(now)
    doc = jwks([key])
    token, _ = mint_token(
        key,
        issuer=ISSUER,
        subject="console",
        client_id="k-console",
        audience=f"mcp-{SERVER}",
        scopes=[SCOPE],
        resource=f"mcp:{SERVER}",
        ttl_seconds=1800,
        txn="bench",
        now=now,
    )

    # The agent side, as aegis.agent_root wires it.
    keyring = _keyring(("audit", "conversation"))
    cipher = FieldCipher(keyring)
    probe = Probe()
    sink = gateway_audit_sink(db, keyring)

    async def audit(event: AuditEvent) -> None:
        began = time.perf_counter()
        await sink(event)
        probe.audit_ms.append((time.perf_counter() - began) * 1000)

    store = DbApprovalStore(db, cipher)
    approvals = ApprovalService(
        store, hmac.new(keyring.index_key("conversation"), b"aegis/approvals/grants", hashlib.sha256).digest()
    )
    scanner = SecretScanner([CONSOLE_KEY])
    backend = (
        db.url.get_backend_name() if not db.is_sqlite else f"sqlite in {Path(url.split(':///', 1)[1]).parent.parent}"
    )
    print(
        f"gateway overhead: {SERVER}.{TOOL}, audit on {backend}, {rounds} rounds x {calls} calls per side"
        f" (load average {os.getloadavg()[0]:.2f})"
    )

    ok = True
    stdio = ServerSpec(
        SERVER,
        command=[sys.executable, str(HERE), "--serve"],
        env={
            "AEGIS_BENCH_JWKS": json.dumps(doc),
            "AEGIS_BENCH_SERVER_DB": url,
            "PYTHONPATH": str(HERE.parent.parent),
        },
    )
    async with contextlib.AsyncExitStack() as stack:
        local = await stack.enter_async_context(gmail_runtime(doc, url))
        transports = {
            "stdio (server subprocess)": stdio,
            "in-memory": ServerSpec(SERVER, instance=lambda: build_gmail(local)),
        }
        for name, spec in transports.items():
            host = McpHost([spec])
            await host.start(wait=60)
            try:
                registry = Registry.load()
                status = refresh_pins(registry, host)
                if status.get(f"{SERVER}.{TOOL}") != "approved":
                    raise SystemExit(f"{SERVER}.{TOOL} is not approved in pins.yaml: {status}")
                egress = EgressGuard(registry.allowlists)
                gateway = ToolGateway(
                    policy=Policy(),
                    approvals=approvals,
                    executor=TimedExecutor(McpExecutor(host, CachedTokens(token)), probe),
                    audit=audit,
                )

                def turn(registry: Registry = registry, egress: EgressGuard = egress) -> PolicyContext:
                    context = ContextLabel()
                    context.add_owner_text("Which labels do I have in Gmail?")
                    return PolicyContext(
                        context=context, registry=registry, scanner=scanner, egress=egress, session_id="bench"
                    )

                sides = await measure(host, gateway, turn, store, token, probe, rounds, calls)
                sample = await host.call(SERVER, TOOL, {}, meta={TOKEN_META: token})
                ok = report(name, sides, probe, scan_cost(scanner, sample.structured_content)) and ok
            finally:
                await host.close()
    if not ok:
        print("  at least one transport MISSES the goal")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and calls")
    parser.add_argument("--pg", metavar="URL", help="audit on PostgreSQL (a scratch database, dropped afterwards)")
    parser.add_argument(
        "--dir", metavar="PATH", help="folder for the SQLite database (default: the temp dir; /dev/shm: no fsync cost)"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.serve:
        serve()
    else:
        from aegis.logs import Redactor, configure_logging

        configure_logging(Redactor(), level="WARNING")  # as the server: no per-call log lines on either side
        asyncio.run(main(parsed))
