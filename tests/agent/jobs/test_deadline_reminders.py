"""Deadline reminders: each deadline inside the lead time (default 24 h) is notified once, even across
restarts; submitted work and deadlines further out are not; a moved deadline is reminded again."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from agent.jobs.deadlines import DEFAULT_LEAD_HOURS, KIND, deadline_reminder_handler
from agent.jobs.engine import JobContext
from agent.jobs.ports import JobSkipped
from agent.jobs.schedule import load_schedule
from agent.notifications import DbNotifier
from integrations.merged import merge
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)


def _ctx(now: datetime) -> JobContext:
    spec = load_schedule("UTC").jobs["deadline_reminders"]
    return JobContext("deadline_reminders", "run-1", now, 1, now, spec.trigger.timezone, spec, None)


def _item(source: str, item_id: str, name: str, due: datetime, status: str = "not submitted") -> dict[str, Any]:
    return {
        "id": item_id,
        "name": name,
        "course": "CS 260",
        "due_at": due.isoformat(),
        "due": due.strftime("%a %H:%M"),
        "status": status,
        "source": source,
    }


class Sources:
    """Two sources' answers, merged the way the core merges them."""

    def __init__(self, *parts: tuple[str, list[dict[str, Any]]]) -> None:
        self.parts = list(parts)
        self.asked: list[tuple[date, date]] = []

    async def deadlines(self, start: date, end: date) -> list[Mapping[str, Any]] | None:
        self.asked.append((start, end))
        merged = merge("assignments", [(t, {"assignments": items}) for t, items in self.parts], sort_key="due_at")
        return list(merged["assignments"])


def _cipher() -> FieldCipher:
    return FieldCipher(Keyring([DataKey(f"conversation.{p}.v1", os.urandom(32), ACTIVE) for p in ("enc", "idx")]))


def test_the_job_runs_every_half_hour_by_default_with_a_24_hour_lead() -> None:
    spec = load_schedule("UTC").jobs["deadline_reminders"]
    assert spec.enabled and spec.when.startswith("every 30m") and DEFAULT_LEAD_HOURS == 24.0


async def test_each_deadline_is_reminded_once_even_after_a_restart(db: Database) -> None:
    sources = Sources(
        (
            "Canvas",
            [
                _item("Canvas", "501", "Lab 7", NOW + timedelta(hours=5)),
                _item("Canvas", "502", "Essay", NOW + timedelta(hours=30)),
            ],
        ),
        (
            "Pearson Mastering",
            [
                _item("Pearson Mastering", "4410021", "Chapter 14", NOW + timedelta(hours=23)),
                _item("Pearson Mastering", "4410020", "Chapter 13", NOW + timedelta(hours=2), status="submitted"),
            ],
        ),
    )
    cipher = _cipher()
    first = DbNotifier(db, cipher)
    out = await deadline_reminder_handler(sources, first, first, lead_hours=24)(_ctx(NOW))
    assert out == {"due_soon": 2, "notified": 2, "lead_hours": 24}
    notes = [n for _, n in await first.recent()]
    assert sorted(n.title for n in notes) == ["Due in 23 hours: Chapter 14", "Due in 5 hours: Lab 7"]
    assert all(n.kind == KIND and n.ref for n in notes)
    restarted = DbNotifier(db, cipher)  # a new process: same database
    later = NOW + timedelta(minutes=30)
    again = await deadline_reminder_handler(sources, restarted, restarted, lead_hours=24)(_ctx(later))
    assert again == {"due_soon": 2, "notified": 0, "lead_hours": 24}
    assert len(await restarted.recent()) == 2
    assert sources.asked[0] == (NOW.date(), (NOW + timedelta(hours=24)).date() + timedelta(days=1))


async def test_a_moved_deadline_is_reminded_again_and_the_lead_is_configurable(db: Database) -> None:
    notifier = DbNotifier(db, _cipher())
    lab = _item("Canvas", "501", "Lab 7", NOW + timedelta(hours=5))
    sources = Sources(("Canvas", [lab]))
    await deadline_reminder_handler(sources, notifier, notifier, lead_hours=24)(_ctx(NOW))
    sources.parts = [("Canvas", [{**lab, "due_at": (NOW + timedelta(hours=8)).isoformat()}])]
    out = await deadline_reminder_handler(sources, notifier, notifier, lead_hours=24)(_ctx(NOW))
    assert out["notified"] == 1 and len(await notifier.recent()) == 2
    short = await deadline_reminder_handler(
        Sources(("Canvas", [_item("Canvas", "9", "Quiz", NOW + timedelta(hours=3))])), notifier, notifier, lead_hours=2
    )(_ctx(NOW))
    assert short == {"due_soon": 0, "notified": 0, "lead_hours": 2}


async def test_without_a_deadline_source_the_job_is_skipped_not_silent_success(db: Database) -> None:
    notifier = DbNotifier(db, _cipher())
    with pytest.raises(JobSkipped):
        await deadline_reminder_handler(None, notifier, notifier, lead_hours=24)(_ctx(NOW))
