"""The ActivityWatch MCP server: device usage, read only.

Scopes: ``usage.read`` for status, sync, usage and trend; ``usage.link`` for disconnect. Reads
answer from the encrypted daily summaries; ``status`` asks aw-server (it is the connect probe).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field
from typing_extensions import TypedDict

from mcp_servers._common import READ, SEND, SYNC, CallGate, audit_details, vendor_errors
from mcp_servers.activitywatch.service import UsageService, total

NAME = "activitywatch"
INSTRUCTIONS = "The owner's device usage from ActivityWatch on this machine: time per app and category, focus time."


class BucketInfo(TypedDict):
    id: str
    type: str
    hostname: str
    last_updated: str | None


class StatusResult(TypedDict):
    buckets: list[BucketInfo]


class SyncResult(TypedDict):
    days: int


class Share(TypedDict):
    name: str
    hours: float


class UsageResult(TypedDict):
    start: str
    end: str
    days: int
    active_hours: float
    focus_hours: float
    apps: list[Share]
    categories: list[Share]


class WeekInfo(TypedDict):
    week: str
    active_hours: float
    focus_hours: float
    study_hours: float


class TrendResult(TypedDict):
    weeks: list[WeekInfo]


class DisconnectResult(TypedDict):
    removed: list[str]


@dataclass
class UsageDeps:
    service: UsageService
    gate: CallGate


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 2)


def _shares(values: dict[str, float], limit: int) -> list[Share]:
    ranked = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [{"name": k, "hours": _hours(v)} for k, v in ranked]


def build_server(deps: UsageDeps) -> MCPServer:
    server = MCPServer(NAME, instructions=INSTRUCTIONS)
    gate, svc = deps.gate, deps.service

    @server.tool(annotations=READ)
    async def status(ctx: Context) -> StatusResult:
        """The ActivityWatch buckets on this machine (asks aw-server now)."""
        await gate.check(ctx, "usage.read", "status")
        with vendor_errors(NAME):
            found = await svc.client.buckets()
        return {
            "buckets": [
                {
                    "id": b.id,
                    "type": b.type,
                    "hostname": b.hostname,
                    "last_updated": None if b.last_updated is None else b.last_updated.isoformat(),
                }
                for b in found
            ]
        }

    @server.tool(annotations=SYNC)
    async def sync(ctx: Context) -> SyncResult:
        """Summarise the device usage of the days not yet stored. Returns the number of days written."""
        claims = await gate.check(ctx, "usage.read", "sync")
        with vendor_errors(NAME):
            return {"days": await svc.sync(audit_details(claims))}

    @server.tool(annotations=READ)
    async def usage(start: date, end: date, ctx: Context, limit: Annotated[int, Field(ge=1, le=30)] = 8) -> UsageResult:
        """Time at the device from start to end (dates, both included): per app, per category, and focus time."""
        await gate.check(ctx, "usage.read", "usage")
        if end < start or end - start > timedelta(days=366):
            raise ToolError("activitywatch: invalid request: a range of up to a year, end not before start")
        days = await svc.days(start, end)
        t = total(days)
        return {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "days": len(days),
            "active_hours": _hours(t.active),
            "focus_hours": _hours(t.focus),
            "apps": _shares(t.apps, limit),
            "categories": _shares(t.categories, limit),
        }

    @server.tool(annotations=READ)
    async def trend(ctx: Context, weeks: Annotated[int, Field(ge=1, le=26)] = 4) -> TrendResult:
        """Active, focus and study hours per week (weeks start on Monday), oldest first, this week last."""
        await gate.check(ctx, "usage.read", "trend")
        today = svc.today()
        monday = today - timedelta(days=today.weekday())
        out: list[WeekInfo] = []
        for i in range(weeks - 1, -1, -1):
            start = monday - timedelta(weeks=i)
            t = total(await svc.days(start, start + timedelta(days=6)))
            out.append(
                {
                    "week": start.isoformat(),
                    "active_hours": _hours(t.active),
                    "focus_hours": _hours(t.focus),
                    "study_hours": _hours(t.categories.get("Study", 0.0)),
                }
            )
        return {"weeks": out}

    @server.tool(annotations=SEND)
    async def disconnect(ctx: Context) -> DisconnectResult:
        """Console only: delete the stored usage summaries."""
        claims = await gate.check(ctx, "usage.link", "disconnect")
        await svc.forget(audit_details(claims))
        return {"removed": ["usage-summaries"]}

    return server
