"""Read-only access to the voice transcripts the console stores (``storage.models.voice``).

The console writes them (the voice page's turns, uploaded recordings), encrypted under the
``conversation`` data-key domain and bound to their row id; this server only reads. Search decrypts
and matches here: the text is never stored or indexed in the clear.

Whose words these are is decided here, not taken from the stored label alone: only the owner's own
speech in a voice turn keeps its OWNER label. An uploaded recording, an assistant reply, or a row
whose plain columns disagree with its label is labelled UNTRUSTED (fail closed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.voice import ENCRYPTED, VoiceTranscriptRow

DOMAIN = "conversation"
CONTENT = ENCRYPTED[0]
SCAN_LIMIT = 2_000  # rows decrypted per search, newest first


@dataclass(frozen=True)
class Transcript:
    id: str
    kind: str  # upload | turn
    speaker: str  # owner | assistant | recording
    name: str
    text: str
    seconds: float
    engine: str
    conversation_id: str | None
    created_at: datetime
    label: dict[str, Any]


def _untrusted(tid: str, kind: str, at: datetime) -> dict[str, Any]:
    source = {
        "channel": "voice",
        "server": "console",
        "tool": kind,
        "item_id": tid,
        "principal": None,
        "fetched_at": at.isoformat(),
    }
    return {"v": 1, "integrity": "UNTRUSTED", "conf": "PRIVATE", "readers": "*", "sources": [source]}


def label_of(row: VoiceTranscriptRow) -> dict[str, Any]:
    """The owner's words (a voice turn spoken by the owner, stored with an OWNER label) keep that
    label; anything else is someone else's content."""
    try:
        stored = json.loads(row.label)
    except ValueError:
        stored = None
    owner_turn = row.kind == "turn" and row.speaker == "owner"
    if owner_turn and isinstance(stored, dict) and stored.get("integrity") == "OWNER":
        return stored
    return _untrusted(row.id, row.kind, row.created_at)


class TranscriptReader:
    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher

    def _open(self, row: VoiceTranscriptRow) -> Transcript:
        doc = json.loads(self._cipher.decrypt_text(DOMAIN, CONTENT.context({"id": row.id}), row.content))
        return Transcript(
            id=row.id,
            kind=row.kind,
            speaker=row.speaker,
            name=str(doc.get("name", "")),
            text=str(doc.get("text", "")),
            seconds=row.seconds,
            engine=row.engine,
            conversation_id=row.conversation_id,
            created_at=row.created_at,
            label=label_of(row),
        )

    async def get(self, tid: str) -> Transcript | None:
        async with self._db.read() as s:
            row = await s.get(VoiceTranscriptRow, tid[:36])
            return None if row is None else self._open(row)

    async def search(
        self,
        words: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        kind: str | None = None,
        limit: int = 10,
    ) -> list[Transcript]:
        """Newest first: transcripts from ``start`` (inclusive) to ``end`` (exclusive) whose text or
        file name holds every word (case-insensitive); all of them when ``words`` is empty."""
        wanted = words.casefold().split()
        q = select(VoiceTranscriptRow).order_by(VoiceTranscriptRow.created_at.desc(), VoiceTranscriptRow.id)
        if start is not None:
            q = q.where(VoiceTranscriptRow.created_at >= start)
        if end is not None:
            q = q.where(VoiceTranscriptRow.created_at < end)
        if kind is not None:
            q = q.where(VoiceTranscriptRow.kind == kind)
        async with self._db.read() as s:
            rows = list((await s.scalars(q.limit(SCAN_LIMIT))).all())
        found: list[Transcript] = []
        for row in rows:
            t = self._open(row)
            haystack = f"{t.name}\n{t.text}".casefold()
            if all(w in haystack for w in wanted):
                found.append(t)
                if len(found) >= limit:
                    break
        return found


def snippet(text: str, words: str, width: int = 240) -> str:
    """About ``width`` characters around the first matched word (the start when none matches)."""
    flat = " ".join(text.split())
    folded = flat.casefold()
    hits = [i for w in words.casefold().split() if (i := folded.find(w)) >= 0]
    at = min(hits) if hits else 0
    begin = max(0, at - width // 3)
    piece = flat[begin : begin + width]
    return ("…" if begin > 0 else "") + piece + ("…" if begin + width < len(flat) else "")
