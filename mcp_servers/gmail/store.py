"""The encrypted mail store: Gmail messages in, decrypted :class:`StoredMessage` out.

Writes are idempotent upserts keyed by the Gmail id. A sync's rows, deletions, label changes and
its new history id are written in one transaction (with its audit row), so a failed sync leaves
the store and the history id as they were.
"""

from __future__ import annotations

import email.utils
import html
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mcp_servers._mail import write_results
from mcp_servers._mail_analysis import Analysis, MailItem, ThreadMessage, analyse, final
from mcp_servers._store import Sealer, table_of, upsert
from mcp_servers.gmail.models import ENCRYPTED, MailAccountRow, MailMessageRow
from storage.audit import AuditEvent, AuditLog
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.base import utcnow
from tools.gmail.mime import body_text
from tools.gmail.models import Message

MAX_BODY = 200_000
_MESSAGES = table_of(MailMessageRow)


@dataclass(frozen=True)
class StoredMessage:
    id: str
    thread_id: str
    label_ids: list[str]
    internal_date: int | None
    principal: str | None
    subject: str
    sender: str
    to: str
    cc: str
    snippet: str
    body: str
    analysis: Analysis
    sent_by_owner: bool

    @property
    def date(self) -> str | None:
        if self.internal_date is None:
            return None
        return datetime.fromtimestamp(self.internal_date / 1000, tz=UTC).isoformat()


@dataclass
class Changes:
    """What one sync writes: full messages to upsert, ids to delete, label edits in order."""

    messages: dict[str, Message] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    labels: dict[str, list[tuple[str, tuple[str, ...]]]] = field(default_factory=dict)


def principal_of(sender: str) -> str | None:
    address = email.utils.parseaddr(sender)[1].strip().lower()
    return address or None


def addresses(header: str) -> list[str]:
    """The plain addresses of a To or Cc header, lower case."""
    return [a.strip().lower() for _, a in email.utils.getaddresses([header]) if a.strip()]


def _sent_by_owner(account: str, labels: Sequence[str], principal: str | None) -> bool:
    return "SENT" in labels or (principal is not None and principal == account)


def _analysis(sender: str, to: str, cc: str, subject: str, text: str, by_owner: bool) -> Analysis:
    item = MailItem(principal_of(sender) or "", addresses(to), addresses(cc), subject, text, by_owner)
    return analyse(item)


def thread_message(m: StoredMessage) -> ThreadMessage:
    """A stored message in the shared thread summaries' shape."""
    when = datetime.fromtimestamp(m.internal_date / 1000, tz=UTC) if m.internal_date is not None else None
    return ThreadMessage(
        id=m.id,
        thread=m.thread_id,
        subject=m.subject,
        sender=m.sender,
        principal=m.principal,
        received=when,
        sent_by_owner=m.sent_by_owner,
        recipients=addresses(f"{m.to}, {m.cc}"),
        analysis=m.analysis,
    )


def _body(message: Message) -> str:
    text = body_text(message, "text/plain")
    if text is None:
        text = body_text(message, "text/html") or ""
    return text[:MAX_BODY]


class MailStore:
    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._seal = Sealer(cipher, ENCRYPTED, table="mail_messages")

    def _row(self, account: str, message: Message) -> dict[str, Any]:
        mid = message.id
        sender = message.header("From") or ""
        recipients = {"to": message.header("To") or "", "cc": message.header("Cc") or ""}
        subject, body, principal = message.header("Subject") or "", _body(message), principal_of(sender)
        by_owner = _sent_by_owner(account, message.label_ids, principal)
        analysis = _analysis(sender, recipients["to"], recipients["cc"], subject, body, by_owner)
        return {
            "id": mid,
            "account": account,
            "thread_id": message.thread_id or mid,
            "label_ids": json.dumps(list(message.label_ids)),
            "internal_date": message.internal_date,
            "history_id": message.history_id,
            "principal": principal,
            "subject": self._seal.seal("subject", mid, subject),
            "sender": self._seal.seal("sender", mid, sender),
            "recipients": self._seal.seal_json("recipients", mid, recipients),
            "snippet": self._seal.seal("snippet", mid, html.unescape(message.snippet)),
            "body": self._seal.seal("body", mid, body),
            "analysis": self._seal.seal_json("analysis", mid, analysis),
            "stored_at": utcnow(),
        }

    def _open(self, row: MailMessageRow) -> StoredMessage:
        recipients = self._seal.open_json("recipients", row.id, row.recipients)
        labels = [str(label) for label in json.loads(row.label_ids)]
        account = row.account
        subject, sender = self._seal.open("subject", row.id, row.subject), self._seal.open("sender", row.id, row.sender)
        to, cc = str(recipients.get("to", "")), str(recipients.get("cc", ""))
        body = self._seal.open("body", row.id, row.body)
        by_owner = _sent_by_owner(account, labels, row.principal)
        if row.analysis is None:  # stored before mail analysis: analysed now, by the same rules
            rules = _analysis(sender, to, cc, subject, body, by_owner)
        else:
            rules = self._seal.open_json("analysis", row.id, row.analysis)
        by_model = (
            None if row.model_analysis is None else self._seal.open_json("model_analysis", row.id, row.model_analysis)
        )
        analysis = final(rules, row.model_state, by_model)
        return StoredMessage(
            id=row.id,
            thread_id=row.thread_id,
            label_ids=labels,
            internal_date=row.internal_date,
            principal=row.principal,
            subject=subject,
            sender=sender,
            to=to,
            cc=cc,
            snippet=self._seal.open("snippet", row.id, row.snippet),
            body=body,
            analysis=analysis,
            sent_by_owner=by_owner,
        )

    async def history_id(self, account: str) -> str | None:
        async with self._db.transaction() as s:
            return await s.scalar(select(MailAccountRow.history_id).where(MailAccountRow.account == account))

    async def account(self) -> str | None:
        """The synced mailbox's own address, when it has been synced."""
        async with self._db.transaction() as s:
            return await s.scalar(select(MailAccountRow.account).limit(1))

    async def forget(self, audit: AuditLog, event: AuditEvent) -> int:
        """Delete every stored message and sync state (Gmail was disconnected), audited in the same transaction."""
        async with self._db.transaction() as s:
            gone = int(getattr(await s.execute(delete(MailMessageRow)), "rowcount", 0) or 0)
            await s.execute(delete(MailAccountRow))
            await audit.append(s, event)
        return gone

    async def save(self, account: str, messages: Iterable[Message]) -> None:
        """Upsert fetched messages (search and thread reads), outside any sync."""
        rows = [self._row(account, m) for m in messages]
        async with self._db.transaction() as s:
            await upsert(s, _MESSAGES, rows, "id")

    async def apply_sync(
        self,
        account: str,
        changes: Changes,
        *,
        history_id: str,
        full: bool,
        audit: AuditLog,
        event: AuditEvent,
    ) -> int:
        """Write one sync and its new history id atomically; returns how many labels rows changed."""
        rows = [self._row(account, m) for m in changes.messages.values()]
        now = utcnow()
        async with self._db.transaction() as s:
            await upsert(s, _MESSAGES, rows, "id")
            if changes.deleted:
                await s.execute(delete(MailMessageRow).where(MailMessageRow.id.in_(sorted(changes.deleted))))
            relabelled = await self._relabel(s, changes.labels)
            state = {"account": account, "history_id": history_id, "synced_at": now}
            if full:
                state["full_synced_at"] = now
            await upsert(s, table_of(MailAccountRow), [state], "account")
            await audit.append(s, event)
        return relabelled

    async def _relabel(self, s: AsyncSession, edits: Mapping[str, Sequence[tuple[str, tuple[str, ...]]]]) -> int:
        if not edits:
            return 0
        found = await s.execute(
            select(MailMessageRow.id, MailMessageRow.label_ids).where(MailMessageRow.id.in_(sorted(edits)))
        )
        changed = 0
        for mid, raw in found.all():
            labels = list(json.loads(raw))
            for kind, ids in edits[mid]:
                if kind == "add":
                    labels += [i for i in ids if i not in labels]
                else:
                    labels = [i for i in labels if i not in ids]
            await s.execute(update(MailMessageRow).where(MailMessageRow.id == mid).values(label_ids=json.dumps(labels)))
            changed += 1
        return changed

    async def thread(self, thread_id: str) -> list[StoredMessage]:
        async with self._db.transaction() as s:
            rows = (
                await s.scalars(
                    select(MailMessageRow)
                    .where(MailMessageRow.thread_id == thread_id)
                    .order_by(MailMessageRow.internal_date, MailMessageRow.id)
                )
            ).all()
        return [self._open(r) for r in rows]

    async def recent(self, since: datetime, limit: int) -> list[StoredMessage]:
        """Stored messages received since ``since``, newest first."""
        after = int(since.timestamp() * 1000)
        query = select(MailMessageRow).where(MailMessageRow.internal_date >= after)
        async with self._db.transaction() as s:
            rows = (
                await s.scalars(query.order_by(MailMessageRow.internal_date.desc(), MailMessageRow.id).limit(limit))
            ).all()
        return [self._open(r) for r in rows]

    async def pending(self, since: datetime, limit: int) -> list[StoredMessage]:
        """Messages received since ``since`` that the model has not been asked about, newest first."""
        after = int(since.timestamp() * 1000)
        query = select(MailMessageRow).where(
            MailMessageRow.internal_date >= after, MailMessageRow.model_state.is_(None)
        )
        async with self._db.transaction() as s:
            rows = (
                await s.scalars(query.order_by(MailMessageRow.internal_date.desc(), MailMessageRow.id).limit(limit))
            ).all()
        return [self._open(r) for r in rows]

    async def record(
        self, analysed: Mapping[str, Analysis], fell_back: Mapping[str, str], audit: AuditLog, event: AuditEvent
    ) -> int:
        """Store the model's results (and its fallbacks) with their audit row, in one transaction."""
        async with self._db.transaction() as s:
            found = await write_results(s, MailMessageRow, self._seal, analysed, fell_back)
            await audit.append(s, event)
        return found

    async def get(self, ids: Sequence[str]) -> list[StoredMessage]:
        """Stored messages with these ids, in the order given (missing ids are skipped)."""
        async with self._db.transaction() as s:
            rows = (await s.scalars(select(MailMessageRow).where(MailMessageRow.id.in_(list(ids))))).all()
        by_id = {r.id: self._open(r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]
