"""What the console's own pages read and do through the agent: tool calls, integration status.

The console is not the model. It reads through the same tool gateway the model uses (policy,
audit rows, redaction, labels), with a *system* :class:`PolicyContext` of its own: a fresh context
label per call and session id ``console``, so the audit log shows ``agent:console`` for these calls.
Only tools the registry classifies as READ go this way (:meth:`ToolAccess.read`).

Console-only tools (class ADMIN in the registry: connecting a bank; and the sandbox connector
that exists only in the demo profile) never go through the gateway, which refuses them to anyone
(rule R2). :meth:`ToolAccess.console_only` calls them directly on their MCP server with a per-call
broker token, exactly as the gateway's executor would, and the route that calls it writes the
audit row.

The composition root builds one :class:`ConsoleData` and passes it to ``create_app(data=...)``.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, Protocol

from fastapi import Request

from agent.gateway.gateway import GatewayStatus, ToolGateway
from agent.gateway.policy import PolicyContext
from agent.gateway.policy import ToolCall as GatewayCall
from agent.gateway.registry import Registry, ToolClass
from agent.jobs.history import RunPage, RunView
from agent.jobs.networth import NetWorthBook
from agent.mcp_host import McpHost, ServerUnavailable
from broker.client import BrokerClient
from integrations import Catalog, Manifest
from web.oauth import GoogleOAuth, OAuthProvider
from web.oauth_microsoft import MicrosoftOAuth
from web.oauth_server import ServerOAuth
from web.vault import SecretVault, TokenSource, VaultError

TOKEN_META = "aegis/token"  # noqa: S105 - the _meta key, not a secret
REAUTH_MARKERS = ("must reconnect", "auth_expired", "invalid_grant")
PROBE_TTL = 60.0


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    content: Any = None
    error: str | None = None

    @property
    def needs_reauth(self) -> bool:
        return needs_reauth(None if self.ok else self.error)


def needs_reauth(error: str | None) -> bool:
    """An AuthExpired-style failure: the owner must reconnect. A credential that was never stored
    (the broker's ``unknown_secret``) means "not connected" instead."""
    text = (error or "").lower()
    return "unknown_secret" not in text and any(m in text for m in REAUTH_MARKERS)


class ToolAccess:
    """The console's tool calls: READ tools through the gateway, console-only tools direct."""

    def __init__(
        self,
        *,
        gateway: ToolGateway,
        context: Callable[[], PolicyContext],
        registry: Registry,
        host: McpHost,
        tokens: TokenSource,
        scopes: Mapping[str, str],
    ) -> None:
        self.gateway = gateway
        self._context = context
        self.registry = registry
        self.host = host
        self._tokens = tokens
        self._scopes = scopes

    async def read(self, tool: str, args: Mapping[str, Any] | None = None) -> ToolResult:
        spec = self.registry.spec(tool)
        if spec is None or spec.cls is not ToolClass.READ:
            raise ValueError(f"{tool} is not a READ tool; the console reads only through this path")
        ctx = self._context()
        result = await self.gateway.call(GatewayCall(f"console-{uuid.uuid4().hex[:12]}", tool, dict(args or {})), ctx)
        if result.status is GatewayStatus.OK:
            return ToolResult(True, result.content)
        return ToolResult(False, error=str(result.content or result.status.value)[:500])

    async def console_only(self, tool: str, args: Mapping[str, Any] | None = None) -> ToolResult:
        spec = self.registry.spec(tool)
        if spec is None or spec.cls is not ToolClass.ADMIN:
            raise ValueError(f"{tool} is not a console-only tool")
        server, _, name = tool.partition(".")
        scope = self._scopes.get(tool)
        if scope is None:
            return ToolResult(False, error=f"{tool} has no call scope configured")
        if not any(s == server and t.name == name for s, t in self.host.tools()):
            return ToolResult(False, error=f"{tool} is not offered by the running {server} server")
        try:
            token = await self._tokens.token(f"mcp-{server}", scope, f"mcp:{server}")
            out = await self.host.call(server, name, dict(args or {}), meta={TOKEN_META: token})
        except ServerUnavailable as exc:
            return ToolResult(False, error=str(exc)[:300])
        text = "\n".join(getattr(c, "text", "") for c in out.content)
        if out.is_error:
            return ToolResult(False, error=(text or f"{tool} failed")[:500])
        return ToolResult(True, out.structured_content if out.structured_content is not None else text)


def _probe_connected(integration: Manifest, result: ToolResult) -> bool:
    return result.ok and integration.connect.is_connected(result.content)


class SyncSchedule(Protocol):
    """What the console reads from the job scheduler (``agent.jobs.JobScheduler``)."""

    async def runs(self, *, job_id: str | None = None, limit: int = 50, cursor: str | None = None) -> RunPage: ...

    async def next_run_times(self) -> dict[str, datetime | None]: ...

    async def run_and_wait(self, job_id: str) -> RunView | None: ...


@dataclass(frozen=True)
class SyncRecord:
    at: datetime
    ok: bool
    detail: str
    source: str  # "manual" or "scheduled"


@dataclass
class Status:
    integration: Manifest
    available: bool  # the console has a tool path at all
    server_up: bool
    server_error: str | None
    connected: bool
    needs_reauth: bool
    problem: str | None
    last_sync: SyncRecord | None
    next_sync: datetime | None
    attention: dict[str, str] | None = None  # why the owner must step in (the manifest's status tool)
    mode: str | None = None  # how it reads the vendor, in plain words (the manifest's connect.modes)


@dataclass
class ConsoleData:
    catalog: Catalog = field(default_factory=Catalog.load)
    tools: ToolAccess | None = None
    vault: SecretVault | None = None
    scheduler: SyncSchedule | None = None
    google: GoogleOAuth | None = None
    microsoft: MicrosoftOAuth | None = None
    server_oauth: ServerOAuth | None = None  # OAuth an integration's own server runs (its authorize_tool)
    sandbox: bool = False  # the demo profile: offer "Connect sandbox bank"
    goals: Mapping[str, float] = field(default_factory=dict)  # the owner's goals ($goal:<name> view args)
    broker: BrokerClient | None = None  # checks a device's ingest token (web.push)
    broker_admin: BrokerClient | None = None  # issues and revokes device ingest tokens (web.devices)
    clock: Callable[[], float] = time.time
    manual: dict[str, SyncRecord] = field(default_factory=dict)
    health: dict[str, tuple[datetime, bool]] = field(default_factory=dict)
    problems: dict[str, str | None] = field(default_factory=dict)  # the last connect attempt's failure
    status_file: Path | None = None  # a snapshot for `aegis integrations` (no content, no secrets)
    net_worth: NetWorthBook | None = None  # the daily net worth snapshots (integrations.money)
    timezone: tzinfo = UTC  # the owner's clock: whose "today" the net worth snapshot is (as the jobs')
    _probes: dict[str, tuple[float, ToolResult]] = field(default_factory=dict)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def forget(self, name: str) -> None:
        """Drop the cached connection probe (after connect, disconnect or sync)."""
        self._probes.pop(name, None)

    def oauth_providers(self) -> dict[str, OAuthProvider]:
        """The consent flows this console is configured for, by manifest provider name."""
        found: dict[str, OAuthProvider | None] = {
            "google": self.google,
            "microsoft": self.microsoft,
            "server": self.server_oauth,
        }
        return {k: v for k, v in found.items() if v is not None}

    def oauth(self, provider: str | None) -> OAuthProvider | None:
        return self.oauth_providers().get(provider or "")

    def oauth_flow(self, integration: Manifest) -> OAuthProvider | None:
        """The consent flow that connects ``integration``: its own server's, or its OAuth provider's."""
        if integration.connect.authorize_tool is not None:
            return self.server_oauth
        return self.oauth(integration.connect.provider) if integration.connect.kind == "oauth" else None

    def oauth_for_state(self, state: str) -> OAuthProvider | None:
        """The provider that started the flow with ``state`` (when unknown, any: it refuses the state)."""
        providers = self.oauth_providers()
        owner = next((p for p in providers.values() if state and p.owns(state)), None)
        return owner or next(iter(providers.values()), None)

    def agree(self, name: str, connected: bool) -> None:
        """A page that knows the connection state (e.g. pairing) drops a cached probe that says otherwise."""
        held = self._probes.get(name)
        if held is not None and held[1].ok != connected:
            self.forget(name)

    def integration(self, name: str) -> Manifest | None:
        return self.catalog.get(name)

    async def probe(self, integration: Manifest) -> ToolResult:
        held = self._probes.get(integration.name)
        if held is not None and held[0] > self.clock():
            return held[1]
        if self.tools is None:
            return ToolResult(False, error="the agent is not running in this console")
        result = await self.tools.read(integration.connect.probe)
        self._probes[integration.name] = (self.clock() + PROBE_TTL, result)
        return result

    async def has_credential(self, integration: Manifest) -> bool | None:
        """Whether the vault holds the credential the console stores for it (None: cannot tell)."""
        if integration.connect.credential is None or self.vault is None:
            return None
        try:
            return any(m.name == integration.connect.credential for m in await self.vault.list())
        except VaultError:
            return None

    async def connected(self, integration: Manifest) -> bool:
        return _probe_connected(integration, await self.probe(integration))

    async def sync_now(self, integration: Manifest) -> ToolResult:
        """Run the integration's sync job now (recorded in the run history, so "last sync" survives a
        restart). An integration that is not connected is not synced: the result says so."""
        assert self.tools is not None
        self.forget(integration.name)
        probe = await self.probe(integration)
        first_login = probe.ok and integration.connect.kind == "login"  # its first sync is what connects it
        if not (_probe_connected(integration, probe) or probe.needs_reauth or first_login):
            return ToolResult(False, error="not connected: connect it first")
        job = next(iter(integration.jobs), None)
        if job is None:
            return ToolResult(False, error="this integration has nothing to sync")
        if self.scheduler is not None and job.job in await self.scheduler.next_run_times():
            run = await self.scheduler.run_and_wait(job.job)
            ok = run is not None and run.outcome == "ok"
            detail = "failed" if run is None else (run.error or _summary(run.summary))
            result = ToolResult(ok, run.summary if ok and run else None, None if ok else detail)
        else:
            result = await self.tools.read(job.tool)
            detail = _summary(result.content) if result.ok else (result.error or "failed")
            self.manual[integration.name] = SyncRecord(self.now(), result.ok, detail, "manual")
        self.forget(integration.name)
        return result

    async def status(self, integration: Manifest) -> Status:
        host_status = self.tools.host.status().get(integration.server, {}) if self.tools else {}
        up = bool(host_status.get("up"))
        probe = await self.probe(integration) if up else None
        last, nxt, job_error = await self._schedule(integration)
        last_manual = self.manual.get(integration.name)
        if last_manual is not None and (last is None or last_manual.at >= last.at):
            last = last_manual
        problem = None
        if probe is not None and not probe.ok:
            problem = probe.error
        elif last is not None and not last.ok:
            problem = last.detail
        problem = problem or self.problems.get(integration.name) or job_error
        reauth = bool(probe and probe.needs_reauth) or needs_reauth(problem)
        if reauth and await self.has_credential(integration) is False:
            reauth, problem = False, "no credential is stored: connect it below"
        attention, mode = await self._attention(integration) if up else (None, None)
        if attention is not None:
            problem = f"needs attention ({attention['reason']}): {attention['detail']}"
        status = Status(
            integration=integration,
            available=self.tools is not None,
            server_up=up,
            server_error=host_status.get("error"),
            connected=probe is not None and _probe_connected(integration, probe),
            needs_reauth=reauth,
            problem=problem,
            last_sync=last,
            next_sync=nxt,
            attention=attention,
            mode=mode,
        )
        self._remember(status)
        return status

    async def _attention(self, integration: Manifest) -> tuple[dict[str, str] | None, str | None]:
        """The open "needs attention" its status tool reports, and its mode in plain words."""
        tool = integration.connect.status_tool
        if tool is None or self.tools is None:
            return None, None
        result = await self.tools.read(tool)
        content = result.content if result.ok and isinstance(result.content, dict) else {}
        raw_mode = content.get("mode")
        mode = integration.connect.modes.get(raw_mode) if isinstance(raw_mode, str) else None
        entries = content.get("attention")
        first = entries[0] if isinstance(entries, list) and entries and isinstance(entries[0], dict) else None
        if first is None:
            return None, mode
        keys = ("reason", "detail", "since", "snapshot_id")
        return {k: str(first.get(k) or "")[:300] for k in keys}, mode

    def _remember(self, status: Status) -> None:
        """Keep the snapshot ``aegis integrations`` shows: states only, never content or errors."""
        if self.status_file is None:
            return
        health = self.health.get(status.integration.name)
        entry = {
            "connected": status.connected,
            "needs_reauth": status.needs_reauth,
            "server_up": status.server_up,
            "health": None if health is None else f"{'passed' if health[1] else 'failed'} {health[0]:%Y-%m-%d %H:%M}",
        }
        try:
            old = json.loads(self.status_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
        known = old.get("integrations", {}) if isinstance(old, dict) else {}
        doc = {"at": self.clock(), "integrations": {**known, status.integration.name: entry}}
        tmp = self.status_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
        os.replace(tmp, self.status_file)

    async def _schedule(self, integration: Manifest) -> tuple[SyncRecord | None, datetime | None, str | None]:
        job = next(iter(integration.jobs), None)
        if self.scheduler is None or job is None:
            return None, None, None
        try:
            page = await self.scheduler.runs(job_id=job.job, limit=5)
            nxt = (await self.scheduler.next_run_times()).get(job.job)
        except Exception:  # noqa: BLE001 - a broken history must not break the page
            return None, None, "the run history is unavailable"
        done = [r for r in page.items if r.finished_at is not None and r.outcome in ("ok", "failed", "skipped")]
        if not done:
            return None, nxt, None
        r = done[0]
        detail = r.error or _summary(r.summary)
        assert r.finished_at is not None
        source = "manual" if r.trigger == "manual" else "scheduled"
        return SyncRecord(r.finished_at, r.outcome == "ok", f"{r.outcome}: {detail}"[:300], source), nxt, None


def _summary(content: Any) -> str:
    if isinstance(content, dict):
        parts = [f"{k} {v}" for k, v in content.items() if isinstance(v, (int, str)) and k != "history_id"]
        return ", ".join(parts)[:200] or "done"
    return "done"


def console_data(request: Request) -> ConsoleData:
    found = getattr(request.app.state, "console_data", None)
    return found if isinstance(found, ConsoleData) else ConsoleData()
