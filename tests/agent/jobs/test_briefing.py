"""daily_briefing and weekly_digest: structured sections, prose within budget, encrypted at rest,
delivered as a notification; the cost guard for an idle owner."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from agent.jobs.briefing import BriefingStore, Section
from agent.jobs.handlers import default_handlers
from agent.jobs.ports import SyncRunner
from agent.jobs.schedule import JobBudget, Schedule
from agent.model import Message, ModelPort, ModelReply, ScriptedModel, ScriptedStep, TextSink, ToolSpec, Usage
from storage.db import Database
from tests.agent.jobs.conftest import Rig, make_cipher
from tests.agent.jobs.seed import SEED_JOBS

pytestmark = pytest.mark.anyio

SLOT = datetime(2026, 3, 3, 11, tzinfo=UTC)  # 06:00 in New York
SUBJECT = "Offer letter from Globex - please sign"


@dataclass
class Sources:
    """The sections the installed integrations' views would give (the views themselves are tested in
    tests/integrations and tests/agent/test_job_wiring.py)."""

    calendar_on: bool = True
    mail_on: bool = True
    money_on: bool = True
    broken: bool = False

    async def sections(self, kind: str, start: date, end: date) -> list[Section]:
        if kind == "weekly":
            assert (start, end) == (date(2026, 3, 2), date(2026, 3, 8))
            return [
                Section("productivity", "Productivity", "not connected"),
                Section("email", "Email", "ok", ["important: 9", "received: 212", "replied: 31"], {"received": 212}),
                Section("finance", "Finance", "ok", ["spent: 812.40"], {"spent": "812.40", "income": "0"})
                if self.money_on
                else Section("finance", "Finance", "not connected"),
            ]
        assert start == end == date(2026, 3, 3)
        out = [
            Section("calendar", "Today's calendar", "ok", ["09:00 Standup", "10:00 Dentist (Main St)"])
            if self.calendar_on
            else Section("calendar", "Today's calendar", "not connected")
        ]
        if self.broken:
            out.append(Section("mail", "Important unread mail", "unavailable"))
        elif self.mail_on:
            out.append(Section("mail", "Important unread mail", "ok", [f"hr@globex.example: {SUBJECT}"]))
        else:
            out.append(Section("mail", "Important unread mail", "not connected"))
        if self.money_on:
            out.append(Section("balances", "Balances", "ok", ["Checking: 1,520.10 USD", "Total: 9,520.10 USD"]))
            rent = ["2026-03-02 Rent: -2,100.00 USD"]
            out.append(Section("transactions", "Notable transactions", "ok", rent, {"notable": 1}))
        return out


class NoSync:
    async def sync(self, integration: str, job_token: str, job_id: str) -> dict[str, object]:
        raise AssertionError("no sync expected")


class NoTokens:
    async def for_job(self, job_id: str, integration: str) -> str:
        raise AssertionError("no token expected")


def wire(
    rig: Rig, db: Database, model: ModelPort | None, sources: Sources | None = None, runner: SyncRunner | None = None
) -> tuple[BriefingStore, Sources]:
    src = sources or Sources()
    store = BriefingStore(db, make_cipher())
    rig.handlers = default_handlers(
        runner=runner or NoSync(),
        tokens=NoTokens(),
        briefing_sources=src,
        digest_sources=src,
        store=store,
        notifier=rig.notifier,
        model=model,
        jobs=SEED_JOBS,
    )
    return store, src


async def brief(rig: Rig, job: str = "daily_briefing", slot: datetime = SLOT) -> dict[str, object]:
    engine = rig.engine()
    rig.clock.now = slot + timedelta(minutes=1)
    await engine.fire(job, [slot])
    [run] = (await engine.runs(job_id=job)).items
    assert run.outcome == "ok", run.error
    return run.summary


async def test_the_briefing_has_structured_sections_and_model_prose(rig: Rig, db: Database) -> None:
    rig.activity.seen = SLOT - timedelta(hours=10)
    model = ScriptedModel([ScriptedStep(text="A dentist visit and a rent payment. Sign the Globex offer.")])
    store, _ = wire(rig, db, model)
    summary = await brief(rig)
    assert summary["prose"] == "written" and summary["sections"] == 4 and summary["not_connected"] == ""
    assert summary["notified"] is True and summary["tokens"] == 120
    doc = await store.get(str(summary["briefing_id"]))
    assert doc is not None and doc.kind == "daily" and doc.for_date == date(2026, 3, 3)
    assert doc.prose == "A dentist visit and a rent payment. Sign the Globex offer."
    sections = {s.key: s for s in doc.sections}
    assert sections["calendar"].lines == ["09:00 Standup", "10:00 Dentist (Main St)"]  # local time, in order
    assert sections["balances"].lines[-1] == "Total: 9,520.10 USD"
    assert sections["transactions"].facts == {"notable": 1}
    assert sections["mail"].lines == [f"hr@globex.example: {SUBJECT}"]
    [request] = model.requests
    assert "untrusted" in request["system"] and SUBJECT in request["messages"][0]["content"]
    assert request["tools"] == []
    [note] = rig.notifier.sent
    assert note.kind == "briefing" and note.ref == summary["briefing_id"] and "Sign the Globex offer" in note.body
    assert (await rig.ledger.spent(SLOT.date()))[0] == 120  # the spend lands in the shared daily ledger


async def test_without_a_model_the_briefing_has_the_structured_sections_only(rig: Rig, db: Database) -> None:
    store, _ = wire(rig, db, None, Sources(calendar_on=False, broken=True))
    summary = await brief(rig)
    assert summary["prose"] == "none" and summary["not_connected"] == "calendar,mail"
    doc = await store.get(str(summary["briefing_id"]))
    assert doc is not None and doc.prose is None
    assert {s.key: s.status for s in doc.sections} == {
        "calendar": "not connected",
        "mail": "unavailable",
        "balances": "ok",
        "transactions": "ok",
    }
    assert doc.notes == ["no model configured: structured sections only"]
    body = rig.notifier.sent[0].body
    assert "Not included: Today's calendar (not connected), Important unread mail (unavailable)" in body
    assert "Rent: -2,100.00 USD" in body


async def test_the_briefing_is_stored_encrypted(rig: Rig, db: Database) -> None:
    rig.activity.seen = SLOT
    store, _ = wire(rig, db, ScriptedModel([ScriptedStep(text="Quiet morning ahead of the Globex signing.")]))
    summary = await brief(rig)
    async with db.engine.connect() as conn:
        raw = (await conn.execute(text("SELECT content FROM briefings"))).scalar_one()
    blob = bytes(raw)
    for plain in (b"Globex", b"Dentist", b"1,520.10", b"Quiet morning"):
        assert plain not in blob
    doc = await store.get(str(summary["briefing_id"]))
    assert doc is not None and doc.prose == "Quiet morning ahead of the Globex signing."
    assert [(b.kind, b.for_date) for b in await store.recent(kind="daily")] == [("daily", date(2026, 3, 3))]
    assert await store.get("no-such-briefing") is None


async def test_an_idle_owner_gets_no_model_spend(rig: Rig, db: Database) -> None:
    rig.activity.seen = SLOT - timedelta(days=4)  # idle_after_days is 3
    model = ScriptedModel([ScriptedStep(text="should not be written")])
    store, _ = wire(rig, db, model)
    summary = await brief(rig)
    assert model.requests == [] and summary["prose"] == "skipped"
    doc = await store.get(str(summary["briefing_id"]))
    assert doc is not None and doc.notes == ["prose skipped: the owner has been away since 2026-02-27"]
    assert await rig.ledger.spent(SLOT.date()) == (0, 0.0)


async def test_the_per_job_budget_is_never_exceeded(rig: Rig, db: Database) -> None:
    rig.activity.seen = SLOT
    jobs = dict(rig.schedule.jobs)
    jobs["daily_briefing"] = replace(jobs["daily_briefing"], budget=JobBudget(tokens=300, cost_usd=0.10))
    rig.schedule = Schedule(rig.schedule.timezone, jobs, rig.schedule.idle_after)
    model = ScriptedModel([ScriptedStep(text="too long")])
    store, _ = wire(rig, db, model)
    summary = await brief(rig)
    assert model.requests == [] and summary["prose"] == "skipped"
    doc = await store.get(str(summary["briefing_id"]))
    assert doc is not None and "too small for this morning briefing" in doc.notes[0]


async def test_a_reply_that_overruns_the_budget_is_discarded(rig: Rig, db: Database) -> None:
    rig.activity.seen = SLOT
    model = ScriptedModel([ScriptedStep(text="expensive prose", usage=Usage(1000, 30_000))])
    store, _ = wire(rig, db, model)
    summary = await brief(rig)
    assert len(model.requests) == 1 and summary["prose"] == "skipped"
    doc = await store.get(str(summary["briefing_id"]))
    assert doc is not None and doc.prose is None and doc.notes[0].startswith("prose discarded: this turn used")
    assert (await rig.ledger.spent(SLOT.date()))[0] == 31_000  # what was spent is still counted


async def test_max_tokens_asked_of_the_model_fits_the_cost_cap(rig: Rig, db: Database) -> None:
    rig.activity.seen = SLOT
    seen: list[int] = []

    class Measuring(ScriptedModel):
        async def complete(
            self,
            *,
            system: str,
            messages: Sequence[Message],
            tools: Sequence[ToolSpec],
            max_tokens: int,
            on_text: TextSink | None = None,
        ) -> ModelReply:
            seen.append(max_tokens)
            return await super().complete(system=system, messages=messages, tools=tools, max_tokens=max_tokens)

    wire(rig, db, Measuring([ScriptedStep(text="ok")]))
    await brief(rig)
    [max_tokens] = seen
    assert 64 <= max_tokens <= 4096
    assert max_tokens * 15 / 1_000_000 <= 0.10  # output at $15/M never passes the job's $0.10


async def test_the_daily_cap_stops_the_prose_but_not_the_briefing(rig: Rig, db: Database) -> None:
    rig.activity.seen = SLOT
    await rig.ledger.add(SLOT.date(), 5_000_000, 50.0)
    model = ScriptedModel([ScriptedStep(text="never")])
    store, _ = wire(rig, db, model)
    summary = await brief(rig)
    assert model.requests == []
    doc = await store.get(str(summary["briefing_id"]))
    assert doc is not None and doc.notes[0].startswith("prose skipped: today's model budget is used up")


async def test_the_weekly_digest_is_built_the_same_way(rig: Rig, db: Database) -> None:
    sunday = datetime(2026, 3, 9, 0, tzinfo=UTC)  # Sunday 8 March, 20:00 EDT
    rig.activity.seen = sunday - timedelta(days=2)
    model = ScriptedModel([ScriptedStep(text="A busy week in the inbox.")])
    store, _ = wire(rig, db, model)
    summary = await brief(rig, "weekly_digest", sunday)
    doc = await store.get(str(summary["briefing_id"]))
    assert doc is not None and doc.kind == "weekly" and doc.for_date == date(2026, 3, 8)
    sections = {s.key: s for s in doc.sections}
    assert sections["productivity"].status == "not connected"
    assert sections["email"].lines == ["important: 9", "received: 212", "replied: 31"]
    assert sections["finance"].facts == {"spent": "812.40", "income": "0"}
    assert doc.prose == "A busy week in the inbox." and rig.notifier.sent[0].kind == "digest"


async def test_sync_jobs_run_under_a_job_token_and_keep_only_counts(rig: Rig, db: Database) -> None:
    calls: list[tuple[str, str]] = []

    class Runner:
        async def sync(self, integration: str, job_token: str, job_id: str) -> dict[str, object]:
            calls.append((integration, job_token))
            return {"new": 12, "updated": 3, "subject": "private text", "full": True}

    class Tokens:
        async def for_job(self, job_id: str, integration: str) -> str:
            return f"tok-{job_id}-{integration}"

    store = BriefingStore(db, make_cipher())
    src = Sources()
    handlers = default_handlers(
        runner=Runner(),
        tokens=Tokens(),
        briefing_sources=src,
        digest_sources=src,
        store=store,
        notifier=rig.notifier,
        model=None,
        jobs=SEED_JOBS,
    )
    engine = rig.engine(handlers)
    assert await engine.execute(await engine.run_now("sync_emails")) == "ok"
    [run] = (await engine.runs(job_id="sync_emails")).items
    assert calls == [("mail", "tok-sync_emails-mail")]
    assert run.summary == {"integration": "mail", "new": 12, "updated": 3, "full": True}
