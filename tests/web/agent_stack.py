"""A console with a real agent behind it, for the chat, approvals and browser tests.

Real: the broker (over loopback HTTP, its own clock), the console principal and API key (created the
way ``aegis.identities`` does), per-call tokens minted by the broker and verified by the MCP servers
against its JWKS, the Gmail and Plaid MCP servers (in-process, on the demo mailbox and Plaid
sandbox), the registry with pins approved for their live definitions, the gateway and policy, the
approval and conversation stores, and the audit chain. Only the model is scripted.

The assembly below mirrors ``aegis.agent_root.build_agent`` after its subprocess start-up;
``build_agent`` has no seam for in-process servers (reported to the lead).
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from mcp.server.mcpserver import MCPServer

from aegis import agent_root
from aegis.identities import console_identity
from agent.adversarial.suite import world_tools
from agent.call_tokens import CallTokens
from agent.gateway import ToolDef
from agent.gateway.registry import Registry
from agent.mcp_host import McpHost, ServerSpec
from agent.model import Message, ModelPort, ModelReply, ScriptedModel, ScriptedStep, TextSink, ToolCall, ToolSpec
from agent.services import AgentServices
from agent.toolrunner import refresh_pins
from broker.client import BrokerClient
from broker.grants import fetch_keyring
from broker.verify import Verifier
from integrations import Catalog
from mcp_servers._common import CallGate, audit_log
from mcp_servers.gmail.server import GmailDeps
from mcp_servers.gmail.server import build_server as build_gmail
from mcp_servers.gmail.service import GmailService
from mcp_servers.gmail.store import MailStore
from mcp_servers.memory.server import MemoryDeps
from mcp_servers.memory.server import build_server as build_memory
from mcp_servers.memory.service import MemoryService
from mcp_servers.memory.store import MemoryStore
from mcp_servers.plaid.secrets import MemorySecretStore
from mcp_servers.plaid.server import PlaidDeps
from mcp_servers.plaid.server import build_server as build_plaid
from mcp_servers.plaid.service import PlaidService
from mcp_servers.plaid.store import FinanceStore
from mcp_servers.schwab.args import SchwabDeps
from mcp_servers.schwab.server import build_server as build_schwab
from mcp_servers.schwab.service import SchwabService
from mcp_servers.schwab.store import BrokerageStore
from mcp_servers.transcripts.server import TranscriptsDeps
from mcp_servers.transcripts.server import build_server as build_transcripts
from mcp_servers.transcripts.store import TranscriptReader
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import DataKey, Keyring
from storage.db import Database
from tests.broker.conftest import FakeClock as BrokerClock
from tests.broker.conftest import start_broker
from tests.web.conftest import Console, FakeClock, enroll, serve
from tools._http import build_http_client
from tools.credentials import StaticCredentials
from tools.gmail.client import GmailClient
from tools.gmail.demo import DemoMailbox, demo_credentials, demo_transport
from tools.plaid import demo as plaid_demo
from tools.plaid.client import PlaidClient
from tools.schwab import demo as schwab_demo
from tools.schwab.bridge import HttpxBridge
from tools.schwab.client import SchwabClient
from web.app import create_app
from web.config import ConsoleConfig
from web.data import ConsoleData, ToolAccess

DANA = "dana.whitfield@northwind.example"
DANA_THREAD = "18f30a7d5e8b0e45"
REPLY_BODY = "Hi Dana,\n\nThanks\u200b for the draft. My comments will be in by Friday.\n\nAlex"
BALANCE_LINK = "https://dashboard.plaid.example/accounts?view=all"
TRADE = {
    "account": "7726",
    "symbol": "SCHD",
    "side": "BUY",
    "quantity": 3,
    "order_type": "LIMIT",
    "limit_price": "28.50",
}


def console_keyring() -> Keyring:
    return Keyring(
        [
            DataKey(f"{domain}.{purpose}.v1", os.urandom(32), "active")
            for domain in ("auth", "audit", "chain", "conversation")
            for purpose in ("enc", "idx")
        ]
    )


def _data_keyring(console: Keyring) -> Keyring:
    """The integrations' keys, and the audit chain key every writer shares."""
    return Keyring(
        [
            DataKey(f"{domain}.{purpose}.v1", os.urandom(32), "active")
            for domain in ("mail", "finance", "memory")
            for purpose in ("enc", "idx")
        ]
        + console.export({"chain"})
    )


# ---- the scripted model ------------------------------------------------------------------------


def _since_owner(messages: Sequence[Message]) -> tuple[str, list[dict[str, Any]]]:
    """The owner's latest text and the tool results that followed it."""
    for i in range(len(messages) - 1, -1, -1):
        m = messages[i]
        if m["role"] == "user" and isinstance(m["content"], str) and not m["content"].startswith("[console]"):
            results = [
                json.loads(b["content"])
                for later in messages[i + 1 :]
                if isinstance(later["content"], list)
                for b in later["content"]
                if isinstance(b, dict) and b.get("type") == "tool_result"
            ]
            return m["content"].lower(), results
    return "", []


def _call(name: str, args: dict[str, Any]) -> ScriptedStep:
    return ScriptedStep(tool_calls=[ToolCall(f"toolu_{uuid.uuid4().hex[:20]}", name, args)])


def assistant_script(messages: Sequence[Message], _tools: Sequence[ToolSpec]) -> ScriptedStep:
    """(a) balances: plaid.balances, then prose; (b) reply to Dana: gmail.search, then gmail.send
    to the address read from her (untrusted) email, which the gateway holds for approval."""
    text, results = _since_owner(messages)
    if "balance" in text:
        if not results:
            return _call("plaid__balances", {})
        accounts = results[0].get("result", {}).get("accounts", [])
        lines = [f"{a['name']} (…{a['mask']}): {a['current']} {a['currency']}" for a in accounts]
        return ScriptedStep(text="Your balances: " + "; ".join(lines) + f". Details: {BALANCE_LINK}")
    if "schd" in text:  # the owner's own order, in their words
        if not results:
            return _call("schwab__place_order", TRADE)
        return ScriptedStep(text="The order is waiting for your approval in Approvals.")
    if "dana" in text:
        if not results:
            return _call("gmail__search", {"query": "from:dana", "limit": 5})
        if len(results) == 1:
            found = results[0].get("result", {}).get("messages", [])
            last = found[0]
            sender = last["from"].split("<")[-1].rstrip(">")
            subject = last["subject"] if last["subject"].lower().startswith("re:") else f"Re: {last['subject']}"
            return _call(
                "gmail__send", {"to": [sender], "subject": subject, "body": REPLY_BODY, "thread_id": last["thread_id"]}
            )
        if results[-1].get("status") == "approval_required":
            return ScriptedStep(text="I wrote the reply to Dana. It is waiting for your approval in Approvals.")
        return ScriptedStep(text="The reply was not sent.")
    return ScriptedStep(text="I can check your balances or reply to mail.")


# ---- the stack ---------------------------------------------------------------------------------


@dataclass
class AgentConsole:
    console: Console
    services: AgentServices
    mailbox: DemoMailbox
    registry: Registry
    pins: dict[str, str]  # tool -> status after approving the in-process definitions
    broker_admin: BrokerClient | None = None  # the broker's admin API (keys, vault metadata)
    console_key: str = ""


def _gate(name: str, broker_url: str, issuer: str, http: httpx.AsyncClient, clock: BrokerClock) -> CallGate:
    verifier = Verifier(
        issuer=issuer, audience=f"mcp-{name}", jwks_url=f"{broker_url}/.well-known/jwks.json", http=http, clock=clock
    )
    return CallGate(server=name, resource=f"mcp:{name}", verify=verifier.verify)


def approve_live_pins(registry: Registry, host: McpHost) -> dict[str, str]:
    """The operator's pin approval, for the in-process definitions the registry does not pin yet."""
    status = refresh_pins(registry, host)
    for server, tool in host.tools():
        name = f"{server}.{tool.name}"
        if registry.spec(name) is not None and status.get(name) != "approved":
            ann = tool.annotations.model_dump(exclude_none=True) if tool.annotations else None
            registry.approve_pin(server, ToolDef(tool.name, tool.description or "", tool.input_schema, ann))
    return refresh_pins(registry, host)


async def _servers(
    stack: AsyncExitStack,
    db: Database,
    mailbox: DemoMailbox,
    gate: Callable[[str], CallGate],
    keyring: Keyring,
) -> tuple[MCPServer, MCPServer, PlaidService, MCPServer, MCPServer]:
    data_keys = _data_keyring(keyring)
    cipher = FieldCipher(data_keys)
    mail_http = await stack.enter_async_context(build_http_client(transport=demo_transport(mailbox)))
    gmail_service = GmailService(
        GmailClient(mail_http, StaticCredentials(demo_credentials())),
        MailStore(db, cipher),
        db,
        audit_log(data_keys, "mail"),
    )
    gmail = build_gmail(GmailDeps(service=gmail_service, gate=gate("gmail")))
    bank_http = await stack.enter_async_context(build_http_client(transport=plaid_demo.demo_transport()))
    credentials = StaticCredentials(plaid_demo.demo_credentials())
    plaid_service = PlaidService(
        PlaidClient(bank_http, credentials, "sandbox"),
        FinanceStore(db, cipher, audit_log(data_keys, "finance")),
        credentials,
        MemorySecretStore(credentials),
    )
    plaid = build_plaid(PlaidDeps(service=plaid_service, gate=gate("plaid"), sandbox=True))
    memory = build_memory(MemoryDeps(service=MemoryService(MemoryStore(db, cipher)), gate=gate("memory")))
    broker_http = await stack.enter_async_context(build_http_client(transport=schwab_demo.demo_transport()))
    schwab_creds = StaticCredentials(schwab_demo.demo_credentials())
    schwab_client = SchwabClient(schwab_creds, MemorySecretStore(schwab_creds), transport=HttpxBridge(broker_http))
    brokerage = SchwabService(schwab_client, BrokerageStore(db, cipher, audit_log(data_keys, "finance")))
    schwab = build_schwab(SchwabDeps(service=brokerage, gate=gate("schwab")))
    return gmail, plaid, plaid_service, memory, schwab


def assemble(
    db: Database, keyring: Keyring, host: McpHost, registry: Registry, tokens: CallTokens, console_key: str,
    model: ModelPort | None,
) -> agent_root.Assembly:  # fmt: skip
    """The production wiring (aegis.agent_root.assemble) over the test's in-process servers."""
    return agent_root.assemble(db, keyring, host, registry, tokens, console_key, model)


@asynccontextmanager
async def agent_console(
    db_url: str,
    tmp_path: Path,
    clock: FakeClock,
    config: ConsoleConfig,
    model: ModelPort | None,
    port: int = 0,
    *,
    console_tools: bool = False,
) -> AsyncIterator[AgentConsole]:
    broker_clock = BrokerClock()
    b_server, b_task, state, url = await start_broker(db_url, tmp_path, broker_clock)
    db = Database(db_url)
    try:
        async with AsyncExitStack() as stack:
            http = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=10))
            admin = BrokerClient(http, admin_token=state.config.admin_token)
            console = console_identity(Catalog.load())
            scopes, resources = sorted(console.scopes), sorted(console.resources)
            created = await admin.create_key(
                principal=console.name,
                description=console.description,
                max_scopes=scopes,
                max_resources=resources,
                scopes=scopes,
                resources=resources,
                expires_in_days=365,
            )
            console_key = str(created["api_key"])
            mailbox = DemoMailbox()

            def gate(name: str) -> CallGate:
                return _gate(name, url, state.config.issuer, http, broker_clock)

            # The audit chain's key is the broker's (it writes rows to the same chain): fetched with the
            # console's own key, like the console does at start; the other domains are the test's.
            chain = await fetch_keyring(BrokerClient(http), console_key, {"chain"})
            keyring = Keyring([*console_keyring().export({"auth", "audit", "conversation"}), *chain.export({"chain"})])
            gmail, plaid, plaid_service, memory, schwab = await _servers(stack, db, mailbox, gate, keyring)
            # The console writes voice transcripts under its conversation domain; this server reads them.
            reader = TranscriptReader(db, FieldCipher(keyring.restricted_to({"conversation", "chain"})))
            transcripts = build_transcripts(TranscriptsDeps(reader=reader, gate=gate("transcripts")))
            await plaid_service.sandbox_connect({"setup": "test"})
            host = McpHost(
                [
                    ServerSpec("gmail", instance=lambda: gmail),
                    ServerSpec("plaid", instance=lambda: plaid),
                    ServerSpec("memory", instance=lambda: memory),
                    ServerSpec("schwab", instance=lambda: schwab),
                    ServerSpec("transcripts", instance=lambda: transcripts),
                ]
            )
            stack.push_async_callback(host.close)
            await host.start(wait=30)
            registry = Registry.load(extra_tools=world_tools())
            pins = approve_live_pins(registry, host)
            tokens = CallTokens(BrokerClient(http), console_key, clock=broker_clock)
            parts = assemble(db, keyring, host, registry, tokens, console_key, model)
            services = parts.services
            secret, codes = await enroll(db, keyring, config, clock.now)
            data = None
            if console_tools:  # the console's own tool calls (memory page, integrations)
                tools = ToolAccess(
                    gateway=parts.gateway,
                    context=lambda: parts.policy_context("console", [], []),
                    registry=registry,
                    host=host,
                    tokens=tokens,
                    scopes=Catalog.load().tool_scopes,
                )
                data = ConsoleData(tools=tools)
            app = create_app(db, keyring=keyring, config=config, agent=services, data=data)
            server, task, console_url = await serve(app, port)
            try:
                async with httpx.AsyncClient(base_url=console_url, timeout=20, follow_redirects=False) as client:
                    c = Console(console_url, client, clock, db, keyring, app, secret, codes)
                    yield AgentConsole(c, services, mailbox, registry, pins, admin, console_key)
            finally:
                server.should_exit = True
                await task
    finally:
        await db.dispose()
        b_server.should_exit = True
        await b_task


def scripted() -> ScriptedModel:
    return ScriptedModel(assistant_script)


# ---- HTTP helpers (a browser's requests, without the browser) ----------------------------------

CSRF_COOKIE = "__Host-aegis_csrf"


def form_headers(cookies: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


async def post_form(c: Console, cookies: dict[str, str], path: str, **fields: str) -> httpx.Response:
    body = {"csrf_token": cookies[CSRF_COOKIE], **fields}
    return await c.http.post(path, data=body, headers=form_headers(cookies))


async def post_recording(c: Console, cookies: dict[str, str], name: str, wav: bytes) -> httpx.Response:
    """The voice page's upload form: one recording file."""
    body = {"csrf_token": cookies[CSRF_COOKIE]}
    return await c.http.post(
        "/voice/transcribe", data=body, files={"recording": (name, wav, "audio/wav")}, headers=form_headers(cookies)
    )


async def start_turn(c: Console, cookies: dict[str, str], text: str, cid: str | None = None) -> str:
    r = await post_form(c, cookies, f"/chat/{cid}" if cid else "/chat", text=text)
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert location.startswith("/chat/")
    return location.removeprefix("/chat/")


async def read_events(c: Console, cookies: dict[str, str], cid: str) -> list[tuple[str, dict[str, Any]]]:
    """The turn's server-sent events, up to and including ``end``."""
    out: list[tuple[str, dict[str, Any]]] = []
    kind = ""
    async with c.http.stream("GET", f"/chat/{cid}/events", headers=form_headers(cookies)) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        async for line in r.aiter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                out.append((kind, json.loads(line.removeprefix("data: "))))
                if kind == "end":
                    break
    return out


class GatedModel:
    """Wraps a model; while ``gate`` is set, each step waits for it (so a test sees a turn running)."""

    def __init__(self, inner: ModelPort) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.gate: asyncio.Event | None = None

    async def complete(
        self,
        *,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        max_tokens: int,
        on_text: TextSink | None = None,
    ) -> ModelReply:
        if self.gate is not None:
            await self.gate.wait()
        return await self.inner.complete(
            system=system, messages=messages, tools=tools, max_tokens=max_tokens, on_text=on_text
        )
