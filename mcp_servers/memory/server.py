"""The memory MCP server: ``read`` and ``write``, token-checked like every server.

Scopes: ``memory.read`` for read, ``memory.write`` for write, ``memory.admin`` for the console-only
tools of the memory page (browse, history, confirm, edit, forget). The label a memory is written under
comes from the gateway's executor in ``_meta["aegis/label"]`` (the registry marks ``memory.write``
``persists_label``); the model cannot set it, and a call without one is treated as untrusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, cast

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field
from typing_extensions import TypedDict

from mcp_servers._common import LOCAL_READ, CallGate
from mcp_servers.memory.service import MemoryService
from mcp_servers.memory.store import Memory

NAME = "memory"
LABEL_META = "aegis/label"
CALL_META = "aegis/call"
INSTRUCTIONS = (
    "The assistant's memory of the owner: preferences, people, standing facts. Each item carries its "
    "source; cite the memory id you used as [memory:ID]. Memories taken from someone else's content wait "
    "for the owner's confirmation before they are returned."
)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)
FORGET = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False)


class MemoryItem(TypedDict):
    id: str
    text: str
    date: str
    confirmed: str
    _label: dict[str, Any]


class ReadResult(TypedDict):
    items: list[MemoryItem]


class Entry(TypedDict):
    id: str
    text: str
    state: str
    integrity: str
    source: str
    confirmed: str
    created_at: str
    updated_at: str
    label: dict[str, Any]


class BrowseResult(TypedDict):
    memories: list[Entry]


class HistoryEntry(TypedDict):
    action: str
    at: str
    detail: dict[str, Any]


class HistoryResult(TypedDict):
    memory: Entry
    events: list[HistoryEntry]


class ChangeResult(TypedDict):
    id: str
    done: bool


class WriteResult(TypedDict):
    id: str
    state: str
    note: str


@dataclass
class MemoryDeps:
    service: MemoryService
    gate: CallGate


def _entry(m: Memory) -> Entry:
    label = m.provenance.get("label")
    return {
        "id": m.id,
        "text": m.text,
        "state": m.state,
        "integrity": m.integrity,
        "source": m.source_kind,
        "confirmed": m.confirmed_how,
        "created_at": m.created_at.isoformat(),
        "updated_at": m.updated_at.isoformat(),
        "label": label if isinstance(label, dict) else {},
    }


MemoryId = Annotated[str, Field(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]


def _meta(ctx: Context) -> dict[str, Any]:
    meta = ctx.request_context.meta
    return dict(meta) if isinstance(meta, dict) else {}


def build_server(deps: MemoryDeps) -> MCPServer:
    server = MCPServer(NAME, instructions=INSTRUCTIONS)
    gate, svc = deps.gate, deps.service

    @server.tool(annotations=LOCAL_READ)
    async def read(
        ctx: Context,
        query: Annotated[str, Field(max_length=200)] = "",
        limit: Annotated[int, Field(ge=1, le=50)] = 10,
    ) -> ReadResult:
        """Recall what the owner asked to remember (all words of the query must match; empty: everything)."""
        await gate.check(ctx, "memory.read", "read")
        call = _meta(ctx).get(CALL_META)
        found = await svc.recall(query, limit=limit, used_for=str(call) if call else None)
        items: list[MemoryItem] = [
            {
                "id": m.id,
                "text": m.text,
                "date": m.created_at.date().isoformat(),
                "confirmed": m.confirmed_how,
                "_label": label,
            }
            for m, label in found
        ]
        return {"items": items}

    @server.tool(annotations=WRITE)
    async def write(text: Annotated[str, Field(min_length=1, max_length=2000)], ctx: Context) -> WriteResult:
        """Remember a fact about the owner (a preference, a person, a standing fact), with where it came from."""
        await gate.check(ctx, "memory.write", "write")
        meta = _meta(ctx)
        label = meta.get(LABEL_META)
        call = meta.get(CALL_META)
        m = await svc.propose(text, label if isinstance(label, dict) else None, call_id=str(call) if call else None)
        note = "remembered" if m.state == "active" else "kept aside until the owner confirms it on the memory page"
        return {"id": m.id, "state": m.state, "note": note}

    # --- console only (registry class ADMIN: the gateway refuses them to the model) ---------------
    @server.tool(annotations=LOCAL_READ)
    async def browse(ctx: Context, query: Annotated[str, Field(max_length=200)] = "") -> BrowseResult:
        """Console only: every memory matching the query, quarantined ones included, with provenance."""
        await gate.check(ctx, "memory.admin", "browse")
        return {"memories": [_entry(m) for m in await svc.store.search(query, limit=500)]}

    @server.tool(annotations=LOCAL_READ)
    async def history(memory_id: MemoryId, ctx: Context) -> HistoryResult:
        """Console only: one memory and its history (created, edited, confirmed, used and for what)."""
        await gate.check(ctx, "memory.admin", "history")
        m = await svc.store.get(memory_id)
        if m is None:
            raise ToolError("memory: not found")
        events = [{"action": e.action, "at": e.at.isoformat(), "detail": e.detail} for e in await svc.history(m.id)]
        return {"memory": _entry(m), "events": cast(list[HistoryEntry], events)}

    @server.tool(annotations=WRITE)
    async def confirm(memory_id: MemoryId, ctx: Context) -> ChangeResult:
        """Console only: the owner confirms a memory; it becomes active, as the owner's."""
        await gate.check(ctx, "memory.admin", "confirm")
        return {"id": memory_id, "done": await svc.confirm(memory_id) is not None}

    @server.tool(annotations=WRITE)
    async def edit(
        memory_id: MemoryId, text: Annotated[str, Field(min_length=1, max_length=2000)], ctx: Context
    ) -> ChangeResult:
        """Console only: the owner rewrites a memory in their own words."""
        await gate.check(ctx, "memory.admin", "edit")
        return {"id": memory_id, "done": await svc.edit(memory_id, text) is not None}

    @server.tool(annotations=FORGET)
    async def forget(memory_id: MemoryId, ctx: Context) -> ChangeResult:
        """Console only: delete a memory and its whole history, for good."""
        await gate.check(ctx, "memory.admin", "forget")
        return {"id": memory_id, "done": await svc.forget(memory_id)}

    return server
