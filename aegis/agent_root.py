"""Builds the agent inside the console process: MCP servers, gateway, approvals, chat."""

from __future__ import annotations

import hashlib
import hmac
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select

from aegis.broker_root import read_admin_token
from aegis.identities import CHAT_MODEL, console_identity, ensure_key, read_key, server_identity
from aegis.model_root import MODEL_RESOURCE, ModelManager, load_choice, secret_path
from aegis.runtime import Context
from aegis.secrets import SecretError
from agent.approval_store import DbApprovalStore
from agent.call_tokens import CallTokens
from agent.chat import ChatService
from agent.content.engine import ContentEngine
from agent.content.store import DraftStore
from agent.conversations import ConversationStore, DatabaseLedger, StoredMessage
from agent.gateway import ContextLabel, Label, LabelledResult, ToolGateway
from agent.gateway.approvals import ApprovalService, PendingApproval
from agent.gateway.gateway import AuditSink
from agent.gateway.policy import Policy, PolicyContext
from agent.gateway.redact import SecretScanner
from agent.gateway.registry import Registry
from agent.job_wiring import GatewayCalls, HostIntegrations, MergedDeadlines, ViewSections, worth_call
from agent.jobs import (
    BriefingStore,
    CostGuard,
    JobEngine,
    JobScheduler,
    JobTokens,
    Notification,
    Notifier,
    RunStore,
    default_handlers,
    load_schedule,
    minting_parent,
)
from agent.jobs.deadlines import ReminderLedger
from agent.jobs.networth import NetWorthBook, NetWorthStore
from agent.jobs.rotation import AuditRotationSource
from agent.jobs.schedule import installed_jobs
from agent.jobs.tokens import grants_from
from agent.limits import Prices, TurnLimits
from agent.mail import MailConfig, MailSender
from agent.mail_analysis import MailAnalysisRunner
from agent.mcp_host import McpHost, ServerSpec
from agent.model import ModelPort
from agent.model_switch import SwitchableModel
from agent.notifications import DbNotifier
from agent.push import PushConfig, PushConfigError, PushSender
from agent.services import AgentServices, ApprovalDesk
from agent.toolrunner import GatewayToolRunner, McpExecutor, TokenSource, pin_checker, refresh_pins
from broker.client import BrokerClient
from integrations import Catalog
from storage.audit import AuditEvent, AuditLog, ChainKey
from storage.audit_writer import AuditWriter
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import Keyring
from storage.db import Database
from storage.models import ConsoleSessionRow
from tools.credentials import BrokerCredentials
from tools.egress import EgressGuard
from tools.microsoft import DEFAULT_AUTHORITY
from web.data import ConsoleData, ToolAccess
from web.oauth import GoogleClient, GoogleOAuth
from web.oauth_microsoft import MicrosoftClient, MicrosoftOAuth
from web.oauth_server import ServerOAuth, callback_address
from web.vault import BrokerVault

PROJECT_ROOT = str(Path(__file__).resolve().parents[1])


@dataclass
class AgentRuntime:
    services: AgentServices
    host: McpHost
    http: httpx.AsyncClient
    data: ConsoleData
    google_http: httpx.AsyncClient | None = None
    push_http: httpx.AsyncClient | None = None
    model: SwitchableModel | None = None

    async def close(self) -> None:
        if self.services.scheduler is not None:
            await self.services.scheduler.stop()
        await self.host.close()
        await self.http.aclose()
        for extra in (self.google_http, self.push_http):
            if extra is not None:
                await extra.aclose()
        if self.model is not None:
            await self.model.close()


def _server_log_level(ctx: Context) -> str:
    """Embedded, the servers share the owner's terminal: their routine lines (each vendor request,
    each sync) stay out of it unless the owner asked for DEBUG. In production every line is kept."""
    level = ctx.settings.log_level
    if ctx.settings.production or level == "DEBUG":
        return level
    return "WARNING" if level == "INFO" else level


async def build_agent(
    ctx: Context, db: Database, keyring: Keyring, *, server_env: Mapping[str, Mapping[str, str]] | None = None
) -> AgentRuntime:
    """``server_env``: extra environment per integration (e.g. where its sidecar listens)."""
    http = httpx.AsyncClient(base_url=ctx.settings.resolved_broker_url, timeout=30, verify=ctx.settings.broker_verify)
    broker = BrokerClient(http)
    catalog = ctx.catalog
    console_key = read_key(ctx, await ensure_key(ctx, broker, console_identity(catalog)))
    specs = []
    for manifest in catalog:
        key_file = await ensure_key(ctx, broker, server_identity(manifest))
        env = {
            "AEGIS_BROKER_URL": ctx.settings.resolved_broker_url,
            "AEGIS_BROKER_ISSUER": ctx.settings.resolved_broker_issuer,
            "AEGIS_MCP_KEY_FILE": str(key_file.resolve()),
            "AEGIS_DATABASE_URL": ctx.database_url,
            "AEGIS_DEMO": "1" if ctx.settings.demo_profile else "0",
            "AEGIS_LOG_LEVEL": _server_log_level(ctx),
            "PYTHONPATH": PROJECT_ROOT,
        }
        if ctx.settings.broker_ca_file is not None:
            env["AEGIS_BROKER_CA_FILE"] = str(ctx.settings.broker_ca_file.resolve())
        env.update((server_env or {}).get(manifest.name, {}))
        specs.append(ServerSpec(manifest.server, command=[sys.executable, "-m", manifest.module], env=env))
    registry = Registry.load(catalog=catalog, demo=ctx.settings.demo_profile)
    host = McpHost(specs, on_tools=pin_checker(registry))  # pins re-checked on every tools/list
    await host.start(wait=90)
    refresh_pins(registry, host)
    tokens = CallTokens(broker, console_key)
    push, push_http = build_push(ctx)
    model = SwitchableModel(choice=load_choice(ctx))
    a = assemble(db, keyring, host, registry, tokens, console_key, model, push, mail=build_mail(ctx), catalog=catalog)
    calls = GatewayCalls(
        host, a.gateway.policy, a.approvals, a.audit, lambda sid: a.policy_context(sid, [], []), tokens, catalog
    )
    worth = NetWorthBook(NetWorthStore(db, a.cipher), catalog.net_worth_sources())
    content = build_content(ctx, db, a, calls)
    scheduler, briefings = build_scheduler(
        ctx, db, a.cipher, calls, broker, console_key, a.services.chat.model, a.notifier, worth, content
    )
    services = a.services
    services.content = content
    services.calls, services.scheduler, services.briefings = calls, scheduler, briefings
    await scheduler.start()
    tools = ToolAccess(
        gateway=a.gateway,
        context=lambda: a.policy_context("console", [], []),
        registry=registry,
        host=host,
        tokens=tokens,
        scopes=catalog.tool_scopes,
    )
    google, google_http = build_google(ctx)
    vault = BrokerVault(broker, tokens=tokens, resources=(*(m.resource for m in catalog), MODEL_RESOURCE))
    model_key_file = await ensure_key(ctx, broker, CHAT_MODEL)
    model_keys = BrokerCredentials(broker, api_key_file=model_key_file, resource=MODEL_RESOURCE)
    services.models = ModelManager(ctx, model, vault=vault, keys=model_keys)
    await services.models.start()
    data = ConsoleData(
        microsoft=build_microsoft(ctx),
        server_oauth=build_server_oauth(ctx, catalog, tools),
        catalog=catalog,
        tools=tools,
        vault=vault,
        scheduler=scheduler,
        google=google,
        sandbox=ctx.settings.demo_profile,
        goals=ctx.settings.goals(),
        broker=broker,
        broker_admin=device_admin(ctx, broker),
        status_file=ctx.settings.data_dir / "integrations-status.json",
        net_worth=worth,
        timezone=ZoneInfo(ctx.settings.timezone),
    )
    return AgentRuntime(services, host, http, data, google_http, push_http, model)


def build_content(ctx: Context, db: Database, a: Assembly, calls: GatewayCalls) -> ContentEngine | None:
    """The content engine over the installed networks (None when none is installed). It follows the
    approval desk's cards for its drafts: the post's id and link are kept when one is approved."""
    channels = ctx.catalog.content_channels()
    if not channels:
        return None
    engine = ContentEngine(
        DraftStore(db, a.cipher),
        calls,
        channels,
        ctx.catalog.content_inputs(),
        approvals=a.services.approvals,
        timezone=ZoneInfo(ctx.settings.timezone),
        demo=ctx.settings.demo_profile,
    )
    a.services.approvals.followers.append(engine)
    return engine


def device_admin(ctx: Context, broker: BrokerClient) -> BrokerClient | None:
    """The broker's admin API for issuing and revoking device ingest tokens from the console; None
    when this install gives the console no admin token (the devices page then says so)."""
    try:
        return BrokerClient(broker.http, admin_token=read_admin_token(ctx))
    except (SecretError, OSError):
        return None


PolicyContextFor = Callable[[str, list[str], list[dict[str, Any] | None]], PolicyContext]


@dataclass
class Assembly:
    """The agent's parts around a running MCP host; what the console and the scheduler build on."""

    services: AgentServices
    gateway: ToolGateway
    approvals: ApprovalService
    audit: AuditSink
    cipher: FieldCipher
    policy_context: PolicyContextFor
    notifier: DbNotifier


def gateway_audit_sink(db: Database, keyring: Keyring) -> AuditSink:
    """The gateway's audit rows: hash-chained, each committed before its call's outcome is used;
    parallel calls share commits (group commit)."""
    writer = AuditWriter(db, AuditLog(lambda v: keyring.blind_index("audit", v), key=ChainKey.of(keyring)))

    async def audit(event: AuditEvent) -> None:
        await writer.write(event)

    return audit


def assemble(
    db: Database,
    keyring: Keyring,
    host: McpHost,
    registry: Registry,
    tokens: TokenSource,
    console_key: str,
    model: ModelPort | None,
    push: PushSender | None = None,
    *,
    mail: MailSender | None = None,
    catalog: Catalog | None = None,
    scopes: Mapping[str, str] | None = None,
) -> Assembly:
    """Gateway, approvals, conversations and chat over a started host (production and tests alike)."""
    catalog = Catalog.load() if catalog is None else catalog
    cipher = FieldCipher(keyring)
    audit = gateway_audit_sink(db, keyring)

    approval_key = hmac.new(keyring.index_key("conversation"), b"aegis/approvals/grants", hashlib.sha256).digest()
    store = DbApprovalStore(db, cipher)
    notifier = DbNotifier(db, cipher, push, mail)

    async def approval_waiting(p: PendingApproval) -> None:
        body = "Open it to see every argument, where each came from and what would leave; then approve or reject."
        await notifier.notify(Notification("approval", p.card.headline, body, ref=p.approval_id))

    approvals = ApprovalService(store, approval_key, on_pending=approval_waiting)
    gateway = ToolGateway(
        policy=Policy(),
        approvals=approvals,
        executor=McpExecutor(host, tokens, scopes or catalog.tool_scopes),
        audit=audit,
    )
    formats = (*registry.token_formats(), *(("vendor_token", rx) for _, rx in catalog.vendor_token_patterns()))
    scanner = SecretScanner([console_key], extra=formats)
    egress = EgressGuard(registry.allowlists)
    conversations = ConversationStore(db, cipher)

    def policy_context(cid: str, owner_texts: list[str], labels: list[dict[str, Any] | None]) -> PolicyContext:
        context = ContextLabel()
        for text in owner_texts:
            context.add_owner_text(text)
        for raw in labels:
            if raw:
                context.append(LabelledResult("", Label.from_dict(raw)))
        pc = PolicyContext(context=context, registry=registry, scanner=scanner, egress=egress, session_id=cid)
        pc.original_request = owner_texts[-1] if owner_texts else None
        return pc

    def owner_texts(msgs: Sequence[StoredMessage]) -> list[str]:
        return [
            m.content
            for m in msgs
            if m.role == "user" and isinstance(m.content, str) and not m.content.startswith("[console]")
        ]

    async def context_for(cid: str) -> PolicyContext:
        msgs = await conversations.messages(cid, include_compacted=True)
        return policy_context(cid, owner_texts(msgs), [m.label for m in msgs])

    def tools_for(cid: str, text: str, stored: Sequence[StoredMessage]) -> GatewayToolRunner:
        turn = policy_context(cid, [*owner_texts(stored), text], [m.label for m in stored])
        return GatewayToolRunner(gateway, turn, host, stage=store)

    chat = ChatService(conversations, tools_for, model, TurnLimits(), Prices(), DatabaseLedger(db))
    desk = ApprovalDesk(approvals, store, gateway, context_for, conversations, notifier)
    services = AgentServices(chat, conversations, desk, host, notifier=notifier)
    return Assembly(services, gateway, approvals, audit, cipher, policy_context, notifier)


def build_push(ctx: Context) -> tuple[PushSender | None, httpx.AsyncClient | None]:
    """Phone push through ntfy, when the push_url secret file exists (and push_token, if protected)."""
    path = secret_path(ctx, "push_url")
    if path is None:
        return None, None
    from aegis.secrets import check_private_file

    if not ctx.settings.console_url:
        raise PushConfigError("push_url is set: set AEGIS_CONSOLE_URL too (the console's https address)")
    check_private_file(path)
    url = path.read_text(encoding="utf-8").strip()
    ctx.redactor.register(url)
    token_path = secret_path(ctx, "push_token")
    token = None
    if token_path is not None:
        check_private_file(token_path)
        token = token_path.read_text(encoding="utf-8").strip()
        ctx.redactor.register(token)
    config = PushConfig(url, ctx.settings.console_url, token)
    http = httpx.AsyncClient(timeout=10, trust_env=False, follow_redirects=False)
    return PushSender(http, config), http


def build_mail(ctx: Context) -> MailSender | None:
    """Mail to the owner (a delivered grocery list) through the owner's SMTP server, when the
    mail_smtp secret file exists (see :mod:`agent.mail`)."""
    path = secret_path(ctx, "mail_smtp")
    if path is None:
        return None
    from aegis.secrets import check_private_file

    check_private_file(path)
    config = MailConfig.from_json(path.read_text(encoding="utf-8"), ctx.settings.console_url or "")
    if config.password:
        ctx.redactor.register(config.password)
    return MailSender(config)


def build_google(ctx: Context) -> tuple[GoogleOAuth | None, httpx.AsyncClient | None]:
    """Google OAuth consent (for integrations whose manifest names the google provider), when a client
    is configured (id and redirect URI in settings)."""
    s = ctx.settings
    path = secret_path(ctx, "google_client_secret")
    if not (s.google_client_id and s.google_redirect_uri and path is not None):
        return None, None
    from aegis.secrets import check_private_file

    check_private_file(path)
    secret = path.read_text(encoding="utf-8").strip()
    ctx.redactor.register(secret)
    http = httpx.AsyncClient(timeout=30, trust_env=False, follow_redirects=False)
    return GoogleOAuth(GoogleClient(s.google_client_id, secret, s.google_redirect_uri), http), http


def build_microsoft(ctx: Context) -> MicrosoftOAuth | None:
    """Microsoft consent (for integrations whose manifest names the microsoft provider), when an app
    registration is configured (client id and redirect URI in settings; a public client has no secret)."""
    s = ctx.settings
    if not (s.microsoft_client_id and s.microsoft_redirect_uri):
        return None
    authority = s.microsoft_authority or DEFAULT_AUTHORITY
    return MicrosoftOAuth(MicrosoftClient(s.microsoft_client_id, s.microsoft_redirect_uri, authority))


def build_server_oauth(ctx: Context, catalog: Catalog, tools: ToolAccess) -> ServerOAuth | None:
    """OAuth an integration's own server runs (its manifest's authorize_tool), when the owner set the
    console's address: the vendor sends the owner back to its /static/oauth-return.html."""
    url = ctx.settings.console_url
    return None if not url else ServerOAuth(catalog, tools, callback_address(url))


def build_scheduler(
    ctx: Context,
    db: Database,
    cipher: FieldCipher,
    calls: GatewayCalls,
    broker: BrokerClient,
    key: str,
    model: ModelPort | None,
    notifier: Notifier,
    worth: NetWorthBook | None = None,
    content: ContentEngine | None = None,
) -> tuple[JobScheduler, BriefingStore]:
    """The owner's schedule: sync jobs under job-scoped tokens (RFC 8693), briefings from read tools."""
    integrations = HostIntegrations(calls.host, ctx.catalog)
    briefings = BriefingStore(db, cipher)
    jobs = installed_jobs(ctx.catalog)
    sections = ViewSections(calls, integrations, ctx.settings.goals(), worth)
    handlers = default_handlers(
        runner=calls,
        tokens=JobTokens(broker, minting_parent(broker, key), grants=grants_from(ctx.catalog)),
        briefing_sources=sections,
        digest_sources=sections,
        store=briefings,
        notifier=notifier,
        model=model,
        jobs=jobs,
        rotation=AuditRotationSource(db),
        deadlines=MergedDeadlines(calls, integrations),
        reminders=notifier if isinstance(notifier, ReminderLedger) else None,
        deadline_lead_hours=ctx.settings.deadline_reminder_hours,
        after_sync=MailAnalysisRunner(calls, ctx.catalog, model),
        net_worth=worth,
        net_worth_call=worth_call(calls, "job:net_worth_snapshot"),
        content=content,
    )
    schedule = load_schedule(ctx.settings.timezone, ctx.settings.data_dir / "schedule.yaml", jobs)
    engine = JobEngine(
        schedule,
        RunStore(db),
        handlers,
        integrations=integrations,
        activity=ConsoleActivity(db),
        notifier=notifier,
        cost=CostGuard(DatabaseLedger(db)),
    )
    return JobScheduler(engine), briefings


@dataclass
class ConsoleActivity:
    """When the owner last used the console: the newest session activity."""

    db: Database

    async def last_seen(self) -> datetime | None:
        async with self.db.transaction() as s:
            seen: datetime | None = await s.scalar(select(func.max(ConsoleSessionRow.last_seen_at)))
        return seen
