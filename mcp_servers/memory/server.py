"""The memory MCP server: ``read`` and ``write``, token-checked like every server.

Scopes: ``memory.read`` for read, ``memory.write`` for write. The label a memory is written under
comes from the gateway's executor in ``_meta["aegis/label"]`` (the registry marks ``memory.write``
``persists_label``); the model cannot set it, and a call without one is treated as untrusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field
from typing_extensions import TypedDict

from mcp_servers._common import LOCAL_READ, CallGate
from mcp_servers.memory.service import MemoryService

NAME = "memory"
LABEL_META = "aegis/label"
CALL_META = "aegis/call"
INSTRUCTIONS = (
    "The assistant's memory of the owner: preferences, people, standing facts. Each item carries its "
    "source; cite the memory id you used as [memory:ID]. Memories taken from someone else's content wait "
    "for the owner's confirmation before they are returned."
)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)


class MemoryItem(TypedDict):
    id: str
    text: str
    date: str
    confirmed: str
    _label: dict[str, Any]


class ReadResult(TypedDict):
    items: list[MemoryItem]


class WriteResult(TypedDict):
    id: str
    state: str
    note: str


@dataclass
class MemoryDeps:
    service: MemoryService
    gate: CallGate


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

    return server
