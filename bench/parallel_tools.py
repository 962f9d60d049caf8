"""Parallel tool calls: five calls of one model step against the slowest of them alone.

Run with ``uv run python bench/parallel_tools.py`` (``--quick`` for a short run, ``--pg URL`` to put the
audit log in a scratch PostgreSQL database, which is dropped, created, migrated and dropped again;
SQLite in a temporary folder by default).

The tool is ``bench.wait``: an MCP server (``MCPServer``, call tokens checked by a ``CallGate`` as on
the real servers) whose one tool awaits the number of milliseconds it is given, so the latency of each
call is known. It is classified READ in a bench registry whose pin is approved from the live
definition (``Registry.approve_pin``, then ``refresh_pins`` must report it approved). Calls go through
the real gateway: ``Policy``, ``SecretScanner``, the audit sink ``agent_root`` wires (hash-chained
``AuditLog.append`` committed in its own transaction), ``McpExecutor`` with a cached valid call token.

Two drivers, each on two transports (stdio: the server in its own process; in-memory):

* **loop**: ``agent.loop.run_turn`` with a ``ScriptedModel`` whose first step issues the tool_use blocks
  at once (the loop runs them with ``asyncio.gather``) and whose second step ends the turn;
* **direct**: ``asyncio.gather`` of ``GatewayToolRunner.run`` for the calls.

"five" issues five calls with the delays below, the slowest last (its audit row queues behind the
others': the worst order); "slowest" issues only the slowest one. The figure is median wall time (five)
/ median wall time (slowest), rounds alternating and flipping order. Goal: <= 1.2x on the first set.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import asyncpg
from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field
from sqlalchemy.engine import URL, make_url
from typing_extensions import TypedDict

from aegis.agent_root import gateway_audit_sink
from agent.approval_store import DbApprovalStore
from agent.gateway import ContextLabel, ToolDef, ToolGateway
from agent.gateway.approvals import ApprovalService
from agent.gateway.policy import Policy, PolicyContext
from agent.gateway.redact import SecretScanner
from agent.gateway.registry import Registry
from agent.limits import Budget, MemoryLedger, Prices, TurnLimits
from agent.loop import run_turn
from agent.mcp_host import McpHost, ServerSpec
from agent.model import ScriptedModel, ScriptedStep, ToolCall
from agent.toolrunner import GatewayToolRunner, McpExecutor, refresh_pins
from broker.tokens import SigningKey, jwks, mint_token
from broker.verify import KeySet
from mcp_servers._common import LOCAL_READ, CallGate, keyset_verify
from storage import migrate
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tools.egress import EgressGuard

HERE = Path(__file__).resolve()
ISSUER = "https://broker.bench"
SERVER = "bench"
SCOPE = "bench.read"
GOAL = 1.2
DELAY_SETS = {  # milliseconds; the goal is judged on the first set
    "tools of 40-100 ms": (40, 55, 70, 85, 100),
    "tools of 8-20 ms": (8, 11, 14, 17, 20),
}
REGISTRY = {
    "version": 1,
    "tools": {
        f"{SERVER}.wait": {
            "class": "READ",
            "description": "Wait the given number of milliseconds, then answer.",
            "params": {"ms": "How long to wait, in milliseconds."},
            "result": {"channel": "bench", "integrity": "UNTRUSTED", "conf": "PRIVATE"},
        }
    },
}


class WaitResult(TypedDict):
    slept_ms: int


def build_server(gate: CallGate) -> MCPServer:
    server = MCPServer(SERVER, instructions="A tool whose latency the caller chooses.")

    @server.tool(annotations=LOCAL_READ)
    async def wait(ms: Annotated[int, Field(ge=0, le=10_000)], ctx: Context) -> WaitResult:
        """Wait ``ms`` milliseconds, then answer."""
        await gate.check(ctx, SCOPE, "wait")
        await asyncio.sleep(ms / 1000)
        return {"slept_ms": ms}

    return server


def gate_for(jwks_doc: Mapping[str, Any]) -> CallGate:
    verify = keyset_verify(KeySet.from_jwks(jwks_doc), issuer=ISSUER, audience=f"mcp-{SERVER}", clock=time.time)
    return CallGate(server=SERVER, resource=f"mcp:{SERVER}", verify=verify)


def serve() -> None:
    """The stdio server process (``--serve``)."""
    from aegis.logs import Redactor, configure_logging

    configure_logging(Redactor(), level="WARNING")
    server = build_server(gate_for(json.loads(os.environ["AEGIS_BENCH_JWKS"])))
    asyncio.run(server.run_stdio_async())


class CachedTokens:
    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self, audience: str, scope: str, resource: str) -> str:
        assert (audience, scope, resource) == (f"mcp-{SERVER}", SCOPE, f"mcp:{SERVER}")
        return self._token


Driver = Callable[[Sequence[int]], Awaitable[float]]


async def ratio(drive: Driver, delays: Sequence[int], rounds: int) -> tuple[float, float, float]:
    """Median wall time (ms) of all five, of the slowest alone, and their ratio."""
    five, slowest = list(delays), [max(delays)]
    await drive(five)  # warm up
    await drive(slowest)
    all_ms: list[float] = []
    one_ms: list[float] = []
    for r in range(rounds):
        order = [(all_ms, five), (one_ms, slowest)]
        for out, calls in order if r % 2 == 0 else reversed(order):
            out.append(await drive(calls))
    a, o = statistics.median(all_ms), statistics.median(one_ms)
    return a, o, a / o


class Turns:
    """Builds what one turn uses (its runner, the scripted calls) and drives the two measurements."""

    def __init__(
        self, gateway: ToolGateway, registry: Registry, host: McpHost, scanner: SecretScanner, store: DbApprovalStore
    ) -> None:
        self.gateway = gateway
        self.registry = registry
        self.egress = EgressGuard(registry.allowlists)
        self.host = host
        self.scanner = scanner
        self.store = store
        self.seq = 0

    def runner(self) -> GatewayToolRunner:
        context = ContextLabel()
        context.add_owner_text("Run the wait tools.")
        ctx = PolicyContext(
            context=context, registry=self.registry, scanner=self.scanner, egress=self.egress, session_id="bench"
        )
        return GatewayToolRunner(self.gateway, ctx, self.host, stage=self.store)

    def calls(self, delays: Sequence[int]) -> list[ToolCall]:
        out = []
        for ms in delays:  # in the given order: the slowest last, so it queues behind the others
            self.seq += 1
            out.append(ToolCall(f"toolu_{self.seq:08d}", f"{SERVER}__wait", {"ms": ms}))
        return out

    async def loop(self, delays: Sequence[int]) -> float:
        model = ScriptedModel([ScriptedStep(tool_calls=self.calls(delays)), ScriptedStep(text="Done.")])
        tools = self.runner()
        budget = Budget(TurnLimits(), Prices(), MemoryLedger())
        began = time.perf_counter()
        result = await run_turn(model, tools, [], "Run the wait tools.", system="bench", budget=budget)
        took = (time.perf_counter() - began) * 1000
        bad = [o.content for _, o in result.calls if o.is_error]
        if result.stopped or bad or len(result.calls) != len(delays):
            raise RuntimeError(f"turn failed: {result.stopped} {bad}")
        return took

    async def direct(self, delays: Sequence[int]) -> float:
        tools = self.runner()
        calls = self.calls(delays)
        began = time.perf_counter()
        outcomes = await asyncio.gather(*(tools.run(c) for c in calls))
        took = (time.perf_counter() - began) * 1000
        bad = [o.content for o in outcomes if o.is_error]
        if bad:
            raise RuntimeError(f"calls failed: {bad}")
        return took


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


async def main(quick: bool, pg: str | None) -> None:
    tmp = tempfile.TemporaryDirectory()
    pg_url = make_url(pg) if pg else None
    if pg_url is not None:
        name = pg_url.database or ""
        if pg_url.get_backend_name() != "postgresql" or not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise SystemExit("--pg must name a scratch PostgreSQL database like aegis_bench_parallel")
        await _admin(pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await _admin(pg_url, f'CREATE DATABASE "{name}"')
        db = Database(pg_url.render_as_string(hide_password=False))
    else:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp.name) / 'aegis.db'}")
    try:
        await migrate.upgrade(db)
        await bench(db, 6 if quick else 20)
    finally:
        await db.dispose()
        if pg_url is not None:
            await _admin(pg_url, f'DROP DATABASE IF EXISTS "{pg_url.database}" WITH (FORCE)')
        tmp.cleanup()


async def bench(db: Database, rounds: int) -> None:
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

    domains = ("audit", "chain", "conversation")
    keyring = Keyring([DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in domains for p in ("enc", "idx")])
    audit = gateway_audit_sink(db, keyring)

    store = DbApprovalStore(db, FieldCipher(keyring))
    approvals = ApprovalService(
        store, hmac.new(keyring.index_key("conversation"), b"aegis/approvals/grants", hashlib.sha256).digest()
    )
    scanner = SecretScanner(["aegk_benchconsolekey.0123456789abcdefABCDEF"])
    print(
        f"parallel tool calls: 5 calls vs the slowest alone, audit on {db.url.get_backend_name()},"
        f" median of {rounds} rounds (load average {os.getloadavg()[0]:.2f})"
    )
    transports = {
        "stdio": ServerSpec(
            SERVER,
            command=[sys.executable, str(HERE), "--serve"],
            env={"AEGIS_BENCH_JWKS": json.dumps(doc), "PYTHONPATH": str(HERE.parent.parent)},
        ),
        "in-memory": ServerSpec(SERVER, instance=lambda: build_server(gate_for(doc))),
    }
    main_set = next(iter(DELAY_SETS))
    verdicts: list[float] = []
    for transport, spec in transports.items():
        host = McpHost([spec])
        await host.start(wait=60)
        try:
            registry = Registry.from_dict(REGISTRY)
            for server, tool in host.tools():  # the operator approves the definition it reviewed
                registry.approve_pin(server, ToolDef(tool.name, tool.description or "", tool.input_schema))
            status = refresh_pins(registry, host)
            assert status == {f"{SERVER}.wait": "approved"}, status
            # The bench tool's broker scope (the installed manifests know only the real servers' tools).
            executor = McpExecutor(host, CachedTokens(token), {f"{SERVER}.wait": SCOPE})
            gateway = ToolGateway(policy=Policy(), approvals=approvals, executor=executor, audit=audit)
            turns = Turns(gateway, registry, host, scanner, store)
            for label, delays in DELAY_SETS.items():
                print(f"  {transport}, {label} {list(delays)}, serial would be >= {sum(delays)} ms")
                drivers: tuple[tuple[str, Driver], ...] = (
                    ("loop (run_turn)", turns.loop),
                    ("direct gather", turns.direct),
                )
                for name, drive in drivers:
                    five, one, r = await ratio(drive, delays, rounds)
                    if label == main_set:
                        verdicts.append(r)
                    print(
                        f"    {name:16} five {five:7.1f} ms | slowest alone {one:7.1f} ms | ratio {r:.3f}x"
                        f" | {'meets' if r <= GOAL else 'MISSES'} the goal of <= {GOAL}x"
                    )
        finally:
            await host.close()
    print(f"  worst ratio on {main_set}: {max(verdicts):.3f}x (goal <= {GOAL}x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Five parallel tool calls against the slowest alone.")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--pg", metavar="URL", help="audit on PostgreSQL (a scratch database, dropped afterwards)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.serve:
        serve()
    else:
        from aegis.logs import Redactor, configure_logging

        configure_logging(Redactor(), level="WARNING")
        asyncio.run(main(parsed.quick, parsed.pg))
