"""Garmin's login and sync, with the tokens kept in the broker's vault.

The owner's Garmin email and password are the ``garmin-login`` secret (written from the console,
bound to ``mcp:garmin``). A login is rare (Garmin throttles them hard): it runs only when the owner
starts it from the connect page. Its tokens go to the vault as ``garmin-tokens`` through the
server's scoped write path, never a file; every sync reads them from there and writes them back
when the library refreshed them. A half-done login waiting for the owner's MFA code lives in this
process's memory for :data:`PENDING_SECONDS`, nowhere else.

What the owner must act on (a refused login, a code to type, a library that no longer understands
Garmin) is kept as the open "needs attention" entry that the integrations page and the briefing
show; a sync that fails that way raises, so it is never mistaken for a day without data.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from mcp_servers._secrets import SecretStore, SecretStoreUnavailable
from mcp_servers.garmin.store import GarminStore
from storage.audit import AuditEvent
from tools.credentials import CredentialProvider, from_one_line, one_line
from tools.errors import AuthExpired, IntegrationError, InvalidRequest, UpstreamError
from tools.garmin.client import MAX_DAYS, GarminClient
from tools.garmin.models import LibraryBroke

LOGIN: Final = "garmin-login"
TOKENS: Final = "garmin-tokens"
PENDING_SECONDS: Final = 600.0
FIRST_SYNC_DAYS: Final = 30
ACTOR: Final = "mcp-garmin"


@dataclass
class _Pending:
    handle: object
    until: float


def _reason(exc: IntegrationError) -> str | None:
    """Which failures need the owner (shown as "needs attention"), by reason; None for passing ones."""
    if isinstance(exc, LibraryBroke):
        return "library"
    if isinstance(exc, AuthExpired):
        return "login"
    return None


class GarminService:
    def __init__(
        self,
        client: GarminClient,
        store: GarminStore,
        credentials: CredentialProvider,
        secrets: SecretStore,
        *,
        today: Callable[[], dt.date],
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client, self._store, self._credentials, self._secrets = client, store, credentials, secrets
        self._today, self._now, self._clock = today, now, clock
        self._pending: _Pending | None = None

    async def _attention(self, reason: str | None, detail: str = "") -> None:
        current = (await self._store.status()).get("attention")
        if reason is None:
            await self._store.set_status(attention=None)
            return
        since = current["since"] if isinstance(current, dict) and current.get("reason") == reason else None
        entry = {"reason": reason, "detail": detail[:300], "since": since or self._now().isoformat()}
        await self._store.set_status(attention=entry)

    async def _login_secret(self) -> tuple[str, str]:
        try:
            raw = await self._credentials.get(LOGIN)
        except AuthExpired:
            message = f'store your Garmin login first: the {LOGIN} secret, {{"email": "...", "password": "..."}}'
            raise InvalidRequest(message, integration="garmin") from None
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or not all(isinstance(doc.get(k), str) and doc[k] for k in ("email", "password")):
            raise InvalidRequest(
                f'the {LOGIN} secret must be {{"email": "...", "password": "..."}}', integration="garmin"
            )
        return doc["email"], doc["password"]

    async def login(self) -> dict[str, Any]:
        """Sign in with the stored login. Garmin may ask for a code first (``needs_code``)."""
        email, password = await self._login_secret()
        try:
            await self._secrets.ready()  # refuse before spending one of Garmin's few logins
        except SecretStoreUnavailable as exc:
            raise UpstreamError(str(exc), integration="garmin") from None
        try:
            step = await self._client.start_login(email, password)
        except IntegrationError as exc:
            await self._attention("login", f"the Garmin login failed: {exc.message}")
            raise
        if step.tokens is None:
            self._pending = _Pending(step.pending, self._clock() + PENDING_SECONDS)
            await self._attention("code", "Garmin sent a code: type it on the Garmin connect page")
            return {"connected": False, "needs_code": True}
        return await self._connected(step.tokens)

    async def finish_login(self, code: str) -> dict[str, Any]:
        pending, self._pending = self._pending, None
        if pending is None or pending.until < self._clock():
            raise InvalidRequest("no Garmin sign-in is waiting for a code: log in again", integration="garmin")
        try:
            step = await self._client.finish_login(pending.handle, code)
        except IntegrationError as exc:
            await self._attention("login", f"Garmin did not accept the code: {exc.message}")
            raise
        if step.tokens is None:
            raise UpstreamError("Garmin finished the sign-in without tokens", integration="garmin")
        return await self._connected(step.tokens)

    async def _keep(self, tokens: str) -> None:
        try:
            await self._secrets.put(TOKENS, one_line(tokens))  # the vault keeps one line
        except SecretStoreUnavailable as exc:
            raise UpstreamError(str(exc), integration="garmin") from None
        self._credentials.invalidate(TOKENS)

    async def _connected(self, tokens: str) -> dict[str, Any]:
        await self._keep(tokens)
        await self._attention(None)
        await self._store.record(AuditEvent(ACTOR, "garmin.login", "ok", resource="mcp:garmin"))
        try:
            synced = await self.sync()
        except IntegrationError as exc:  # connected all the same; the status says why the data waits
            return {"connected": True, "needs_code": False, "synced": False, "problem": exc.message[:200]}
        return {"connected": True, "needs_code": False, "synced": True, **synced}

    def _window(self, synced_at: Any) -> tuple[dt.date, dt.date]:
        last = self._today()
        first = last - dt.timedelta(days=FIRST_SYNC_DAYS - 1)
        if isinstance(synced_at, str):
            since = dt.datetime.fromisoformat(synced_at).date() - dt.timedelta(days=1)
            first = max(last - dt.timedelta(days=MAX_DAYS - 1), min(since, last - dt.timedelta(days=1)))
        return first, last

    async def sync(self) -> dict[str, Any]:
        """Fetch the days since the last sync (a month the first time) and store them."""
        status = await self._store.status()
        first, last = self._window(status.get("synced_at"))
        try:
            tokens = from_one_line(await self._credentials.get(TOKENS))
            result = await self._client.sync(tokens, first, last)
        except IntegrationError as exc:
            if (reason := _reason(exc)) is not None:
                await self._attention(reason, exc.message)
            raise
        if result.tokens != tokens:
            await self._keep(result.tokens)
        event = AuditEvent(ACTOR, "garmin.sync", "ok", resource="mcp:garmin", details={"days": len(result.days)})
        stored = await self._store.save(result.days, result.activities, event)
        await self._store.set_status(attention=None, synced_at=self._now().isoformat())
        return {"days": len(result.days), "activities": len(result.activities), "stored": stored}

    async def forget(self) -> int:
        self._pending = None
        return await self._store.forget(AuditEvent(ACTOR, "garmin.forget", "ok", resource="mcp:garmin"))
