"""A coursework browser source behind the real console, its vault the real broker's: for the tests that
connect, sync and disconnect it as the owner does (``tests/mcp_servers/{blackboard,pearson}``).

The harness starts the broker and the MCP host together, so the server's own broker key can only be
issued once both run: :class:`LateVault` is the server's credential provider and secret store, bound
to that key right after (nothing reads or writes through it before).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from mcp.server.mcpserver import MCPServer
from sqlalchemy import Table, func, select

from agent.mcp_host import ServerSpec
from broker.client import BrokerClient
from mcp_servers._common import CallGate, audit_log
from mcp_servers._coursework import LmsStore, LmsTables, Reads
from mcp_servers._secrets import BrokerSecretStore
from storage.audit import AuditLog
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tests.tools.browser.loopback import Site
from tests.web.conftest import FakeClock, cookie_header
from tests.web.harness_data import Live, start_live
from tools.credentials import BrokerCredentials
from web.config import ConsoleConfig


class LateVault:
    """The server's vault access (read and write, bound to ``mcp:<name>``), bound after start."""

    def __init__(self) -> None:
        self.reader: BrokerCredentials | None = None
        self.writer: BrokerSecretStore | None = None

    def _r(self) -> BrokerCredentials:
        assert self.reader is not None, "the server used the vault before its key was issued"
        return self.reader

    def _w(self) -> BrokerSecretStore:
        assert self.writer is not None, "the server used the vault before its key was issued"
        return self.writer

    async def get(self, name: str) -> str:
        return await self._r().get(name)

    def invalidate(self, name: str | None = None) -> None:
        if self.reader is not None:
            self.reader.invalidate(name)

    async def ready(self) -> None:
        await self._w().ready()

    async def put(self, name: str, value: str) -> None:
        await self._w().put(name, value)

    async def delete(self, name: str) -> bool:
        return await self._w().delete(name)


@dataclass
class LiveSource:
    name: str
    live: Live
    vault: LateVault
    db: Database
    tables: LmsTables
    principal: str  # the server's broker principal, as the broker's audit log names it

    async def disconnect(self) -> str:
        """The owner's Disconnect on the integrations page (with a fresh authenticator code)."""
        console = self.live.console
        cookies = await console.browser_login()
        r = await console.http.post(
            f"/integrations/{self.name}/disconnect",
            data={"csrf_token": cookies["__Host-aegis_csrf"], "step_up_code": console.fresh_code()},
            headers=cookie_header(cookies),
        )
        assert r.status_code == 303, r.text
        location: str = r.headers["location"]
        return location

    async def purged_by(self, secret: str) -> list[str]:
        """Who purged ``secret``: ``server`` (this server's own key) or another principal's id."""
        page = await self.live.broker.audit(action="secret.purge", limit=100)
        rows = page.get("rows") or page.get("items") or page.get("events") or []
        actors = [str(r.get("actor")) for r in rows if r.get("resource") == f"secret:{secret}"]
        return ["server" if a == f"principal:{self.principal}" else a for a in actors]

    async def rows(self) -> dict[str, int]:
        """Rows left in each of the source's tables."""
        found: dict[str, int] = {}
        async with self.db.transaction() as s:
            for table in _tables(self.tables):
                found[table.name] = int((await s.execute(select(func.count()).select_from(table))).scalar_one())
        return found

    async def secrets(self, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """The broker's own list (admin): every secret bound to this source's resource."""
        listed = await self.live.broker.list_secrets(include_deleted=include_deleted)
        return [m for m in listed if m.get("resource") == f"mcp:{self.name}"]


LOGIN = json.dumps({"username": "owner", "password": "correct horse"})


async def connect_sync_disconnect(src: LiveSource, site: Site, *, table: str, rows: int) -> None:
    """As the owner: store the login, sync (the browser logs in once and the server saves its session
    to the vault), disconnect from the console; then nothing is left, and a later sync brings nothing back."""
    live, name = src.live, src.name
    assert live.data.vault is not None and live.data.tools is not None
    await live.data.vault.put(f"{name}-login", LOGIN, kind="password", resource=f"mcp:{name}")
    synced = await live.data.tools.read(f"{name}.sync", {})
    assert synced.ok, synced.error
    assert sorted(m["name"] for m in await src.secrets()) == [f"{name}-cookies", f"{name}-login"]
    assert site.logins == 1 and (await src.rows())[table] == rows

    assert await src.disconnect() == f"/integrations?notice=disconnected&i={name}#{name}"

    assert await src.secrets() == []  # nothing bound to the source is left in the vault
    purged = [m["name"].split("~")[0] for m in await src.secrets(include_deleted=True) if m["purged"]]
    assert sorted(purged) == [f"{name}-cookies", f"{name}-login"]  # every version destroyed
    assert await src.purged_by(f"{name}-cookies") == ["server"]  # the server purged its own session
    assert set((await src.rows()).values()) == {0}, await src.rows()
    assert src.vault.reader is not None and src.vault.reader.held() == []  # nothing kept in memory

    # The next scheduled sync has no session and no login: it stops at the login page and writes
    # neither cookies nor rows back.
    again = await live.data.tools.read(f"{name}.sync", {})
    assert not again.ok and "needs attention (login)" in str(again.error)
    assert site.logins == 1 and await src.secrets() == []
    assert (await src.rows())[table] == 0


def _tables(t: LmsTables) -> list[Table]:
    notices = [t.notices] if t.notices is not None else []
    return [t.courses, t.work, t.grade_points, t.status, t.snapshots, t.cookies, *notices]


@asynccontextmanager
async def live_source(
    name: str,
    tables: LmsTables,
    build: Callable[[LateVault, LmsStore, Reads, AuditLog], MCPServer],
    *,
    db_url: str,
    tmp: Path,
    clock: FakeClock,
    config: ConsoleConfig,
) -> AsyncIterator[LiveSource]:
    keyring = Keyring(
        [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("coursework", "chain") for p in ("enc", "idx")]
    )
    db = Database(db_url)
    store = LmsStore(db, FieldCipher(keyring), tables, "coursework")
    vault = LateVault()
    gate = CallGate(server=name, resource=f"mcp:{name}", verify=None)
    reads = Reads(name, name.title(), store, gate, lambda: datetime.fromtimestamp(clock(), UTC))
    spec = ServerSpec(name, instance=lambda: build(vault, store, reads, audit_log(keyring, "coursework")))
    try:
        async with (
            start_live(db_url, tmp, clock, config, extra=[spec]) as live,
            bind_server_key(name, live, vault, tmp) as principal,
        ):
            yield LiveSource(name, live, vault, db, tables, principal)
    finally:
        await db.dispose()


@asynccontextmanager
async def bind_server_key(name: str, live: Live, vault: LateVault, tmp: Path) -> AsyncIterator[str]:
    """Issue the server's broker key and bind :class:`LateVault` to it; yields the principal's id."""
    scopes, resources = ["secrets.read", "secrets.write"], [f"mcp:{name}"]
    out = await live.broker.create_key(
        principal=f"mcp-{name}", max_scopes=scopes, max_resources=resources, scopes=scopes, resources=resources
    )
    key = tmp / f"mcp-{name}.key"
    key.write_text(out["api_key"] + "\n", encoding="ascii")
    key.chmod(0o600)
    async with httpx.AsyncClient(base_url=live.broker_url, timeout=10) as http:
        vault.reader = BrokerCredentials(BrokerClient(http), api_key_file=key, resource=f"mcp:{name}")
        vault.writer = BrokerSecretStore(BrokerClient(http), api_key_file=key, resource=f"mcp:{name}")
        yield str(out["principal"]["id"])


class ConsoleOwner:
    """The owner's browser on the console, connecting ``integration`` through the OAuth its own server
    runs: "Authorize Aegis at <host>", then back through the callback page."""

    def __init__(self, live: Live, cookies: dict[str, str], integration: str, host: str) -> None:
        self.http, self.cookies, self.integration, self.host = live.console.http, cookies, integration, host

    async def page(self) -> str:
        r = await self.http.get("/integrations", headers=cookie_header(self.cookies))
        assert r.status_code == 200
        return r.text

    async def authorize(self) -> httpx.URL:
        """Click "Authorize Aegis at …"; returns where the continue link leads."""
        r = await self.http.post(
            f"/integrations/{self.integration}/oauth/start",
            data={"csrf_token": self.cookies["__Host-aegis_csrf"]},
            headers=cookie_header(self.cookies),
        )
        assert r.status_code == 200, r.text
        assert f"({self.host})" in r.text
        marker = f'id="continue-{self.integration}" href="'
        start = r.text.index(marker) + len(marker)
        return httpx.URL(r.text[start : r.text.index('"', start)].replace("&amp;", "&"))

    async def come_back(self, **query: str) -> str:
        """The vendor redirected to the callback page, which moves on to the console's callback route."""
        r = await self.http.get("/integrations/oauth/callback", params=query, headers=cookie_header(self.cookies))
        assert r.status_code == 303, r.text
        location: str = r.headers["location"]
        return location
