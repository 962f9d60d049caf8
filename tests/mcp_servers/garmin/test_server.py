"""The Garmin server on Garmin-shaped answers at the network edge (the demo's Garmin behind a
recorder that can inject faults): the console login with and without a code, the tokens kept
through the server's secret store (the vault's write path), the sync, a library break shown as
"needs attention" and never as empty days."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.types import CallToolResult

from mcp_servers._common import Demo
from mcp_servers._standalone import demo_runtime
from mcp_servers.garmin.__main__ import build
from storage.crypto.keyring import ACTIVE, DOMAINS, DataKey, Keyring
from storage.db import Database
from tests.integrations.harness import Recorder
from tools.credentials import StaticCredentials, from_one_line
from tools.garmin.demo import PASSWORD, demo_transport

pytestmark = pytest.mark.anyio


@dataclass
class Rig:
    client: Client
    vendor: Recorder
    credentials: StaticCredentials

    async def call(self, tool: str, args: dict[str, Any] | None = None) -> CallToolResult:
        out = await self.client.call_tool(tool, args or {})
        assert isinstance(out, CallToolResult)
        return out

    async def ok(self, tool: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        out = await self.call(tool, args)
        assert not out.is_error, out.content
        assert isinstance(out.structured_content, dict)
        return out.structured_content

    def paths(self) -> list[str]:
        return [r.url.path for r in self.vendor.requests]


def _text(out: CallToolResult) -> str:
    return " ".join(getattr(c, "text", "") for c in out.content)


_KEYS: dict[int, Keyring] = {}


@asynccontextmanager
async def rig(db: Database, login: dict[str, str] | None) -> AsyncIterator[Rig]:
    """The server on its database; one keyring per database, so a second rig reads the first's rows."""
    keyring = _KEYS.setdefault(
        id(db), Keyring([DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in DOMAINS for p in ("enc", "idx")])
    )
    creds = {} if login is None else {"garmin-login": json.dumps(login)}
    vendor = Recorder(demo_transport(dt.datetime.now(dt.UTC).date()))
    async with demo_runtime("garmin", "health", Demo(creds, vendor), db=db, keyring=keyring) as runtime:
        assert isinstance(runtime.credentials, StaticCredentials)
        async with Client(build(runtime)) as client:
            yield Rig(client, vendor, runtime.credentials)


async def test_a_login_with_a_code_keeps_the_tokens_in_the_vault_and_syncs_a_month(db: Database) -> None:
    async with rig(db, {"email": "mfa-owner@example.com", "password": PASSWORD}) as r:
        assert await r.ok("login") == {"connected": False, "needs_code": True}
        status = await r.ok("status")
        assert status["attention"][0]["reason"] == "code" and status["synced_at"] is None
        wrong = await r.call("login_code", {"code": "000000"})
        assert wrong.is_error and "reconnect" in _text(wrong)
        again = await r.call("login_code", {"code": "123456"})  # the failed attempt ended that sign-in
        assert again.is_error and "no Garmin sign-in is waiting" in _text(again)
        assert (await r.ok("login"))["needs_code"] is True
        done = await r.ok("login_code", {"code": "123456"})
        assert done["connected"] is True and done["synced"] is True and done["days"] == 30
        tokens = json.loads(from_one_line(await r.credentials.get("garmin-tokens")))  # written through the secret store
        assert tokens["di_token"] == "demo.ST-demo-mfa.di"
        status = await r.ok("status")
        assert status["attention"] == [] and status["synced_at"] is not None
        summary = await r.ok("summary")
        assert len(summary["days"]) == 7 and all(d["steps"] >= 5200 and d["sleep_h"] > 5 for d in summary["days"])
        assert summary["workouts"] and all(w["minutes"] >= 30 for w in summary["workouts"])
        assert r.paths().count("/mobile/api/login") == 2  # a login only when the owner asks for one


async def test_the_hourly_sync_reuses_the_tokens_and_fetches_only_the_last_days(db: Database) -> None:
    async with rig(db, {"email": "owner@example.com", "password": PASSWORD}) as r:
        assert (await r.ok("login"))["synced"] is True
        before = len(r.vendor.requests)
        out = await r.ok("sync")
        assert out["days"] == 2  # yesterday (finished) and today
        made = r.vendor.requests[before:]
        assert all(q.url.host != "sso.garmin.com" for q in made)  # the stored tokens, no new login
        today = dt.datetime.now(dt.UTC).date()
        asked = {q.url.params["calendarDate"] for q in made if "/usersummary-service/" in q.url.path}
        assert asked == {(today - dt.timedelta(days=1)).isoformat(), today.isoformat()}


async def test_a_library_break_needs_attention_and_stores_no_empty_day(db: Database) -> None:
    async with rig(db, {"email": "owner@example.com", "password": PASSWORD}) as r:
        await r.ok("login")
        before = await r.ok("summary")

        def changed(request: httpx.Request) -> httpx.Response | None:
            if "/usersummary-service/" in request.url.path:  # Garmin renamed a field the adapter needs
                return httpx.Response(200, json={"calendarDate": "x", "steps": 1})
            return None

        r.vendor.faults.append(changed)
        out = await r.call("sync")
        assert out.is_error and "needs attention" in _text(out) and "totalSteps" in _text(out)
        (entry,) = (await r.ok("status"))["attention"]
        assert entry["reason"] == "library" and "totalSteps" in entry["detail"]
        assert await r.ok("summary") == before  # the days already stored are untouched, none blanked
        r.vendor.faults.clear()
        await r.ok("sync")
        assert (await r.ok("status"))["attention"] == []


async def test_a_refused_login_or_none_stored_says_what_to_do(db: Database) -> None:
    async with rig(db, None) as r:
        out = await r.call("login")
        assert out.is_error and "garmin-login" in _text(out) and not r.vendor.requests
        sync = await r.call("sync")
        assert sync.is_error and "reconnect" in _text(sync)
        assert (await r.ok("status"))["attention"][0]["reason"] == "login"
    async with rig(db, {"email": "owner@example.com", "password": "wrong-password"}) as r:
        out = await r.call("login")
        assert out.is_error and "wrong-password" not in _text(out)
        assert (await r.ok("status"))["attention"][0]["reason"] == "login"
        assert await r.ok("summary") == {"days": [], "workouts": [], "sources": (await r.ok("summary"))["sources"]}


async def test_disconnect_deletes_everything_and_forgets_a_waiting_code(db: Database) -> None:
    async with rig(db, {"email": "mfa-owner@example.com", "password": PASSWORD}) as r:
        await r.ok("login")
        assert (await r.ok("disconnect"))["deleted"] >= 1  # the status row
        out = await r.call("login_code", {"code": "123456"})
        assert out.is_error and "no Garmin sign-in is waiting" in _text(out)
        assert (await r.ok("summary"))["days"] == []
