"""What the jobs and briefings pages show, built from the scheduler's and the briefing store's records.

Times are shown on the owner's clock (the schedule's time zone), with the UTC instant kept beside
them. Everything here is plain data for autoescaped templates: a briefing's prose comes from the model
and its lines from mail and calendars, so none of it is ever marked safe.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from agent.jobs import BriefingDoc, JobScheduler, Notification, RunView
from agent.notifications import console_path

FINISHED_REASON = ("skipped", "missed")
KIND_LABELS = {"daily": "Morning briefing", "weekly": "Weekly digest"}
NOTIFICATION_LABELS = {
    "briefing": "Morning briefing",
    "digest": "Weekly digest",
    "job_failed": "Job failed",
    "approval": "Approval needed",
}
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).isoformat()


def when(t: datetime | None, tz: ZoneInfo) -> dict[str, str] | None:
    """A time for the page: the owner's local wall clock (with its zone abbreviation) and the UTC instant."""
    if t is None:
        return None
    local = t.astimezone(tz)
    return {"iso": t.astimezone(UTC).isoformat(), "text": local.strftime("%a %Y-%m-%d %H:%M %Z")}


def briefing_ref(summary: dict[str, Any]) -> str | None:
    """The briefing a run produced, if its summary names one (only a well-formed id becomes a link)."""
    value = summary.get("briefing_id")
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _summary_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def run_page(r: RunView, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": r.id,
        "job_id": r.job_id,
        "trigger": r.trigger,
        "outcome": r.outcome,
        "attempts": r.attempts,
        "alerted": r.alerted,
        "scheduled_for": when(r.scheduled_for, tz),
        "started_at": when(r.started_at, tz),
        "finished_at": when(r.finished_at, tz),
        "next_attempt_at": when(r.next_attempt_at, tz),
        "error": r.error,
        "error_label": "Reason" if r.outcome in FINISHED_REASON else "Error",
        "summary": [
            (k.replace("_", " "), _summary_text(v)) for k, v in sorted(r.summary.items()) if k != "briefing_id"
        ],
        "briefing_id": briefing_ref(r.summary),
    }


def run_json(r: RunView) -> dict[str, Any]:
    return {
        "id": r.id,
        "job_id": r.job_id,
        "trigger": r.trigger,
        "outcome": r.outcome,
        "attempts": r.attempts,
        "alerted": r.alerted,
        "scheduled_for": iso(r.scheduled_for),
        "started_at": iso(r.started_at),
        "finished_at": iso(r.finished_at),
        "next_attempt_at": iso(r.next_attempt_at),
        "error": r.error,
        "summary": r.summary,
    }


def _state_word(enabled: bool, paused: bool, running: bool) -> str:
    if not enabled:
        return "disabled"
    if paused:
        return "paused"
    return "running now" if running else "scheduled"


async def job_list(scheduler: JobScheduler) -> list[dict[str, Any]]:
    """Every job in the schedule with its next slot, paused flag and latest run (raw values)."""
    engine = scheduler.engine
    now = engine.now()
    nexts = await scheduler.next_run_times()
    states = await engine.store.states()
    out: list[dict[str, Any]] = []
    for spec in engine.schedule.jobs.values():
        state = states.get(spec.job_id)
        paused = state is not None and state.paused
        latest = (await scheduler.runs(job_id=spec.job_id, limit=1)).items
        running = engine.running(spec.job_id)
        out.append(
            {
                "id": spec.job_id,
                "schedule": spec.when,
                "enabled": spec.enabled,
                "paused": paused,
                "running": running,
                "state": _state_word(spec.enabled, paused, running),
                "integration": ", ".join(spec.info.integrations) or None,
                "next_run_at": nexts.get(spec.job_id),
                "due": (nxt := nexts.get(spec.job_id)) is not None and nxt <= now,
                "last_run": latest[0] if latest else None,
            }
        )
    return out


def job_page(job: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    last: RunView | None = job["last_run"]
    return job | {"next": when(job["next_run_at"], tz), "last": None if last is None else run_page(last, tz)}


def job_json(job: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    last: RunView | None = job["last_run"]
    nxt: datetime | None = job["next_run_at"]
    return job | {
        "next_run_at": iso(nxt),
        "next_run_local": None if nxt is None else nxt.astimezone(tz).isoformat(),
        "last_run": None if last is None else run_json(last),
    }


def notification_page(n: Notification, at: datetime | None = None) -> dict[str, Any]:
    """A delivered notification. A briefing's body holds personal data: only its title and a link are
    listed; a failure alert's body is the engine's own curated message; an approval links to its card."""
    return {
        "kind": NOTIFICATION_LABELS.get(n.kind, n.kind),
        "title": n.title,
        "body": n.body if n.kind in ("job_failed", "approval") else None,
        "link": console_path(n),
        "at": iso(at),
    }


# --- briefings ----------------------------------------------------------------------------------


def _fact_text(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{v} {k}" for k, v in sorted(value.items()))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return _summary_text(value)


def paragraphs(prose: str | None) -> list[str]:
    if not prose:
        return []
    return [" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(prose) if p.strip()]


def briefing_page(doc: BriefingDoc) -> dict[str, Any]:
    return {
        "title": doc.title,
        "kind": KIND_LABELS.get(doc.kind, doc.kind),
        "for_date": doc.for_date.isoformat(),
        "paragraphs": paragraphs(doc.prose),
        "sections": [
            {
                "key": s.key,
                "title": s.title,
                "lines": list(s.lines),
                "facts": [(str(k).replace("_", " "), _fact_text(v)) for k, v in sorted(s.facts.items())],
            }
            for s in doc.sections
            if s.status == "ok"
        ],
        "missing": [{"key": s.key, "title": s.title, "status": s.status} for s in doc.sections if s.status != "ok"],
        "notes": list(doc.notes),
    }


def briefing_row(bid: str, kind: str, for_date: date, created_at: datetime, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": bid,
        "kind": KIND_LABELS.get(kind, kind),
        "for_date": for_date.isoformat(),
        "created": when(created_at, tz),
    }
