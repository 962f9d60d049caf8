"""The drafts and the owner's content settings, encrypted at rest (:mod:`storage.models.content`).

Every status change is conditional on the status the caller read (:meth:`DraftStore.save` with
``expect``), so two writers (the owner's approval and the expiry, say) cannot both win: a draft is
published, expired or rejected once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import or_, select, update

from agent.content.ports import (
    ContentSettings,
    DraftCheck,
    DraftSource,
    DraftStatus,
    DraftView,
    EngagementPoint,
)
from agent.gateway.labels import Label
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.base import utcnow
from storage.models.content import ENCRYPTED, ContentDraftRow, ContentSettingsRow

DOMAIN = "conversation"
_BODY, _SETTINGS = ENCRYPTED
OWNER = "owner"
OPEN: tuple[DraftStatus, ...] = ("ready", "held", "awaiting_approval")


@dataclass(frozen=True)
class Draft:
    """A draft as the engine keeps it: the owner's view plus the labels of what it was drawn from."""

    view: DraftView
    labels: tuple[Label, ...] = ()  # the inputs' labels: the gateway's refusal and the publish context
    origin: str = "model"  # "model" or "demo"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.view.id

    def with_view(self, **changes: Any) -> Draft:
        return replace(self, view=replace(self.view, **changes))


def _body(d: Draft) -> str:
    v = d.view
    return json.dumps(
        {
            "network": v.network,
            "text": v.text,
            "limit": v.limit,
            "sources": [asdict(s) for s in v.sources],
            "checks": [asdict(c) for c in v.checks],
            "refusal": v.refusal,
            "edited": v.edited,
            "url": v.url,
            "engagement": [{"at": p.at.isoformat(), "metrics": dict(p.metrics)} for p in v.engagement],
            "labels": [lab.to_dict() for lab in d.labels],
            "origin": d.origin,
            "extra": dict(d.extra),
        },
        ensure_ascii=False,
    )


def _draft(row: ContentDraftRow, raw: str) -> Draft:
    b = json.loads(raw)
    view = DraftView(
        id=row.id,
        integration=row.integration,
        network=b["network"],
        day=date.fromisoformat(row.day),
        status=cast(DraftStatus, row.status),
        text=b["text"],
        created_at=row.created_at,
        expires_at=row.expires_at,
        limit=int(b["limit"]),
        sources=tuple(DraftSource(**s) for s in b["sources"]),
        checks=tuple(DraftCheck(**c) for c in b["checks"]),
        refusal=b["refusal"],
        edited=bool(b["edited"]),
        approval_id=row.approval_id,
        post_id=row.post_id,
        url=b["url"],
        published_at=row.published_at,
        engagement=tuple(
            EngagementPoint(datetime.fromisoformat(p["at"]), {k: int(n) for k, n in p["metrics"].items()})
            for p in b["engagement"]
        ),
    )
    labels = tuple(Label.from_dict(x) for x in b["labels"])
    return Draft(view, labels, str(b.get("origin", "model")), dict(b.get("extra") or {}))


def _settings_json(s: ContentSettings) -> str:
    return json.dumps(
        {
            "themes": list(s.themes),
            "voice": s.voice,
            "allowed_links": list(s.allowed_links),
            "paused": list(s.paused),
            "extra": dict(s.extra),
        },
        ensure_ascii=False,
    )


class DraftStore:
    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher

    def _open(self, row: ContentDraftRow) -> Draft:
        return _draft(row, self._cipher.decrypt_text(DOMAIN, _BODY.context({"id": row.id}), row.body))

    def _seal(self, d: Draft) -> bytes:
        return self._cipher.encrypt_text(DOMAIN, _BODY.context({"id": d.id}), _body(d))

    async def add(self, d: Draft) -> Draft:
        v = d.view
        async with self._db.transaction() as s:
            s.add(
                ContentDraftRow(
                    id=v.id,
                    integration=v.integration,
                    day=v.day.isoformat(),
                    status=v.status,
                    created_at=v.created_at,
                    updated_at=v.created_at,
                    expires_at=v.expires_at,
                    approval_id=v.approval_id,
                    post_id=v.post_id,
                    published_at=v.published_at,
                    body=self._seal(d),
                )
            )
        return d

    async def save(self, d: Draft, *, expect: DraftStatus | None = None) -> bool:
        """Write the draft; with ``expect``, only if its stored status still is that one."""
        v = d.view
        q = update(ContentDraftRow).where(ContentDraftRow.id == v.id)
        if expect is not None:
            q = q.where(ContentDraftRow.status == expect)
        values = {
            "status": v.status,
            "updated_at": utcnow(),
            "approval_id": v.approval_id,
            "post_id": v.post_id,
            "published_at": v.published_at,
            "body": self._seal(d),
        }
        async with self._db.transaction() as s:
            done = await s.execute(q.values(**values))
        return bool(done.rowcount)  # type: ignore[attr-defined]

    async def get(self, draft_id: str) -> Draft | None:
        async with self._db.transaction() as s:
            row = await s.get(ContentDraftRow, draft_id)
        return None if row is None else self._open(row)

    async def by_approval(self, approval_id: str) -> Draft | None:
        q = select(ContentDraftRow).where(ContentDraftRow.approval_id == approval_id)
        async with self._db.transaction() as s:
            row = (await s.scalars(q)).first()
        return None if row is None else self._open(row)

    async def listing(self, since: date) -> list[Draft]:
        """Every draft whose slot is ``since`` or later, and every open one, newest slot first."""
        q = select(ContentDraftRow).where(
            or_(ContentDraftRow.day >= since.isoformat(), ContentDraftRow.status.in_(OPEN))
        )
        async with self._db.transaction() as s:
            rows = (await s.scalars(q.order_by(ContentDraftRow.day.desc(), ContentDraftRow.created_at))).all()
        return [self._open(r) for r in rows]

    async def published_since(self, since: datetime) -> list[Draft]:
        q = select(ContentDraftRow).where(ContentDraftRow.status == "published", ContentDraftRow.published_at >= since)
        async with self._db.transaction() as s:
            rows = (await s.scalars(q.order_by(ContentDraftRow.published_at))).all()
        return [self._open(r) for r in rows]

    async def has_slot(self, integration: str, day: date) -> bool:
        q = select(ContentDraftRow.id).where(
            ContentDraftRow.integration == integration, ContentDraftRow.day == day.isoformat()
        )
        async with self._db.transaction() as s:
            return (await s.scalars(q.limit(1))).first() is not None

    async def settings(self) -> ContentSettings:
        async with self._db.transaction() as s:
            row = await s.get(ContentSettingsRow, OWNER)
        if row is None:
            return ContentSettings()
        b = json.loads(self._cipher.decrypt_text(DOMAIN, _SETTINGS.context({"id": OWNER}), row.body))
        return ContentSettings(
            tuple(b["themes"]), b["voice"], tuple(b["allowed_links"]), tuple(b["paused"]), dict(b["extra"])
        )

    async def save_settings(self, values: ContentSettings) -> ContentSettings:
        blob = self._cipher.encrypt_text(DOMAIN, _SETTINGS.context({"id": OWNER}), _settings_json(values))
        async with self._db.transaction() as s:
            row = await s.get(ContentSettingsRow, OWNER)
            if row is None:
                s.add(ContentSettingsRow(id=OWNER, body=blob, updated_at=utcnow()))
            else:
                row.body, row.updated_at = blob, utcnow()
        return values


def past_of(drafts: Sequence[Draft]) -> list[tuple[str, str, str]]:
    """(id, text, how the owner knows it) of drafts another draft must not repeat."""
    keep = ("ready", "held", "awaiting_approval", "published")
    return [
        (d.id, d.view.text, f"your {'post' if d.view.status == 'published' else 'draft'} for {d.view.day.isoformat()}")
        for d in drafts
        if d.view.status in keep and d.view.text
    ]
