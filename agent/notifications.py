"""Notifications for the owner, kept encrypted in the database so they survive a restart.

A notification's title and body can hold personal data (a briefing's headline, who an email would go
to), so both are stored as one encrypted blob; ``kind``, ``ref`` (what it links to) and the time are
plain. The console lists them and turns ``ref`` into a link: an approval notification opens the
approval's card directly (``/approvals/{id}``), which is the link a phone notification carries.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from agent.gateway.render import neutralise_remote
from agent.jobs.ports import Notification
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.base import utcnow
from storage.models.jobs import ENCRYPTED, NotificationRow

if TYPE_CHECKING:
    from agent.mail import MailSender
    from agent.push import PushSender

_APPROVAL_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
# An integration's own console page (a delivered grocery list): only this shape, never an outside link.
_PAGE = re.compile(r"/integrations/[a-z][a-z0-9_]{1,31}/pages/[a-z][a-z0-9_]{1,31}(\?id=[A-Za-z0-9_.:-]{1,64})?")
DOMAIN = "conversation"
_CONTENT = ENCRYPTED[1]
MAX_LIST = 200


def console_path(note: Notification) -> str | None:
    """The console page a notification opens, if it names one with a well-formed id."""
    if note.kind == "approval" and note.ref and _APPROVAL_ID.fullmatch(note.ref):
        return f"/approvals/{note.ref}"
    if note.kind == "delivery" and note.ref and _PAGE.fullmatch(note.ref):
        return note.ref
    if note.kind in ("briefing", "digest") and note.ref:
        try:
            return f"/briefings/{uuid.UUID(note.ref)}"
        except ValueError:
            return None
    return None


class DbNotifier:
    """Stores every notification; with a :class:`PushSender`, also pushes it to the owner's phone;
    with a :class:`~agent.mail.MailSender`, mails a delivery to the owner."""

    def __init__(
        self, db: Database, cipher: FieldCipher, push: PushSender | None = None, mail: MailSender | None = None
    ) -> None:
        self._db = db
        self._cipher = cipher
        self._push = push
        self._mail = mail

    async def notify(self, note: Notification) -> None:
        note = Notification(
            note.kind, neutralise_remote(note.title).text, neutralise_remote(note.body).text, ref=note.ref
        )
        nid = str(uuid.uuid4())
        blob = self._cipher.encrypt_text(
            DOMAIN, _CONTENT.context({"id": nid}), json.dumps({"title": note.title, "body": note.body})
        )
        async with self._db.transaction() as s:
            s.add(NotificationRow(id=nid, kind=note.kind[:16], ref=note.ref, content=blob, created_at=utcnow()))
        if self._push is not None:
            await self._push.send(note)
        if self._mail is not None:
            await self._mail.send(note)

    async def sent(self, kind: str, ref: str) -> bool:
        """Whether a notification of ``kind`` with ``ref`` was ever stored (reminders fire once)."""
        q = select(NotificationRow.id).where(NotificationRow.kind == kind[:16], NotificationRow.ref == ref)
        async with self._db.read() as s:
            return (await s.scalar(q.limit(1))) is not None

    async def recent(self, limit: int = 20) -> list[tuple[datetime, Notification]]:
        """Newest first."""
        q = select(NotificationRow).order_by(NotificationRow.created_at.desc(), NotificationRow.id)
        async with self._db.read() as s:
            rows = (await s.scalars(q.limit(min(max(limit, 1), MAX_LIST)))).all()
        out = []
        for row in rows:
            doc = json.loads(self._cipher.decrypt_text(DOMAIN, _CONTENT.context({"id": row.id}), row.content))
            out.append((row.created_at, Notification(row.kind, str(doc["title"]), str(doc["body"]), row.ref)))
        return out
