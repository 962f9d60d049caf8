"""A console with real integrations behind it, for the Home, Integrations and Secrets tests.

* a real broker over loopback HTTP (its vault holds the secrets; the console writes with its own
  key's scoped tokens, as in production);
* the Gmail and Plaid MCP servers in process, on the demo vendor sandboxes; Gmail reads its OAuth
  token from the broker with its own key (BrokerCredentials), so a token the console's OAuth flow
  stores is the one Gmail then uses;
* the real tool gateway (registry pins approved for the live tools, policy, audit into the
  console's audit log);
* Google's token endpoint faked with an ``httpx.MockTransport`` that checks PKCE.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib
import os
import secrets as pysecrets
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

from agent.adversarial.suite import world_tools
from agent.call_tokens import CallTokens
from agent.gateway import ContextLabel, ToolDef, ToolGateway
from agent.gateway.approvals import ApprovalService, InMemoryApprovalStore
from agent.gateway.policy import Policy, PolicyContext
from agent.gateway.redact import SecretScanner
from agent.gateway.registry import Registry
from agent.jobs.networth import NetWorthBook, NetWorthStore
from agent.mcp_host import McpHost, ServerSpec
from agent.toolrunner import McpExecutor
from broker.client import BrokerClient
from integrations import Catalog, load_manifest
from mcp_servers._common import CallGate, Runtime, audit_log
from mcp_servers._standalone import demo_runtime
from mcp_servers.gmail.server import GmailDeps
from mcp_servers.gmail.server import build_server as build_gmail
from mcp_servers.gmail.service import GmailService
from mcp_servers.gmail.store import MailStore
from mcp_servers.plaid.secrets import MemorySecretStore
from mcp_servers.plaid.server import PlaidDeps
from mcp_servers.plaid.server import build_server as build_plaid
from mcp_servers.plaid.service import PlaidService
from mcp_servers.plaid.store import FinanceStore
from mcp_servers.schwab.args import SchwabDeps
from mcp_servers.schwab.demo_history import seed_history
from mcp_servers.schwab.server import build_server as build_schwab
from mcp_servers.schwab.service import SchwabService
from mcp_servers.schwab.store import BrokerageStore
from storage.audit import AuditEvent, AuditLog, ChainKey
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tests.broker.conftest import FakeClock as BrokerClock
from tests.broker.conftest import start_broker
from tests.web.conftest import Console, FakeClock, enroll, make_keyring, serve
from tools._http import build_http_client
from tools.credentials import BrokerCredentials, StaticCredentials
from tools.egress import EgressGuard
from tools.gmail.client import GmailClient
from tools.gmail.demo import DEMO_ACCESS_TOKEN, DemoMailbox, demo_transport
from tools.plaid import demo as plaid_demo
from tools.plaid.client import PlaidClient
from tools.schwab import demo as schwab_demo
from tools.schwab.bridge import HttpxBridge
from tools.schwab.client import SchwabClient
from web.app import create_app
from web.config import ConsoleConfig
from web.data import ConsoleData, ToolAccess
from web.oauth import TOKEN_URL, GoogleClient, GoogleOAuth
from web.vault import BrokerVault

# Demo data (the Plaid ledger) ends on 2026-11-13: the console's clock stands the next day.
DEMO_START = plaid_demo.DEMO_NOW.timestamp()
GOOGLE = GoogleClient(
    "aegis-test.apps.googleusercontent.com", "test-client-secret", "http://127.0.0.1/static/oauth-return.html"
)


class NoTokens:
    """MCP call tokens are not checked by the in-process servers here (their gate is off)."""

    async def token(self, audience: str, scope: str, resource: str) -> str:
        return f"unchecked-{audience}-{scope}"


@dataclass
class FakeGoogle:
    """Google's token endpoint: the code it issued, checked with PKCE against the challenge sent."""

    access_token: str = DEMO_ACCESS_TOKEN
    codes: dict[str, str] = field(default_factory=dict)  # code -> code_challenge
    requests: list[dict[str, list[str]]] = field(default_factory=list)
    fail_with: tuple[int, dict[str, Any]] | None = None

    def issue(self, challenge: str) -> str:
        code = "4/" + pysecrets.token_urlsafe(16)
        self.codes[code] = challenge
        return code

    def handler(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) != TOKEN_URL or request.method != "POST":
            return httpx.Response(404)
        form = parse_qs(request.content.decode())
        self.requests.append(form)
        if self.fail_with is not None:
            return httpx.Response(self.fail_with[0], json=self.fail_with[1])
        one = {k: v[0] for k, v in form.items()}
        challenge = self.codes.pop(one.get("code", ""), None)
        verifier = one.get("code_verifier", "")
        computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if (
            challenge is None
            or computed != challenge
            or one.get("grant_type") != "authorization_code"
            or one.get("client_id") != GOOGLE.client_id
            or one.get("client_secret") != GOOGLE.client_secret
            or one.get("redirect_uri") != GOOGLE.redirect_uri
        ):
            return httpx.Response(400, json={"error": "invalid_grant", "error_description": "Bad Request"})
        return httpx.Response(
            200,
            json={
                "access_token": self.access_token,
                "expires_in": 3599,
                "refresh_token": "1//refresh-" + pysecrets.token_urlsafe(8),
                "scope": "https://www.googleapis.com/auth/gmail.modify",
                "token_type": "Bearer",
            },
        )


@dataclass
class Live:
    console: Console
    data: ConsoleData
    broker: BrokerClient  # with the broker admin token: for the tests' own checks
    broker_url: str
    google: FakeGoogle
    mailbox: DemoMailbox
    plaid_credentials: StaticCredentials
    bank: plaid_demo.DemoPlaid  # Plaid's side of the sandbox
    runtimes: dict[str, Runtime] = field(default_factory=dict)  # the ``demos`` servers' runtimes


def _data_keyring(console: Keyring) -> Keyring:
    """The integrations' keys, and the audit chain key every writer shares."""
    return Keyring(
        [
            DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE)
            for d in ("mail", "finance", "coursework", "health")
            for p in ("enc", "idx")
        ]
        + console.export({"chain"})
    )


async def _key_file(admin: BrokerClient, tmp: Path, principal: str, scopes: list[str], resources: list[str]) -> Path:
    out = await admin.create_key(
        principal=principal, max_scopes=scopes, max_resources=resources, scopes=scopes, resources=resources
    )
    path = tmp / f"{principal}.key"
    path.write_text(out["api_key"] + "\n", encoding="ascii")
    path.chmod(0o600)
    return path


@asynccontextmanager
async def start_live(
    db_url: str,
    tmp: Path,
    clock: FakeClock,
    config: ConsoleConfig,
    *,
    sandbox: bool = True,
    extra: Sequence[ServerSpec] = (),
    demos: Sequence[str] = (),
) -> AsyncIterator[Live]:
    """``extra``: more servers for the host (e.g. an integration's own in-process server);
    ``demos``: more installed integrations, each served from its own demo (``__main__.demo``)."""
    broker_server, broker_task, _state, broker_url = await start_broker(db_url, tmp, BrokerClock())
    db = Database(db_url)
    keyring = make_keyring()
    secret, codes = await enroll(db, keyring, config, clock.now)
    data_ring = _data_keyring(keyring)
    cipher = FieldCipher(data_ring)
    google = FakeGoogle()
    async with (
        httpx.AsyncClient(base_url=broker_url, timeout=10) as broker_http,
        build_http_client(transport=httpx.MockTransport(google.handler)) as google_http,
        AsyncExitStack() as demo_stack,
    ):
        more, runtimes = [], {}
        for name in demos:
            main, manifest = importlib.import_module(f"mcp_servers.{name}.__main__"), load_manifest(name)
            runtime = await demo_stack.enter_async_context(
                demo_runtime(name, manifest.identity.data_domain, main.demo(), db=db, keyring=data_ring)
            )
            runtimes[name] = runtime
            more.append(ServerSpec(name, instance=functools.partial(main.build, runtime)))
        admin = BrokerClient(broker_http, admin_token=_state.config.admin_token)
        console_key = await _key_file(
            admin, tmp, "console", ["secrets.list", "secrets.write"], sorted(m.resource for m in Catalog.load())
        )
        gmail_key = await _key_file(admin, tmp, "mcp-gmail", ["secrets.read"], ["mcp:gmail"])

        mailbox = DemoMailbox()
        gmail_http = build_http_client(transport=demo_transport(mailbox))
        gmail_creds = BrokerCredentials(BrokerClient(broker_http), api_key_file=gmail_key, resource="mcp:gmail")
        gmail_client = GmailClient(gmail_http, gmail_creds, clock=clock)
        gmail = GmailService(gmail_client, MailStore(db, cipher), db, audit_log(data_ring, "mail"))
        sandbox_api = plaid_demo.DemoPlaid()
        plaid_http = build_http_client(transport=httpx.MockTransport(sandbox_api.handler))
        plaid_creds = StaticCredentials(plaid_demo.demo_credentials())
        plaid = PlaidService(
            PlaidClient(plaid_http, plaid_creds, "sandbox"),
            FinanceStore(db, cipher, audit_log(data_ring, "finance")),
            plaid_creds,
            MemorySecretStore(plaid_creds),
        )

        def moment() -> datetime:
            return datetime.fromtimestamp(clock(), UTC)

        brokerage_api = schwab_demo.DemoSchwab(now=moment())
        schwab_http = build_http_client(transport=schwab_demo.demo_transport(brokerage_api))
        schwab_creds = StaticCredentials(schwab_demo.demo_credentials())
        schwab_client = SchwabClient(schwab_creds, MemorySecretStore(schwab_creds), transport=HttpxBridge(schwab_http))
        brokerage_store = BrokerageStore(db, cipher, audit_log(data_ring, "finance"))
        brokerage = SchwabService(schwab_client, brokerage_store, clock=moment)
        await seed_history(brokerage_store, moment().date())

        def gate(name: str) -> CallGate:
            return CallGate(server=name, resource=f"mcp:{name}", verify=None)

        host = McpHost(
            [
                ServerSpec("gmail", instance=lambda: build_gmail(GmailDeps(service=gmail, gate=gate("gmail")))),
                ServerSpec(
                    "plaid", instance=lambda: build_plaid(PlaidDeps(service=plaid, gate=gate("plaid"), sandbox=True))
                ),
                ServerSpec("schwab", instance=lambda: build_schwab(SchwabDeps(service=brokerage, gate=gate("schwab")))),
                *extra,
                *more,
            ],
            call_timeout=20,
        )
        await host.start(wait=20)
        registry = Registry.load(extra_tools=world_tools())
        for server_name, tool in host.tools():
            if registry.spec(f"{server_name}.{tool.name}") is not None:
                registry.approve_pin(server_name, ToolDef(tool.name, tool.description or "", tool.input_schema))
        audit = AuditLog(lambda v: keyring.blind_index("audit", v), key=ChainKey.of(keyring))

        async def sink(event: AuditEvent) -> None:
            async with db.transaction() as s:
                await audit.append(s, event)

        gateway = ToolGateway(
            policy=Policy(),
            approvals=ApprovalService(InMemoryApprovalStore(), os.urandom(32)),
            executor=McpExecutor(host, NoTokens()),
            audit=sink,
        )

        def system_context() -> PolicyContext:
            return PolicyContext(
                context=ContextLabel(),
                registry=registry,
                scanner=SecretScanner(),
                egress=EgressGuard(registry.allowlists),
                session_id="console",
            )

        catalog = Catalog.load()
        tools = ToolAccess(
            gateway=gateway,
            context=system_context,
            registry=registry,
            host=host,
            tokens=NoTokens(),
            scopes=catalog.tool_scopes,
        )
        vault = BrokerVault(
            BrokerClient(broker_http),
            tokens=CallTokens(BrokerClient(broker_http), console_key.read_text().strip()),
            resources=tuple(m.resource for m in catalog),
        )
        # The net worth snapshots are the console's own (its conversation domain).
        own = FieldCipher(Keyring([DataKey(f"conversation.{p}.v1", os.urandom(32), ACTIVE) for p in ("enc", "idx")]))
        data = ConsoleData(
            tools=tools,
            vault=vault,
            google=GoogleOAuth(GOOGLE, google_http, clock=clock),
            sandbox=sandbox,
            clock=clock,
            net_worth=NetWorthBook(NetWorthStore(db, own), catalog.net_worth_sources()),
        )
        app = create_app(db, keyring=keyring, config=config, data=data)
        server, task, url = await serve(app)
        try:
            async with httpx.AsyncClient(base_url=url, timeout=20, follow_redirects=False) as http:
                console = Console(url, http, clock, db, keyring, app, secret, codes)
                yield Live(console, data, admin, broker_url, google, mailbox, plaid_creds, sandbox_api, runtimes)
        finally:
            server.should_exit = True
            await task
            await host.close()
            await gmail_http.aclose()
            await plaid_http.aclose()
            broker_server.should_exit = True
            await broker_task


def demo_clock() -> FakeClock:
    return FakeClock(DEMO_START)
