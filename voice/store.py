"""Transcripts stored encrypted with provenance: the owner's own speech carries an OWNER label;
assistant replies and uploaded recordings carry UNTRUSTED ones (a recording may be anyone's voice)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from agent.gateway.labels import ALL, Conf, Integrity, Label, Source
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.base import utcnow
from storage.models.voice import ENCRYPTED, VoiceTranscriptRow

DOMAIN = "conversation"
_CONTENT, _AUDIO = ENCRYPTED
SPEAKERS = {"owner": Integrity.OWNER, "assistant": Integrity.UNTRUSTED, "recording": Integrity.UNTRUSTED}


@dataclass(frozen=True)
class StoredTranscript:
    id: str
    conversation_id: str | None
    kind: str
    speaker: str
    engine: str
    seconds: float
    text: str
    name: str
    label: dict[str, Any]
    has_audio: bool
    created_at: datetime


def provenance(speaker: str, tid: str, *, kind: str, principal: str | None) -> Label:
    source = Source("voice", "console", kind, tid, principal, datetime.now(UTC))
    return Label(SPEAKERS[speaker], Conf.PRIVATE, ALL, frozenset({source}))


class TranscriptStore:
    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher

    async def add(
        self,
        *,
        kind: str,
        speaker: str,
        text: str,
        engine: str,
        seconds: float = 0.0,
        conversation_id: str | None = None,
        name: str = "",
        audio_wav: bytes | None = None,
    ) -> str:
        tid = str(uuid.uuid4())
        principal = "owner" if speaker == "owner" else None
        label = provenance(speaker, tid, kind=kind, principal=principal)
        ctx = {"id": tid}
        blob = self._cipher.encrypt_text(DOMAIN, _CONTENT.context(ctx), json.dumps({"text": text, "name": name}))
        audio = self._cipher.encrypt(DOMAIN, _AUDIO.context(ctx), audio_wav) if audio_wav else None
        async with self._db.transaction() as s:
            s.add(
                VoiceTranscriptRow(
                    id=tid,
                    conversation_id=conversation_id,
                    kind=kind[:16],
                    speaker=speaker,
                    engine=engine[:32],
                    seconds=seconds,
                    label=json.dumps(label.to_dict()),
                    content=blob,
                    audio=audio,
                    created_at=utcnow(),
                )
            )
        return tid

    def _open(self, row: VoiceTranscriptRow) -> StoredTranscript:
        doc = json.loads(self._cipher.decrypt_text(DOMAIN, _CONTENT.context({"id": row.id}), row.content))
        return StoredTranscript(
            row.id,
            row.conversation_id,
            row.kind,
            row.speaker,
            row.engine,
            row.seconds,
            str(doc["text"]),
            str(doc.get("name", "")),
            json.loads(row.label),
            row.audio is not None,
            row.created_at,
        )

    async def recent(self, *, kind: str | None = None, limit: int = 50) -> list[StoredTranscript]:
        q = select(VoiceTranscriptRow).order_by(VoiceTranscriptRow.created_at.desc(), VoiceTranscriptRow.id)
        if kind is not None:
            q = q.where(VoiceTranscriptRow.kind == kind)
        async with self._db.transaction() as s:
            rows = (await s.scalars(q.limit(min(max(limit, 1), 200)))).all()
        return [self._open(r) for r in rows]

    async def for_conversation(self, cid: str) -> list[StoredTranscript]:
        q = select(VoiceTranscriptRow).where(VoiceTranscriptRow.conversation_id == cid)
        async with self._db.transaction() as s:
            rows = (await s.scalars(q.order_by(VoiceTranscriptRow.created_at, VoiceTranscriptRow.id))).all()
        return [self._open(r) for r in rows]

    async def audio(self, tid: str) -> bytes | None:
        async with self._db.transaction() as s:
            row = await s.get(VoiceTranscriptRow, tid)
        if row is None or row.audio is None:
            return None
        return self._cipher.decrypt(DOMAIN, _AUDIO.context({"id": tid}), row.audio)

    async def search(self, words: str, *, limit: int = 20) -> list[StoredTranscript]:
        """Transcripts whose text holds every word (decrypted here: the text is never indexed in clear)."""
        wanted = [w.casefold() for w in words.split() if w]
        found: list[StoredTranscript] = []
        for t in await self.recent(limit=200):
            text = t.text.casefold()
            if all(w in text for w in wanted):
                found.append(t)
                if len(found) >= limit:
                    break
        return found
