"""What each job does. A handler gets a :class:`JobContext`, returns a small summary for the run
history, raises :class:`JobSkipped` to skip with a reason or :class:`JobError` to fail (then retry)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from agent.jobs.briefing import (
    BriefingDoc,
    BriefingSources,
    BriefingStore,
    DigestSources,
    write_prose,
)
from agent.jobs.deadlines import DEFAULT_LEAD_HOURS, DeadlineSource, ReminderLedger, deadline_reminder_handler
from agent.jobs.engine import Handler, JobContext
from agent.jobs.networth import NetWorthBook, net_worth_handler
from agent.jobs.ports import Notification, Notifier, SyncRunner, TokenSource, small_summary
from agent.jobs.rotation import RotationSource, rotation_reminder_handler
from agent.jobs.schedule import IntegrationJob, installed_jobs
from agent.model import ModelPort
from agent.model_switch import is_ready
from integrations.money import Call

if TYPE_CHECKING:  # agent.content imports the job engine: imported where the handlers are built
    from agent.content.engine import ContentEngine

T = TypeVar("T")
MAX_ITEMS = 10
# Work after one integration's sync, in the same run (the model's mail analysis): its summary numbers
# join the sync's in the run history.
AfterSync = Callable[[JobContext, str, str], Awaitable[dict[str, object]]]


def sync_handler(
    integrations: str | Sequence[str],
    runner: SyncRunner,
    tokens: TokenSource,
    notifier: Notifier | None = None,
    after: AfterSync | None = None,
) -> Handler:
    """Call each taking-part integration's job tool through the gateway, each under its own
    job-scoped token, then ``after`` it (when given). One integration failing does not stop the
    others; all failing fails the run. A result carrying ``notice: {title, body}`` (e.g. "reconnect
    before Friday") goes to the owner."""
    names = (integrations,) if isinstance(integrations, str) else tuple(integrations)

    async def one(ctx: JobContext, name: str) -> dict[str, object]:
        token = await tokens.for_job(ctx.job_id, name)
        result = await runner.sync(name, token, ctx.job_id)
        if after is not None:
            result = {**result, **await after(ctx, name, token)}
        notice = result.get("notice")
        sent = False
        if notifier is not None and isinstance(notice, dict):
            title, body = notice.get("title"), notice.get("body")
            if isinstance(title, str) and isinstance(body, str) and title:
                await notifier.notify(Notification("integration_notice", title[:200], body[:2000], ref=name))
                sent = True
        return {"integration": name, **small_summary(result), **({"notified": True} if sent else {})}

    async def run(ctx: JobContext) -> dict[str, object]:
        if len(names) == 1:
            return await one(ctx, names[0])
        out: dict[str, object] = {}
        failed: list[tuple[str, Exception]] = []
        for name in names:
            try:
                out[name] = ", ".join(f"{k} {v}" for k, v in (await one(ctx, name)).items() if k != "integration")
            except Exception as exc:  # noqa: BLE001 - the next integration still syncs
                failed.append((name, exc))
        if failed and len(failed) == len(names):
            raise failed[0][1]
        if failed:
            out["failed"] = ",".join(n for n, _ in failed)
        return out

    return run


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
    if model is None or not is_ready(model):
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
        day = _local(ctx.scheduled_for, ctx)
        sections = await sources.sections("daily", day, day)
        doc = BriefingDoc("daily", _local(ctx.scheduled_for, ctx), f"Morning briefing for {ctx.local_date}", sections)
        return await _produce(
            ctx, doc, what="morning briefing", model=model, store=store, notifier=notifier, kind="briefing"
        )

    return run


def digest_handler(
    sources: DigestSources, store: BriefingStore, notifier: Notifier, model: ModelPort | None
) -> Handler:
    async def run(ctx: JobContext) -> dict[str, object]:
        end = _local(ctx.scheduled_for, ctx)
        sections = await sources.sections("weekly", end - timedelta(days=6), end)
        doc = BriefingDoc("weekly", _local(ctx.scheduled_for, ctx), f"Weekly digest to {ctx.local_date}", sections)
        return await _produce(
            ctx, doc, what="weekly digest", model=model, store=store, notifier=notifier, kind="digest"
        )

    return run


def _local(t: datetime, ctx: JobContext) -> date:
    return t.astimezone(ctx.timezone).date()


def default_handlers(
    *,
    runner: SyncRunner,
    tokens: TokenSource,
    briefing_sources: BriefingSources,
    digest_sources: DigestSources,
    store: BriefingStore,
    notifier: Notifier,
    model: ModelPort | None,
    jobs: Mapping[str, IntegrationJob] | None = None,
    rotation: RotationSource | None = None,
    deadlines: DeadlineSource | None = None,
    reminders: ReminderLedger | None = None,
    deadline_lead_hours: float = DEFAULT_LEAD_HOURS,
    after_sync: AfterSync | None = None,
    net_worth: NetWorthBook | None = None,
    net_worth_call: Call | None = None,
    content: ContentEngine | None = None,
) -> dict[str, Handler]:
    """The core jobs and every installed integration's sync jobs, wired."""
    jobs = installed_jobs() if jobs is None else jobs
    handlers: dict[str, Handler] = {
        job: sync_handler(j.integrations, runner, tokens, notifier, after_sync) for job, j in jobs.items()
    }
    handlers["daily_briefing"] = briefing_handler(briefing_sources, store, notifier, model)
    handlers["weekly_digest"] = digest_handler(digest_sources, store, notifier, model)
    handlers["rotation_reminder"] = rotation_reminder_handler(rotation, notifier)
    handlers["deadline_reminders"] = deadline_reminder_handler(
        deadlines, notifier, reminders, lead_hours=deadline_lead_hours
    )
    handlers["net_worth_snapshot"] = net_worth_handler(net_worth, net_worth_call)
    from agent.content.jobs import content_engagement_handler, generate_content_handler

    handlers["generate_content"] = generate_content_handler(content, model)
    handlers["content_engagement"] = content_engagement_handler(content)
    return handlers
