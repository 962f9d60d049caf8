"""What the memory does with provenance.

* A memory is admitted with the label of what it was written from (the gateway's label of the
  call, passed by the executor in ``_meta``, never by the model). The owner's own words (integrity
  OWNER or SYSTEM) make an ``active`` memory at once; anything else (an email, a page, someone
  else's message, or no label at all) is ``quarantined`` until the owner confirms it.
* Reading returns active memories only, each with ``_label``: the label it was stored with, or,
  once the owner confirmed or edited it, an owner label naming that confirmation. The gateway joins
  it into the conversation, so a memory written from untrusted content taints every later decision.
* Each read is recorded in the memory's history: what it was used for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from mcp_servers.memory.store import ACTIVE, QUARANTINED, Memory, MemoryEvent, MemoryStore

TRUSTED = frozenset({"OWNER", "SYSTEM"})


def _untrusted_label() -> dict[str, Any]:
    return {"v": 1, "integrity": "UNTRUSTED", "conf": "SECRET", "readers": [], "sources": []}


def admission(label: Mapping[str, Any] | None) -> tuple[str, str, str, str]:
    """(state, integrity, source kind, how confirmed) for a memory written under ``label``."""
    integrity = str(label.get("integrity", "UNTRUSTED")) if label else "UNTRUSTED"
    if integrity in TRUSTED:
        return ACTIVE, integrity, "owner", "owner_said"
    return QUARANTINED, integrity, "tool", "unconfirmed"


class MemoryService:
    def __init__(self, store: MemoryStore, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self._clock = clock

    async def propose(self, text: str, label: Mapping[str, Any] | None, *, call_id: str | None = None) -> Memory:
        state, integrity, kind, how = admission(label)
        provenance = {"label": dict(label) if label else _untrusted_label(), "call_id": call_id}
        return await self.store.add(
            " ".join(text.split()),
            state=state,
            integrity=integrity,
            source_kind=kind,
            confirmed_how=how,
            provenance=provenance,
            now=self._clock(),
        )

    async def recall(
        self, query: str, *, limit: int = 10, used_for: str | None = None
    ) -> list[tuple[Memory, dict[str, Any]]]:
        found = await self.store.search(query, state=ACTIVE, limit=limit)
        if found:
            detail = {"query": query, "used_for": used_for}
            await self.store.record_use([m.id for m in found], detail, self._clock())
        return [(m, self.label_of(m)) for m in found]

    @staticmethod
    def label_of(m: Memory) -> dict[str, Any]:
        stored = m.provenance.get("label")
        if not isinstance(stored, dict):
            return _untrusted_label()
        if m.confirmed_how == "owner_said" or m.state != ACTIVE:
            return stored
        when = (m.confirmed_at or m.updated_at).isoformat()
        source = {
            "channel": "owner",
            "server": "memory",
            "tool": m.confirmed_how,
            "item_id": m.id,
            "principal": None,
            "fetched_at": when,
        }
        return {
            "v": 1,
            "integrity": "OWNER",
            "conf": stored.get("conf", "PRIVATE"),
            "readers": stored.get("readers", []),
            "sources": [source],
        }

    # --- the owner, on the memory page --------------------------------------------------------
    async def confirm(self, memory_id: str) -> Memory | None:
        now = self._clock()
        return await self.store.update(
            memory_id, now, action="confirmed", state=ACTIVE, confirmed_how="owner_confirmed", confirmed_at=now
        )

    async def edit(self, memory_id: str, text: str) -> Memory | None:
        """The owner's words replace the text: the memory becomes the owner's, active."""
        now = self._clock()
        return await self.store.update(
            memory_id,
            now,
            action="edited",
            text=" ".join(text.split()),
            state=ACTIVE,
            confirmed_how="owner_edited",
            confirmed_at=now,
        )

    async def forget(self, memory_id: str) -> bool:
        return await self.store.forget(memory_id)

    async def history(self, memory_id: str) -> list[MemoryEvent]:
        return await self.store.history(memory_id)
