"""The Apple Health MCP server: the phone's batches come in through ``ingest`` (console only), the
owner's figures go out through read tools over the local encrypted store.

Scopes: ``health.ingest`` for ingest (and sandbox_connect, demo profile only); ``health.manage``
for disconnect; ``health.read`` for metrics, sleep, steps, daily and summary. Nothing here calls out: Apple
Health has no server API.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field
from typing_extensions import TypedDict

from mcp_servers._common import CREATE, LOCAL_READ, SEND, CallGate, Source, audit_details
from mcp_servers.applehealth.backfill import UploadError, Uploads
from mcp_servers.applehealth.store import HealthStore
from mcp_servers.applehealth.summary import summary as day_summary
from storage.audit import AuditEvent
from tools.applehealth.demo import demo_payload
from tools.applehealth.models import PayloadError
from tools.applehealth.parse import parse_payload

NAME = "applehealth"
ACTOR = "mcp-applehealth"
MAX_RANGE_DAYS: Final = 366
SUMMED: Final = frozenset({"step_count", "active_energy", "basal_energy_burned", "walking_running_distance"})
INSTRUCTIONS = "The owner's Apple Health data pushed from their phone: private figures, never to be shared."
Device = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
UploadId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
Chunk = Annotated[str, Field(max_length=6 * 1024 * 1024)]  # base64 of a piece of at most 4 MiB
Metric = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]


class IngestResult(TypedDict):
    batch_id: str
    received: int
    stored: int
    repeated: int


class MetricItem(TypedDict):
    metric: str
    samples: int
    first_day: str
    last_day: str


class MetricsResult(TypedDict):
    metrics: list[MetricItem]
    sources: list[Source]


class Night(TypedDict):
    date: str
    total_hours: float
    deep_hours: float
    rem_hours: float
    core_hours: float
    awake_hours: float


class SleepResult(TypedDict):
    nights: list[Night]
    sources: list[Source]


class DayFigure(TypedDict):
    date: str
    value: float


class StepsDay(TypedDict):
    date: str
    steps: int
    goal: int
    met: bool


class StepsResult(TypedDict):
    days: list[StepsDay]
    total: int
    sources: list[Source]


class DailyResult(TypedDict):
    metric: str
    days: list[DayFigure]
    sources: list[Source]


class SummaryResult(TypedDict):
    days: list[dict[str, Any]]
    workouts: list[dict[str, Any]]
    sources: list[Source]


class ChunkResult(TypedDict):
    received_bytes: int
    samples: int
    stored: int
    done: bool


class DisconnectResult(TypedDict):
    deleted: int


@dataclass
class HealthDeps:
    store: HealthStore
    gate: CallGate
    today: Callable[[], dt.date]
    demo: bool = False


def _source(item_id: str) -> Source:
    return {"channel": "health", "server": NAME, "item_id": item_id, "principal": None}


def _range(start_date: dt.date, end_date: dt.date) -> None:
    if end_date < start_date or (end_date - start_date).days > MAX_RANGE_DAYS:
        raise ToolError(f"{NAME}: end_date must be on or after start_date, within {MAX_RANGE_DAYS} days")


def _hours(values: dict[str, Any], key: str) -> float:
    value = values.get(key, 0)
    return round(float(value), 2) if isinstance(value, int | float) else 0.0


def build_server(deps: HealthDeps) -> MCPServer:
    server = MCPServer(NAME, instructions=INSTRUCTIONS)
    gate, store = deps.gate, deps.store

    async def _ingest(payload: dict[str, Any], device: str, claims: dict[str, Any] | None) -> IngestResult:
        details = audit_details(claims, device=device)
        try:
            samples = parse_payload(payload)
        except PayloadError as exc:
            event = AuditEvent(
                ACTOR, "health.ingest", "refused", resource="mcp:applehealth", reason=str(exc)[:200], details=details
            )
            await store.record(event)
            raise ToolError(f"{NAME}: invalid payload: {exc}") from None
        event = AuditEvent(ACTOR, "health.ingest", "ok", resource="mcp:applehealth", details=details)
        counts = await store.ingest(samples, event)
        return {
            "batch_id": counts.batch_id,
            "received": counts.received,
            "stored": counts.stored,
            "repeated": counts.repeated,
        }

    @server.tool(annotations=CREATE)
    async def ingest(payload: dict[str, Any], device: Device, ctx: Context) -> IngestResult:
        """Console only: store one batch the owner's phone pushed (Health Auto Export or the Aegis
        shape). Repeated samples are skipped; a bad batch stores nothing."""
        claims = await gate.check(ctx, "health.ingest", "ingest")
        return await _ingest(payload, device, claims)

    if deps.demo:

        @server.tool(annotations=CREATE)
        async def sandbox_connect(ctx: Context) -> IngestResult:
            """Demo only: ingest 90 days of sample data, dated up to today."""
            claims = await gate.check(ctx, "health.ingest", "sandbox_connect")
            return await _ingest(demo_payload(deps.today()), "demo-iphone", claims)

    uploads = Uploads(store, clock=time.monotonic)

    @server.tool(annotations=CREATE)
    async def backfill_chunk(
        upload: UploadId, offset: Annotated[int, Field(ge=0)], data: Chunk, last: bool, ctx: Context
    ) -> ChunkResult:
        """Console only: the next piece (base64) of an "Export All Health Data" export.xml the owner
        uploads; stored as it is parsed. Pieces come in order from offset 0."""
        claims = await gate.check(ctx, "health.ingest", "backfill_chunk")
        try:
            raw = base64.b64decode(data, validate=True)
        except ValueError:
            raise ToolError(f"{NAME}: the piece is not base64") from None
        event = AuditEvent(ACTOR, "health.backfill", "ok", resource="mcp:applehealth", details=audit_details(claims))
        try:
            counts = await uploads.chunk(upload, offset, raw, last, event)
        except (UploadError, PayloadError) as exc:
            raise ToolError(f"{NAME}: {exc}") from None
        return {
            "received_bytes": counts.received_bytes,
            "samples": counts.samples,
            "stored": counts.stored,
            "done": counts.done,
        }

    @server.tool(annotations=SEND)
    async def disconnect(ctx: Context) -> DisconnectResult:
        """Console only: delete every stored health sample. Revoke the phone's ingest token too."""
        claims = await gate.check(ctx, "health.manage", "disconnect")
        event = AuditEvent(ACTOR, "health.forget", "ok", resource="mcp:applehealth", details=audit_details(claims))
        return {"deleted": await store.forget(event)}

    @server.tool(annotations=LOCAL_READ)
    async def metrics(ctx: Context) -> MetricsResult:
        """Which health metrics are stored, with sample counts and the first and last day of each."""
        await gate.check(ctx, "health.read", "metrics")
        found = await store.metrics()
        return {
            "metrics": [
                {
                    "metric": m.metric,
                    "samples": m.samples,
                    "first_day": m.first_day.isoformat(),
                    "last_day": m.last_day.isoformat(),
                }
                for m in found
            ],
            "sources": [_source(m.metric) for m in found],
        }

    @server.tool(annotations=LOCAL_READ)
    async def sleep(start_date: dt.date, end_date: dt.date, ctx: Context) -> SleepResult:
        """Sleep per night (dated by the morning it ended), in hours: total, deep, REM, core, awake."""
        await gate.check(ctx, "health.read", "sleep")
        _range(start_date, end_date)
        nights: list[Night] = []
        for s in await store.samples("sleep_analysis", start_date, end_date):
            v = s.values
            nights.append(
                {
                    "date": s.day.isoformat(),
                    "total_hours": _hours(v, "totalSleep") or _hours(v, "asleep"),
                    "deep_hours": _hours(v, "deep"),
                    "rem_hours": _hours(v, "rem"),
                    "core_hours": _hours(v, "core"),
                    "awake_hours": _hours(v, "awake"),
                }
            )
        return {"nights": nights, "sources": [_source(f"sleep_analysis:{n['date']}") for n in nights]}

    @server.tool(annotations=LOCAL_READ)
    async def steps(
        start_date: dt.date,
        end_date: dt.date,
        ctx: Context,
        goal: Annotated[int, Field(ge=0, le=100_000)] = 10_000,
    ) -> StepsResult:
        """Steps per day against a daily goal (phone and watch not double counted)."""
        await gate.check(ctx, "health.read", "steps")
        _range(start_date, end_date)
        totals = await store.daily_totals("step_count", start_date, end_date)
        days: list[StepsDay] = [
            {"date": d.isoformat(), "steps": int(n), "goal": goal, "met": n >= goal} for d, n in sorted(totals.items())
        ]
        return {
            "days": days,
            "total": sum(d["steps"] for d in days),
            "sources": [_source(f"step_count:{d['date']}") for d in days],
        }

    @server.tool(annotations=LOCAL_READ)
    async def daily(metric: Metric, start_date: dt.date, end_date: dt.date, ctx: Context) -> DailyResult:
        """One metric per day: the sum for counts and energy, the mean for rates, weight and the rest."""
        await gate.check(ctx, "health.read", "daily")
        _range(start_date, end_date)
        figures: dict[dt.date, float]
        if metric in SUMMED:
            figures = await store.daily_totals(metric, start_date, end_date)
        else:
            per: dict[dt.date, list[float]] = {}
            for s in await store.samples(metric, start_date, end_date):
                qty = s.values.get("qty", s.values.get("Avg"))
                if isinstance(qty, int | float):
                    per.setdefault(s.day, []).append(float(qty))
            figures = {d: sum(v) / len(v) for d, v in per.items()}
        days: list[DayFigure] = [{"date": d.isoformat(), "value": round(v, 2)} for d, v in sorted(figures.items())]
        return {"metric": metric, "days": days, "sources": [_source(f"{metric}:{d['date']}") for d in days]}

    @server.tool(annotations=LOCAL_READ)
    async def summary(start_date: dt.date, end_date: dt.date, ctx: Context) -> SummaryResult:
        """Per day: steps, active energy, resting heart rate, HRV, weight and sleep stages (hours),
        and the workouts, over a date range (at most a year)."""
        await gate.check(ctx, "health.read", "summary")
        _range(start_date, end_date)
        out = await day_summary(store, start_date, end_date)
        return {
            "days": out["days"],
            "workouts": out["workouts"],
            "sources": [_source(f"summary:{start_date.isoformat()}:{end_date.isoformat()}")],
        }

    return server
