"""WhatsApp service logic: hand-off of received messages, reads through the bridge, sending.

Voice notes that come in are transcribed before they are stored (a generic recording transcriber:
the configured speech-to-text engine); the transcript becomes the message's body, so it carries the
message's own labels (untrusted, its sender, its chat). A note that cannot be transcribed is stored
saying so, never dropped.

Hand-off (:meth:`WhatsAppService.sync`): take what the bridge keeps pending, store it encrypted
(one upsert per message id, with the audit row, in one transaction), and only after that commit
acknowledge it to the bridge. A crash between the two leaves the messages pending: the next sync
stores them again, once, and acknowledges them.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any, Protocol

import structlog

from mcp_servers.whatsapp.store import MessageStore, StoredMessage
from storage.audit import AuditEvent, AuditLog, Sensitive
from storage.db import Database
from tools.errors import IntegrationError
from tools.whatsapp.client import WhatsAppClient, check_chat_id
from tools.whatsapp.errors import NotConnected
from tools.whatsapp.models import Chat, SentMessage, WhatsAppMessage
from voice.ports import Transcript, VoiceError

log = structlog.get_logger("aegis.mcp_servers.whatsapp")

ACTOR = "mcp:whatsapp"
BATCH = 200
LOCAL_SEARCH_WINDOW = 2000
MAX_BATCHES = 25
UNLINKED_STATES = frozenset({"logged_out", "pairing", "auth_failure"})
VOICE_TYPES = ("ptt", "audio")
MAX_VOICE_SECONDS = 15 * 60
VOICE_MARK = "[voice note"


class Transcriber(Protocol):
    async def transcribe(self, data: bytes) -> Transcript: ...


class WhatsAppService:
    def __init__(
        self,
        client: WhatsAppClient,
        store: MessageStore,
        db: Database,
        audit: AuditLog,
        transcriber: Transcriber | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self._db = db
        self._audit = audit
        self._transcriber = transcriber
        self._sync_lock = asyncio.Lock()

    async def sync(self, details: dict[str, Any]) -> tuple[int, int]:
        """Store and acknowledge what the bridge holds; returns ``(stored, still_pending)``."""
        stored = 0
        async with self._sync_lock:
            for _ in range(MAX_BATCHES):
                batch = await self.client.pending(BATCH)
                if not batch:
                    return stored, 0
                batch = [await self._heard(m) for m in batch]
                event = AuditEvent(
                    ACTOR, "whatsapp.sync", "ok", resource=ACTOR, details={**details, "stored": len(batch)}
                )
                stored += await self.store.save(batch, audit=self._audit, event=event)
                await self.client.acknowledge([m.id for m in batch])
                log.info("whatsapp.sync", stored=len(batch))
            pending = (await self.client.status()).pending
        return stored, pending

    async def recent_chats(self, limit: int) -> list[Chat]:
        return await self.client.recent_chats(limit)

    async def read_chat(self, chat_id: str, limit: int) -> list[StoredMessage]:
        found = await self.client.chat_messages(chat_id, limit)
        return await self._keep(found)

    async def search(self, query: str, chat_id: str | None, limit: int) -> tuple[list[StoredMessage], bool]:
        """WhatsApp's own search; when WhatsApp is not connected, the messages stored here (newest
        :data:`LOCAL_SEARCH_WINDOW`). Returns the messages and whether they came from the local store."""
        needle = query.casefold()
        try:
            found = await self.client.search(query, chat_id=chat_id, limit=limit)
        except NotConnected:
            if chat_id is not None:
                check_chat_id(chat_id)
            recent = await self.store.recent(LOCAL_SEARCH_WINDOW, chat_id)
            return [m for m in recent if needle in m.body.casefold()][:limit], True
        kept = await self._keep(found)
        # WhatsApp cannot search inside voice notes; their transcripts are only here.
        seen = {m.id for m in kept}
        heard = [
            m
            for m in await self.store.recent(LOCAL_SEARCH_WINDOW, chat_id)
            if m.id not in seen and m.body.startswith(VOICE_MARK) and needle in m.body.casefold()
        ]
        return (kept + heard)[:limit], False

    async def _heard(self, m: WhatsAppMessage) -> WhatsAppMessage:
        """A received voice note with its transcript as its body (other messages unchanged)."""
        if self._transcriber is None or m.type not in VOICE_TYPES or not m.has_media or m.from_me:
            return m
        if m.duration and m.duration > MAX_VOICE_SECONDS:
            text = f"{VOICE_MARK}, {m.duration / 60:.0f} min: too long to transcribe here]"
        else:
            try:
                heard = await self._transcriber.transcribe(await self.client.voice_note(m.id))
                text = f"{VOICE_MARK}, {heard.audio_seconds:.0f} s, transcribed by {heard.engine}] {heard.text}"
            except (IntegrationError, VoiceError) as exc:
                log.warning("whatsapp.voice_note_not_transcribed", error=type(exc).__name__)
                text = f"{VOICE_MARK}: not transcribed ({type(exc).__name__})]"
        return m.model_copy(update={"body": f"{text}\n{m.body}" if m.body else text})

    async def _keep(self, found: list[WhatsAppMessage]) -> list[StoredMessage]:
        """Store what was read (encrypted, once), and return it as the store gives it back. A voice
        note's stored transcript stays: the bridge hands the note over again without it."""
        voice = [m.id for m in found if m.type in VOICE_TYPES and not m.body]
        stored = {s.id: s.body for s in await self.store.get(voice)} if voice else {}
        found = [m.model_copy(update={"body": stored[m.id]}) if stored.get(m.id) else m for m in found]
        await self.store.save(found)
        return await self.store.get([m.id for m in found])

    async def send(self, chat_id: str, text: str, details: dict[str, Any]) -> SentMessage:
        check_chat_id(chat_id)
        details = {**details, "recipient": Sensitive(chat_id), "length": len(text)}
        # The intent is audited before anything leaves: if the audit cannot be written, nothing is sent.
        await self._record("whatsapp.send", "attempt", details)
        try:
            sent = await self.client.send(chat_id, text)
        except Exception:
            await self._record("whatsapp.send", "error", details)
            raise
        await self._record("whatsapp.send", "ok", {**details, "message_id": sent.id})
        return sent

    async def frequent_people(self, days: int, limit: int) -> list[tuple[str, int]]:
        """The one-to-one chats with the most messages (both ways) stored in the last ``days``, by the
        name the owner saved (a name a sender chose is marked with ``~``)."""
        since = int(time.time()) - days * 86400
        recent = [m for m in await self.store.since(since) if not m.is_group]
        counts = Counter(m.chat_id for m in recent)
        names: dict[str, str] = {}
        for m in recent:
            if m.saved_name and not m.from_me:
                names[m.chat_id] = m.saved_name
            elif m.chat_id not in names and m.push_name and not m.from_me:
                names[m.chat_id] = f"~{m.push_name}"
        return [(names.get(chat, "+" + chat.split("@", 1)[0]), n) for chat, n in counts.most_common(limit)]

    async def logout(self, details: dict[str, Any]) -> str:
        """Unlink the device at WhatsApp, then delete what is stored here; returns the bridge's state.
        A device that is not linked any more (logged out, pairing) is not an error: the purge goes on."""
        await self._record("whatsapp.logout", "attempt", details)
        try:
            state: str = (await self.client.logout()).state
        except NotConnected as exc:
            if exc.state not in UNLINKED_STATES:
                await self._record("whatsapp.logout", "error", {**details, "state": exc.state})
                raise
            state = exc.state
        async with self._sync_lock:
            purged = await self.store.purge()
        await self._record("whatsapp.logout", "ok", {**details, "state": state, "purged": purged})
        return state

    async def _record(self, action: str, result: str, details: dict[str, Any]) -> None:
        async with self._db.transaction() as s:
            await self._audit.append(s, AuditEvent(ACTOR, action, result, resource=ACTOR, details=details))
