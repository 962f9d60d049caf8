"""What every mail server does the same way: recipients are plain addresses, one per list item; the
threads with some people, each with what is still open in it; the messages the model has not
analysed yet, and the model's results written back (``agent.mail_analysis`` runs the model)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from typing_extensions import TypedDict

from mcp_servers._common import READ, CallGate, Source, audit_details, vendor_errors
from mcp_servers._mail_analysis import ANALYSED, MODEL, Analysis, Category, Thread, ThreadView, thread_view
from mcp_servers._store import Sealer
from tools.errors import InvalidRequest

_ADDRESS = re.compile(r"[^@\s,;<>\"()\[\]\\]+@[^@\s,;<>\"()\[\]\\]+")


def check_addresses(values: Sequence[str], what: str, integration: str | None = None) -> list[str]:
    """Plain addresses only (``name@host``): one recipient per list item, nothing to smuggle."""
    out: list[str] = []
    for value in values:
        if not isinstance(value, str) or not _ADDRESS.fullmatch(value.strip()):
            raise InvalidRequest(
                f"{what}: each item must be one plain address like name@example.com", integration=integration
            )
        out.append(value.strip())
    return out


# ---- the threads-with-people tool every mail server offers (meeting prep reads it) ---------------

People = Annotated[
    list[Annotated[str, Field(pattern=r"^[^@\s,;<>]+@[^@\s,;<>]+$", max_length=320)]],
    Field(min_length=1, max_length=50),
]


InsightDays = Annotated[int, Field(ge=1, le=60, description="how many days back")]
InsightLimit = Annotated[int, Field(ge=1, le=100)]


class ThreadsResult(TypedDict):
    threads: list[ThreadView]
    sources: list[Source]


class ThreadReader(Protocol):
    async def threads_with(self, people: Sequence[str], days: int, limit: int) -> list[Thread]: ...


def thread_sources(name: str, threads: Sequence[Thread]) -> list[Source]:
    """Each message of the threads, named by its sender: the provenance of the thread summaries."""
    return [
        {"channel": "email", "server": name, "item_id": i, "principal": who} for t in threads for i, who in t.messages
    ]


def add_threads_tool(server: MCPServer, gate: CallGate, reader: ThreadReader, name: str) -> None:
    @server.tool(annotations=READ)
    async def threads_with(
        people: People,
        ctx: Context,
        days: Annotated[int, Field(ge=1, le=90)] = 30,
        limit: Annotated[int, Field(ge=1, le=10)] = 3,
    ) -> ThreadsResult:
        """The latest synced mail threads with any of these people (plain addresses), newest first,
        each with the questions still open in it (asked after the owner last wrote there)."""
        await gate.check(ctx, "mail.read", "threads_with")
        with vendor_errors(name):
            found = await reader.threads_with(people, days, limit)
        return {"threads": [thread_view(t) for t in found], "sources": thread_sources(name, found)}


# ---- the model's analysis: what is still to analyse, and its results written back ---------------

LOCAL_WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
MAX_MODEL_TEXT = 8_000  # of each message's text, for the model
MailId = Annotated[str, Field(min_length=1, max_length=512, pattern=r"^[A-Za-z0-9_=-]+$")]
Item = Annotated[str, Field(min_length=1, max_length=300)]
Items = Annotated[list[Item], Field(max_length=5)]
ModelName = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^\s]+$")]

PendingMail = TypedDict(
    "PendingMail",
    {
        "id": str,
        "date": str | None,
        "from": str,
        "to": list[str],
        "cc": list[str],
        "subject": str,
        "text": str,
        "sent_by_owner": bool,
    },
)


class PendingResult(TypedDict):
    messages: list[PendingMail]
    sources: list[Source]


class ModelResult(BaseModel):
    """One message's analysis by the model, as the agent validated it."""

    model_config = ConfigDict(extra="forbid")

    id: MailId
    category: Category
    action_items: Items = []
    dates: Items = []
    questions: Items = []
    model: ModelName


class FellBack(BaseModel):
    """The model was asked about a message and its answer was not used: the rules' result stands."""

    model_config = ConfigDict(extra="forbid")

    id: MailId
    reason: Literal["invalid_output", "tool_call"]


class RecordResult(TypedDict):
    analysed: int
    fell_back: int


@dataclass(frozen=True)
class Pending:
    mail: PendingMail
    principal: str | None  # the sender's address: provenance


class AnalysisStore(Protocol):
    async def pending_analysis(self, days: int, limit: int) -> list[Pending]: ...

    async def record_analysis(
        self, analysed: Mapping[str, Analysis], fell_back: Mapping[str, str], details: dict[str, Any]
    ) -> int: ...


def model_analysis(r: ModelResult) -> Analysis:
    return {
        "category": r.category,
        "action_items": list(r.action_items),
        "dates": list(r.dates),
        "questions": list(r.questions),
        "method": MODEL,
        "model": r.model,
        "fallback": None,
    }


async def write_results(
    s: AsyncSession,
    model: Any,
    sealer: Sealer,
    analysed: Mapping[str, Analysis],
    fell_back: Mapping[str, str],
) -> int:
    """Store the model's results (and the fallbacks) on the rows of a mail table with ``model_state``
    and an encrypted ``model_analysis``; returns how many rows exist for them."""
    found = 0
    for mid, analysis in analysed.items():
        blob = sealer.seal_json("model_analysis", mid, analysis)
        done = await s.execute(update(model).where(model.id == mid).values(model_state=ANALYSED, model_analysis=blob))
        found += int(getattr(done, "rowcount", 0) or 0)
    for mid, reason in fell_back.items():
        done = await s.execute(update(model).where(model.id == mid).values(model_state=reason, model_analysis=None))
        found += int(getattr(done, "rowcount", 0) or 0)
    return found


def add_analysis_tools(server: MCPServer, gate: CallGate, store: AnalysisStore, name: str) -> None:
    @server.tool(annotations=READ)
    async def analysis_pending(
        ctx: Context,
        days: Annotated[int, Field(ge=1, le=14)] = 7,
        limit: Annotated[int, Field(ge=1, le=50)] = 10,
    ) -> PendingResult:
        """The synced messages of the last ``days`` the model has not analysed yet, newest first, each
        with its text: what the mail analysis reads after a sync. Mail text is written by others."""
        await gate.check(ctx, "mail.read", "analysis_pending")
        with vendor_errors(name):
            found = await store.pending_analysis(days, limit)
        return {
            "messages": [p.mail for p in found],
            "sources": [
                {"channel": "email", "server": name, "item_id": p.mail["id"], "principal": p.principal} for p in found
            ],
        }

    @server.tool(annotations=LOCAL_WRITE)
    async def record_analysis(
        ctx: Context,
        analysed: Annotated[list[ModelResult], Field(max_length=50)] | None = None,
        fell_back: Annotated[list[FellBack], Field(max_length=50)] | None = None,
    ) -> RecordResult:
        """Console only: store the model's analysis of synced messages beside the rules' one, or why
        the model's answer was not used. Changes nothing outside Aegis."""
        claims = await gate.check(ctx, "mail.analyse", "record_analysis")
        results = {r.id: model_analysis(r) for r in analysed or []}
        failed = {f.id: f.reason for f in fell_back or [] if f.id not in results}
        with vendor_errors(name):
            await store.record_analysis(results, failed, audit_details(claims))
        return {"analysed": len(results), "fell_back": len(failed)}
