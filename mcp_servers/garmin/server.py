"""The Garmin MCP server: the owner's login from the console, the hourly sync, and read tools over
the local encrypted store.

Scopes: ``health.manage`` for login, login_code, disconnect (and sandbox_connect, demo profile
only); ``health.read`` for sync, summary and status (the console's key holds at most 32 scopes, so
Garmin reuses Apple Health's).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final, cast

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field
from typing_extensions import TypedDict

from integrations.health import METRICS
from mcp_servers._common import CREATE, LOCAL_READ, SEND, SYNC, CallGate, Source, vendor_errors
from mcp_servers.garmin.service import GarminService
from mcp_servers.garmin.store import GarminStore
from tools.garmin.models import LibraryBroke

NAME: Final = "garmin"
MAX_RANGE_DAYS: Final = 366
INSTRUCTIONS = "The owner's Garmin watch data (sleep, heart rate, HRV, stress, Body Battery, activities): private."
Code = Annotated[str, Field(pattern=r"^[0-9]{4,8}$")]


class LoginResult(TypedDict, total=False):
    connected: bool
    needs_code: bool
    synced: bool
    problem: str
    days: int
    activities: int
    stored: int


class SyncResult(TypedDict):
    days: int
    activities: int
    stored: int


class SummaryResult(TypedDict):
    days: list[dict[str, Any]]
    workouts: list[dict[str, Any]]
    sources: list[Source]


class StatusResult(TypedDict):
    attention: list[dict[str, str]]
    mode: str
    synced_at: str | None


class DisconnectResult(TypedDict):
    deleted: int


@dataclass
class GarminDeps:
    service: GarminService
    store: GarminStore
    gate: CallGate
    today: Callable[[], dt.date]
    demo: bool = False


def _library(exc: LibraryBroke) -> ToolError:
    return ToolError(f"{NAME}: needs attention: {exc.message[:300]}")


def build_server(deps: GarminDeps) -> MCPServer:
    server = MCPServer(NAME, instructions=INSTRUCTIONS)
    gate, service, store = deps.gate, deps.service, deps.store

    @server.tool(annotations=CREATE)
    async def login(ctx: Context) -> LoginResult:
        """Console only: sign in to Garmin with the owner's stored login. Garmin may ask for a code."""
        await gate.check(ctx, "health.manage", "login")
        with vendor_errors(NAME):
            return cast(LoginResult, await service.login())

    @server.tool(annotations=CREATE)
    async def login_code(code: Code, ctx: Context) -> LoginResult:
        """Console only: the code Garmin sent, to finish the sign-in started by login."""
        await gate.check(ctx, "health.manage", "login_code")
        with vendor_errors(NAME):
            return cast(LoginResult, await service.finish_login(code))

    if deps.demo:

        @server.tool(annotations=CREATE)
        async def sandbox_connect(ctx: Context) -> LoginResult:
            """Demo only: sign in to the demo Garmin account and sync its last month."""
            await gate.check(ctx, "health.manage", "sandbox_connect")
            with vendor_errors(NAME):
                return cast(LoginResult, await service.login())

    @server.tool(annotations=SYNC)
    async def sync(ctx: Context) -> SyncResult:
        """Fetch the days since the last sync from Garmin into the local encrypted store. Counts only."""
        await gate.check(ctx, "health.read", "sync")
        with vendor_errors(NAME):
            try:
                out = await service.sync()
            except LibraryBroke as exc:  # the owner must see it: never an empty day
                raise _library(exc) from None
        return {"days": out["days"], "activities": out["activities"], "stored": out["stored"]}

    @server.tool(annotations=LOCAL_READ)
    async def summary(
        ctx: Context, start_date: dt.date | None = None, end_date: dt.date | None = None
    ) -> SummaryResult:
        """Per day: steps, active energy, resting heart rate, HRV, sleep stages (hours), stress and
        Body Battery, and the activities, over a date range (the last 7 days by default)."""
        await gate.check(ctx, "health.read", "summary")
        end = end_date or deps.today()
        start = start_date or end - dt.timedelta(days=6)
        if end < start or (end - start).days > MAX_RANGE_DAYS:
            raise ToolError(f"{NAME}: end_date must be on or after start_date, within {MAX_RANGE_DAYS} days")
        days = [{"date": d["date"], **{k: d[k] for k in METRICS if k in d}} for d in await store.days(start, end)]
        workouts = [
            {"start": a["start"], "name": a["name"], "minutes": a["minutes"], "kcal": a["kcal"], "km": a["km"]}
            for a in await store.activities(start, end)
        ]
        source: Source = {"channel": "health", "server": NAME, "item_id": f"summary:{start}:{end}", "principal": None}
        return {"days": days, "workouts": workouts, "sources": [source]}

    @server.tool(annotations=LOCAL_READ)
    async def status(ctx: Context) -> StatusResult:
        """What needs the owner's attention (a login to redo, a code to type, a library break), and
        when Garmin was last synced."""
        await gate.check(ctx, "health.read", "status")
        found = await store.status()
        entry = found.get("attention")
        attention = [{**entry, "snapshot_id": ""}] if isinstance(entry, dict) else []
        return {"attention": attention, "mode": "library", "synced_at": found.get("synced_at")}

    @server.tool(annotations=SEND)
    async def disconnect(ctx: Context) -> DisconnectResult:
        """Console only: delete everything stored from Garmin (the console then purges the login and
        its tokens from the vault)."""
        await gate.check(ctx, "health.manage", "disconnect")
        return {"deleted": await service.forget()}

    return server
