"""What each job does. A handler gets a :class:`JobContext`, returns a small summary for the run
history, raises :class:`JobSkipped` to skip with a reason or :class:`JobError` to fail (then retry)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TypeVar

from agent.jobs.briefing import (
    BriefingDoc,
    BriefingSources,
    BriefingStore,
    DigestSources,
    Figures,
    Section,
    write_prose,
)
from agent.jobs.engine import Handler, JobContext
from agent.jobs.ports import JobSkipped, Notification, Notifier, SyncRunner, TokenSource, not_connected, small_summary
from agent.jobs.rotation import RotationSource, rotation_reminder_handler
from agent.jobs.schedule import CATALOGUE
from agent.model import ModelPort

T = TypeVar("T")
MAX_ITEMS = 10


def sync_handler(integration: str, runner: SyncRunner, tokens: TokenSource) -> Handler:
    """Call the integration's sync tool through the gateway under a job-scoped token."""

    async def run(ctx: JobContext) -> dict[str, object]:
        token = await tokens.for_job(ctx.job_id, integration)
        result = await runner.sync(integration, token)
        return {"integration": integration, **small_summary(result)}

    return run


def unavailable_handler(integration: str) -> Handler:
    """For jobs whose integration Aegis does not have yet: skipped, visibly, never pretended."""

    async def run(ctx: JobContext) -> dict[str, object]:
        raise JobSkipped(not_connected(integration, "no such integration in this version of Aegis"))

    return run


async def _section(key: str, title: str, fetch: Callable[[], Awaitable[T | None]]) -> tuple[Section, T | None]:
    try:
        data = await fetch()
    except Exception:  # noqa: BLE001 - one broken source must not sink the whole briefing
        return Section(key, title, "unavailable"), None
    return (Section(key, title, "not connected"), None) if data is None else (Section(key, title, "ok"), data)


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


async def _daily_sections(ctx: JobContext, src: BriefingSources) -> list[Section]:
    tz, day = ctx.timezone, ctx.scheduled_for.astimezone(ctx.timezone).date()
    out: list[Section] = []
    sec, events = await _section("calendar", "Today's calendar", lambda: src.calendar(day))
    if events is not None:
        ordered = sorted(events, key=lambda e: e.start)[:MAX_ITEMS]
        lines = [
            f"{e.start.astimezone(tz):%H:%M} {e.title}" + (f" ({e.location})" if e.location else "") for e in ordered
        ]
        sec = Section(sec.key, sec.title, "ok", lines, {"events": len(events)})
    out.append(sec)
    sec, mail = await _section("mail", "Important unread mail", src.important_unread)
    if mail is not None:
        lines = [f"{m.sender}: {m.subject}" for m in sorted(mail, key=lambda m: m.received_at, reverse=True)][
            :MAX_ITEMS
        ]
        sec = Section(sec.key, sec.title, "ok", lines, {"important_unread": len(mail)})
    out.append(sec)
    sec, balances = await _section("balances", "Balances", src.balances)
    if balances is not None:
        totals: dict[str, Decimal] = {}
        for b in balances:
            totals[b.currency] = totals.get(b.currency, Decimal(0)) + b.amount
        lines = [f"{b.account}: {_money(b.amount, b.currency)}" for b in balances][:MAX_ITEMS]
        lines += [f"Total: {_money(v, c)}" for c, v in sorted(totals.items())]
        sec = Section(
            sec.key,
            sec.title,
            "ok",
            lines,
            {"accounts": len(balances), "totals": {c: str(v) for c, v in totals.items()}},
        )
    out.append(sec)
    since = ctx.scheduled_for - timedelta(days=1)
    sec, txs = await _section("transactions", "Notable transactions", lambda: src.notable_transactions(since))
    if txs is not None:
        ordered_tx = sorted(txs, key=lambda t: abs(t.amount), reverse=True)[:MAX_ITEMS]
        lines = [f"{t.on.isoformat()} {t.description}: {_money(t.amount, t.currency)}" for t in ordered_tx]
        sec = Section(sec.key, sec.title, "ok", lines, {"notable": len(txs)})
    out.append(sec)
    return out


def _figures(key: str, title: str, figures: Figures) -> Section:
    lines = [f"{k.replace('_', ' ')}: {v}" for k, v in sorted(figures.items())]
    return Section(key, title, "ok", lines, {k: str(v) if isinstance(v, Decimal) else v for k, v in figures.items()})


async def _weekly_sections(ctx: JobContext, src: DigestSources) -> list[Section]:
    end = ctx.scheduled_for.astimezone(ctx.timezone).date()
    start = end - timedelta(days=6)
    out: list[Section] = []
    for key, title, fetch in (
        ("productivity", "Productivity", src.productivity),
        ("email", "Email", src.email),
        ("finance", "Finance", src.finance),
    ):
        sec, figures = await _section(key, title, partial(fetch, start, end))
        out.append(sec if figures is None else _figures(key, title, figures))
    return out


async def _produce(
    ctx: JobContext,
    doc: BriefingDoc,
    *,
    what: str,
    model: ModelPort | None,
    store: BriefingStore,
    notifier: Notifier,
    kind: str,
) -> dict[str, object]:
    notes: list[str] = []
    prose_state = "none"
    if model is None:
        notes.append("no model configured: structured sections only")
    elif ctx.budget is None:
        notes.append(f"prose skipped: {ctx.model_note}")
        prose_state = "skipped"
    elif any(s.status == "ok" for s in doc.sections):
        prose = await write_prose(model, ctx.budget, what=what, prompt=doc.text())
        doc = BriefingDoc(doc.kind, doc.for_date, doc.title, doc.sections, prose.text, doc.notes)
        prose_state = "written" if prose.text else "skipped"
        if prose.note:
            notes.append(prose.note)
    doc = BriefingDoc(doc.kind, doc.for_date, doc.title, doc.sections, doc.prose, [*doc.notes, *notes])
    bid = await store.save(doc, run_id=ctx.run_id, now=ctx.now)
    delivered = True
    try:
        await notifier.notify(Notification(kind, doc.title, doc.text(), ref=bid))
    except Exception:  # noqa: BLE001 - the briefing is stored; delivery is best effort and recorded
        delivered = False
    summary: dict[str, object] = {
        "briefing_id": bid,
        "sections": sum(s.status == "ok" for s in doc.sections),
        "not_connected": ",".join(doc.not_connected),
        "prose": prose_state,
        "notified": delivered,
    }
    if ctx.budget is not None:
        summary |= {"tokens": ctx.budget.usage.total, "cost_usd": round(ctx.budget.cost, 6)}
    return summary


def briefing_handler(
    sources: BriefingSources, store: BriefingStore, notifier: Notifier, model: ModelPort | None
) -> Handler:
    async def run(ctx: JobContext) -> dict[str, object]:
        sections = await _daily_sections(ctx, sources)
        doc = BriefingDoc("daily", _local(ctx.scheduled_for, ctx), f"Morning briefing for {ctx.local_date}", sections)
        return await _produce(
            ctx, doc, what="morning briefing", model=model, store=store, notifier=notifier, kind="briefing"
        )

    return run


def digest_handler(
    sources: DigestSources, store: BriefingStore, notifier: Notifier, model: ModelPort | None
) -> Handler:
    async def run(ctx: JobContext) -> dict[str, object]:
        sections = await _weekly_sections(ctx, sources)
        doc = BriefingDoc("weekly", _local(ctx.scheduled_for, ctx), f"Weekly digest to {ctx.local_date}", sections)
        return await _produce(
            ctx, doc, what="weekly digest", model=model, store=store, notifier=notifier, kind="digest"
        )

    return run


def _local(t: datetime, ctx: JobContext) -> date:
    return t.astimezone(ctx.timezone).date()


SYNC_JOBS: dict[str, str] = {
    job: info.integration
    for job, info in CATALOGUE.items()
    if info.integration is not None and job not in ("generate_content", "grocery_order")
}


def default_handlers(
    *,
    runner: SyncRunner,
    tokens: TokenSource,
    briefing_sources: BriefingSources,
    digest_sources: DigestSources,
    store: BriefingStore,
    notifier: Notifier,
    model: ModelPort | None,
    rotation: RotationSource | None = None,
) -> dict[str, Handler]:
    """Every job in the catalogue, wired. Jobs without an implementation skip as not connected."""
    handlers: dict[str, Handler] = {job: sync_handler(name, runner, tokens) for job, name in SYNC_JOBS.items()}
    handlers["daily_briefing"] = briefing_handler(briefing_sources, store, notifier, model)
    handlers["weekly_digest"] = digest_handler(digest_sources, store, notifier, model)
    handlers["generate_content"] = unavailable_handler("content")
    handlers["grocery_order"] = unavailable_handler("grocery")
    handlers["rotation_reminder"] = rotation_reminder_handler(rotation, notifier)
    return handlers
