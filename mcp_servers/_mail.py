"""What every mail server does the same way: recipients are plain addresses, one per list item; the
threads with some people, each with what is still open in it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Protocol

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field
from typing_extensions import TypedDict

from mcp_servers._common import READ, CallGate, Source, vendor_errors
from mcp_servers._mail_analysis import Thread, ThreadView, thread_view
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
