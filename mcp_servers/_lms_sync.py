"""One run of a coursework source into its :class:`~mcp_servers._coursework.LmsStore`.

A run either stores everything it read and clears "needs attention", in one transaction with its
audit row, or it stops: at a page only the owner can get past (:class:`NeedsAttention`) or at a
refused credential (:class:`AuthExpired`). Then the reason, and the id of the encrypted snapshot of
the page, are recorded, the stored data is left as it was, and the tool answers with the reason.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from typing_extensions import TypedDict

from mcp_servers._common import SEND, SYNC, audit_details, vendor_errors
from mcp_servers._coursework import Reads, Snapshot, register_reads, register_snapshot
from mcp_servers._secrets import SecretStore, SecretStoreUnavailable
from storage.audit import AuditEvent, AuditLog
from tools.browser.pages import Login, NeedsAttention
from tools.browser.stores import VaultCookieJar
from tools.credentials import CredentialProvider
from tools.errors import AuthExpired, IntegrationError

log = structlog.get_logger("aegis.mcp_servers.coursework")


class SyncResult(TypedDict):
    courses: int
    work: int
    announcements: int
    mode: str


class SnapshotStore(Protocol):
    async def keep_snapshot(self, source: str, reason: str, screenshot: bytes, html: str) -> str: ...


class SnapshotKeeper:
    """A browser session's :class:`~tools.browser.session.SnapshotSink` that remembers the last id.
    A page that never loaded ("unreachable") has nothing worth keeping."""

    def __init__(self, store: SnapshotStore) -> None:
        self._store = store
        self.last: str | None = None

    async def keep(self, source: str, reason: str, screenshot: bytes, html: str) -> str:
        if reason == "unreachable":
            return ""
        self.last = await self._store.keep_snapshot(source, reason, screenshot, html)
        return self.last


def vault_cookies(credentials: CredentialProvider, store: SecretStore, integration: str) -> VaultCookieJar:
    """A browser source's login cookies as a secret in the broker's vault (``<integration>-cookies``)."""
    return VaultCookieJar(credentials, store.put, f"{integration}-cookies", store.delete)


async def forget_session(cookies: VaultCookieJar, credentials: CredentialProvider) -> list[str]:
    """Disconnect: purge the login cookies from the vault and drop every credential held in memory, so
    no later run can use (or save back) the old session. Returns the purged secret's name, if any."""
    purged = await cookies.forget()
    credentials.invalidate()
    return [cookies.name] if purged else []


async def stored_login(credentials: CredentialProvider, name: str, integration: str) -> Login | None:
    """The owner's login from the vault (``{"username", "password"}``), or None when none is stored."""
    try:
        raw = await credentials.get(name)
    except AuthExpired:
        return None
    try:
        doc = json.loads(raw)
        return Login(str(doc["username"]), str(doc["password"]))
    except (ValueError, KeyError, TypeError):
        raise AuthExpired(
            f"the stored {integration} login is not a username and password", integration=integration
        ) from None


Fetch = Callable[[SnapshotKeeper], Awaitable[Snapshot]]


async def run_sync(r: Reads, mode: str, fetch: Fetch, *, audit: AuditLog, details: dict[str, Any]) -> SyncResult:
    actor = f"mcp:{r.name}"
    keeper = SnapshotKeeper(r.store)
    try:
        snap = await fetch(keeper)
    except NeedsAttention as exc:
        await _stop(r, mode, exc.reason, exc.message, keeper.last, audit, details)
        raise ToolError(
            f"{r.name}: needs attention ({exc.reason}): {exc.message}. The owner must step in "
            "(log in again, approve the sign-in or reconnect) from the integrations page."
        ) from None
    except AuthExpired:
        await _stop(r, mode, "refused", "the site refused the saved credentials", None, audit, details)
        with vendor_errors(r.name):
            raise
    except IntegrationError:
        with vendor_errors(r.name):
            raise
    counts = {"courses": len(snap.courses), "work": len(snap.work), "announcements": len(snap.notices)}
    event = AuditEvent(actor, "coursework.sync", "ok", resource=actor, details={**details, **counts, "mode": mode})
    await r.store.apply(snap, today=r.clock().date(), mode=mode, audit=audit, event=event)
    log.info("coursework.sync", integration=r.name, mode=mode, **counts)
    return {
        "courses": counts["courses"],
        "work": counts["work"],
        "announcements": counts["announcements"],
        "mode": mode,
    }


async def _stop(
    r: Reads, mode: str, reason: str, detail: str, snapshot_id: str | None, audit: AuditLog, details: dict[str, Any]
) -> None:
    actor = f"mcp:{r.name}"
    event = AuditEvent(
        actor,
        "coursework.needs_attention",
        "error",
        resource=actor,
        details={**details, "reason": reason, "mode": mode},
    )
    await r.store.needs_attention(reason, detail, snapshot_id, mode=mode, audit=audit, event=event)
    log.warning("coursework.needs_attention", integration=r.name, reason=reason, mode=mode)


class DisconnectResult(TypedDict):
    removed: list[str]


class LmsSource(Protocol):
    async def mode(self) -> str:
        """How the next run reads the vendor (``rest``, ``browser``)."""
        ...

    async def fetch(self, keeper: SnapshotKeeper) -> Snapshot: ...

    async def forget(self) -> list[str]:
        """Purge what the source keeps outside its tables (its login cookies in the vault, any
        credential held in memory); returns the names of the secrets it purged."""
        ...


def build_lms_server(r: Reads, source: LmsSource, *, instructions: str, sync_doc: str, audit: AuditLog) -> MCPServer:
    """A coursework source's whole server: ``sync``, the reads, ``snapshot`` and ``disconnect``.

    A sync and a disconnect never overlap: a run that was under way when the owner disconnected
    cannot write its cookies or rows back after.
    """
    mode, fetch, forget = source.mode, source.fetch, source.forget
    server = MCPServer(r.name, instructions=instructions)
    one_at_a_time = asyncio.Lock()

    async def sync(ctx: Context) -> SyncResult:
        claims = await r.gate.check(ctx, "coursework.read", "sync")
        async with one_at_a_time:
            return await run_sync(r, await mode(), fetch, audit=audit, details=audit_details(claims))

    server.tool(name="sync", description=sync_doc, annotations=SYNC)(sync)
    register_reads(server, r)
    register_snapshot(server, r, SEND)

    @server.tool(annotations=SEND)
    async def disconnect(ctx: Context) -> DisconnectResult:
        """Console only: delete everything stored from this source (courses, grades, cookies, snapshots)."""
        claims = await r.gate.check(ctx, "coursework.link", "disconnect")
        actor = f"mcp:{r.name}"
        async with one_at_a_time:
            try:
                purged = await forget()
            except SecretStoreUnavailable as exc:
                raise ToolError(f"{r.name}: the stored login session could not be purged ({exc}); try again") from None
            details = {**audit_details(claims), "purged": purged}
            event = AuditEvent(actor, "coursework.unlink", "ok", resource=actor, details=details)
            await r.store.forget(audit, event)
        return {"removed": [f"{r.name}-data", *purged]}

    return server
