"""Gmail service logic: incremental sync by history id, search, threads, drafts and sending.

Sync (Gmail "partial synchronization"): continue ``users.history.list`` from the stored history id
and write the changes plus the last page's ``historyId`` in one transaction. With no stored id, or
when Gmail answers 404 for a stale one, do a full sync: note the profile's current ``historyId``
*before* listing (so changes made while listing are picked up next time), list the newest
``full_sync_limit`` messages, fetch each in full and upsert them.
"""

from __future__ import annotations

import asyncio
import email.message
import email.policy
import email.utils
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import structlog

from mcp_servers._mail import MAX_MODEL_TEXT, Pending
from mcp_servers._mail_analysis import Analysis, Thread, threads_with
from mcp_servers.gmail.store import Changes, MailStore, StoredMessage, addresses, thread_message
from storage.audit import AuditEvent, AuditLog
from storage.db import Database
from tools.errors import InvalidRequest, NotFound
from tools.gmail.client import MAX_PAGE, GmailClient
from tools.gmail.mime import build_reply
from tools.gmail.models import Draft, HistoryPage, Message

log = structlog.get_logger("aegis.mcp_servers.gmail")

ACTOR = "mcp:gmail"
FETCH_CONCURRENCY = 5


@dataclass(frozen=True)
class SyncOutcome:
    mode: Literal["incremental", "full"]
    stored: int
    deleted: int
    relabelled: int
    history_id: str


def _header_value(value: str, what: str) -> str:
    if "\r" in value or "\n" in value:
        raise InvalidRequest(f"{what} contains a line break")
    return value


class GmailService:
    def __init__(
        self,
        client: GmailClient,
        store: MailStore,
        db: Database,
        audit: AuditLog,
        *,
        full_sync_limit: int = 500,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.store = store
        self._db = db
        self._audit = audit
        self._full_limit = full_sync_limit
        self._now = now
        self._account: str | None = None
        self._sync_lock = asyncio.Lock()

    async def account(self) -> str:
        """The mailbox's own address (from ``users.getProfile``, remembered for this process)."""
        if self._account is None:
            self._account = (await self.client.profile()).email_address.lower()
        return self._account

    async def fetch(self, ids: Sequence[str]) -> list[Message]:
        """Full messages, a few requests at a time; ids that vanished meanwhile are left out."""
        gate = asyncio.Semaphore(FETCH_CONCURRENCY)

        async def one(mid: str) -> Message | None:
            async with gate:
                try:
                    return await self.client.get_message(mid, "full")
                except NotFound:
                    return None

        found = await asyncio.gather(*(one(i) for i in dict.fromkeys(ids)))
        return [m for m in found if m is not None]

    # ---- sync ------------------------------------------------------------------------------

    async def sync(self, details: dict[str, Any]) -> SyncOutcome:
        async with self._sync_lock:
            profile = await self.client.profile()
            account = self._account = profile.email_address.lower()
            start = await self.store.history_id(account)
            if start is not None:
                try:
                    return await self._incremental(account, start, details)
                except NotFound:
                    log.info("gmail.history_stale", note="stored history id expired; full resync")
            return await self._full(account, profile.history_id, details)

    async def _incremental(self, account: str, start: str, details: dict[str, Any]) -> SyncOutcome:
        changes = Changes()
        last = start
        async for page in self.client.iter_history(start):
            _collect(page, changes)
            last = page.history_id
        added = list(changes.messages)
        changes.messages = {}
        for message in await self.fetch(added):
            changes.messages[message.id] = message
        changes.deleted |= {mid for mid in added if mid not in changes.messages}
        return await self._write(account, changes, last, "incremental", details)

    async def _full(self, account: str, history_id: str, details: dict[str, Any]) -> SyncOutcome:
        ids: list[str] = []
        token: str | None = None
        while len(ids) < self._full_limit:
            page = await self.client.list_messages(
                page_token=token, max_results=min(MAX_PAGE, self._full_limit - len(ids))
            )
            ids += [ref.id for ref in page.messages]
            token = page.next_page_token
            if not token:
                break
        changes = Changes(messages={m.id: m for m in await self.fetch(ids[: self._full_limit])})
        return await self._write(account, changes, history_id, "full", details)

    async def _write(
        self, account: str, changes: Changes, history_id: str, mode: Literal["incremental", "full"], details: Any
    ) -> SyncOutcome:
        counts = {"stored": len(changes.messages), "deleted": len(changes.deleted)}
        event = AuditEvent(ACTOR, "mail.sync", "ok", resource="mcp:gmail", details={**details, "mode": mode, **counts})
        relabelled = await self.store.apply_sync(
            account, changes, history_id=history_id, full=mode == "full", audit=self._audit, event=event
        )
        log.info("gmail.sync", mode=mode, relabelled=relabelled, **counts)
        return SyncOutcome(mode, counts["stored"], counts["deleted"], relabelled, history_id)

    # ---- reads -----------------------------------------------------------------------------

    async def search(self, query: str, limit: int) -> list[StoredMessage]:
        page = await self.client.list_messages(q=query, max_results=limit)
        messages = await self.fetch([ref.id for ref in page.messages])
        await self.store.save(await self.account(), messages)
        return await self.store.get([m.id for m in messages])

    async def thread(self, thread_id: str) -> list[StoredMessage]:
        stored = await self.store.thread(thread_id)
        if stored:
            return stored
        fetched = await self.client.get_thread(thread_id, "full")
        await self.store.save(await self.account(), fetched.messages)
        return await self.store.thread(thread_id)

    async def insights(self, category: str | None, days: int, limit: int) -> list[StoredMessage]:
        """Analysed stored messages of the last ``days`` (of one category, or all), newest first."""
        found = await self.store.recent(self._now() - timedelta(days=days), 1000)
        return [m for m in found if category is None or m.analysis["category"] == category][:limit]

    async def threads_with(self, people: Sequence[str], days: int, limit: int) -> list[Thread]:
        """The latest stored threads with any of ``people`` (the mailbox's own address left out)."""
        stored = await self.store.recent(self._now() - timedelta(days=days), 1000)
        owner = self._account or await self.store.account()
        others = [p.lower() for p in people if p.lower() != owner]
        return threads_with([thread_message(m) for m in stored], others, limit) if others else []

    async def pending_analysis(self, days: int, limit: int) -> list[Pending]:
        """Stored messages of the last ``days`` the model has not been asked about, with their text."""
        found = await self.store.pending(self._now() - timedelta(days=days), limit)
        return [
            Pending(
                {
                    "id": m.id,
                    "date": m.date,
                    "from": m.sender,
                    "to": addresses(m.to),
                    "cc": addresses(m.cc),
                    "subject": m.subject,
                    "text": (m.body or m.snippet)[:MAX_MODEL_TEXT],
                    "sent_by_owner": m.sent_by_owner,
                },
                m.principal,
            )
            for m in found
        ]

    async def record_analysis(
        self, analysed: Mapping[str, Analysis], fell_back: Mapping[str, str], details: dict[str, Any]
    ) -> int:
        counts = {"analysed": len(analysed), "fell_back": len(fell_back)}
        event = AuditEvent(ACTOR, "mail.analysis", "ok", resource="mcp:gmail", details={**details, **counts})
        return await self.store.record(analysed, fell_back, self._audit, event)

    # ---- writes ----------------------------------------------------------------------------

    async def draft_reply(self, message_id: str, body: str, details: dict[str, Any]) -> tuple[Draft, Message]:
        original = await self.client.get_message(message_id, "full")
        raw = build_reply(original, from_addr=await self.account(), body=body)
        await self._record("mail.draft", "attempt", details)
        draft = await self.client.create_draft(raw, thread_id=original.thread_id)
        await self._record("mail.draft", "ok", {**details, "draft_id": draft.id})
        return draft, original

    async def send(
        self,
        to: Sequence[str],
        subject: str,
        body: str,
        cc: Sequence[str],
        bcc: Sequence[str],
        thread_id: str | None,
        details: dict[str, Any],
    ) -> Message:
        message = email.message.EmailMessage(policy=email.policy.SMTP)
        message["From"] = await self.account()
        message["To"] = ", ".join(to)
        if cc:
            message["Cc"] = ", ".join(cc)
        if bcc:
            message["Bcc"] = ", ".join(bcc)
        message["Subject"] = _header_value(subject, "subject")
        message["Date"] = email.utils.formatdate(usegmt=True)
        message["Message-ID"] = email.utils.make_msgid(domain=(await self.account()).rpartition("@")[2] or None)
        message.set_content(body)
        # The intent is audited before anything leaves: if the audit cannot be written, nothing is sent.
        await self._record("mail.send", "attempt", details)
        sent = await self.client.send_message(message.as_bytes(), thread_id=thread_id)
        await self._record("mail.send", "ok", {**details, "message_id": sent.id})
        return sent

    async def disconnect(self, details: dict[str, Any]) -> list[str]:
        """Revoke Aegis's grant at Google, then delete the stored mail. ``["google-grant"]`` when
        Google revoked it now, ``[]`` when it was already expired or revoked. Any other failure
        raises before anything local is deleted, so a retry can still revoke."""
        revoked = await self.client.revoke_grant()
        event = AuditEvent(
            ACTOR, "mail.unlink", "ok", resource="mcp:gmail", details={**details, "revoked_at_google": revoked}
        )
        await self.store.forget(self._audit, event)
        return ["google-grant"] if revoked else []

    async def _record(self, action: str, result: str, details: dict[str, Any]) -> None:
        async with self._db.transaction() as s:
            await self._audit.append(s, AuditEvent(ACTOR, action, result, resource="mcp:gmail", details=details))


def _collect(page: HistoryPage, changes: Changes) -> None:
    """Fold one history page into ``changes`` (records arrive in increasing history order)."""
    for record in page.history:
        for added in record.messages_added:
            changes.messages[added.message.id] = added.message
            changes.deleted.discard(added.message.id)
        for gone in record.messages_deleted:
            changes.messages.pop(gone.message.id, None)
            changes.labels.pop(gone.message.id, None)
            changes.deleted.add(gone.message.id)
        for change in record.labels_added:
            changes.labels.setdefault(change.message.id, []).append(("add", change.label_ids))
        for change in record.labels_removed:
            changes.labels.setdefault(change.message.id, []).append(("remove", change.label_ids))
