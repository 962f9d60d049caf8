"""Events to attend, checked by the core against every calendar the owner has.

An integration that finds events (a subscribed iCalendar feed, say) declares
``event_suggestions: <tool>``: a READ tool taking ``days`` and ``limit`` and answering
``{"events": [...]}`` with each event's ``title``, ``start``, ``end`` (ISO 8601), ``all_day`` and, to
show, ``day``, ``when``, ``location``. The core asks every calendar's ``meetings`` tool for the same
days and marks each event "free" or "clashes with <the owner's event>" (all-day entries on either
side block nothing). The core never names a source. A calendar that fails is a line saying so, and
then nothing is marked free: an unknown day is not a free one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from integrations.manifest import View
from integrations.prep import Call, Source, SourceFailed
from integrations.views import ItemFormat, Render

DAYS = 7
MAX_EVENTS = 10
MAX_BUSY = 250

VIEW = View(
    id="events_fit",
    title="Upcoming events that fit your calendar",
    tool="event_suggestions",
    args={},
    render=Render(
        list="events",
        item=ItemFormat(title="{title}", detail="{fit_line}", when="{day} {when}"),
        empty="No upcoming events from your event feeds.",
        limit=MAX_EVENTS,
    ),
    order=62,
)


def _at(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _span(event: Mapping[str, Any]) -> tuple[datetime, datetime] | None:
    start = _at(event.get("start"))
    if start is None or event.get("all_day"):
        return None
    end = _at(event.get("end")) or start + timedelta(hours=1)
    return start, max(end, start + timedelta(minutes=1))


def fit_word(event: Mapping[str, Any], busy: Sequence[tuple[tuple[datetime, datetime], str]], known: bool) -> str:
    span = _span(event)
    if span is None:
        return "all day: check your calendar" if known else "your calendar could not be read"
    clash = next((title for (s, e), title in busy if s < span[1] and span[0] < e), None)
    if clash is not None:
        return f"clashes with {clash}"
    return "free" if known else "your calendar could not be read"


async def events_fit(
    finders: Sequence[Source], calendars: Sequence[Source], call: Call, day: date
) -> tuple[dict[str, list[dict[str, Any]]], list[tuple[str, str]]]:
    """The next days' suggested events, soonest first, each with its ``fit``; and the sources that
    failed, as ``(title, error)``."""
    failed: list[tuple[str, str]] = []
    found: list[dict[str, Any]] = []
    for finder in finders:
        try:
            result = await call(finder.tool, {"days": DAYS, "limit": MAX_EVENTS})
        except SourceFailed as exc:
            failed.append((finder.title, str(exc)))
            continue
        events = result.get("events") if isinstance(result, Mapping) else None
        found += [dict(e) for e in events or [] if isinstance(e, Mapping)]
    if not found:
        return {"events": []}, failed
    window = {"start": day.isoformat(), "end": (day + timedelta(days=DAYS + 1)).isoformat(), "limit": MAX_BUSY}
    busy: list[tuple[tuple[datetime, datetime], str]] = []
    known = bool(calendars)
    for cal in calendars:
        try:
            result = await call(cal.tool, dict(window))
        except SourceFailed as exc:
            failed.append((cal.title, str(exc)))
            known = False
            continue
        for e in (result.get("events") if isinstance(result, Mapping) else None) or []:
            span = _span(e) if isinstance(e, Mapping) else None
            if span is not None:
                busy.append((span, str(e.get("title") or "an event")))
    for event in found:
        event["fit"] = fit_word(event, busy, known)
        event["fit_line"] = " · ".join(str(x) for x in (event["fit"], event.get("location")) if x)
    found.sort(key=lambda e: str(e.get("start") or ""))
    return {"events": found[:MAX_EVENTS]}, failed
