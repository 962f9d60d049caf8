"""Meeting prep, merged by the core across every calendar and every mailbox.

A calendar declares ``meetings: <tool>``: a READ tool taking ``start``, ``end`` and ``limit`` and
answering ``{"events": [...]}`` with each event's ``title``, ``when``, ``start``, ``end``,
``attendees`` (addresses), ``organizer`` and ``organized_by_owner``. A mailbox declares
``mail_threads: <tool>``: a READ tool taking ``people`` (addresses), ``days`` and ``limit`` and
answering ``{"threads": [...]}`` with each thread's ``subject``, ``last_from``, ``last_at`` and
``open_questions`` (it leaves its own owner's address out). For each meeting of the day with other
people in it, the core asks every mailbox for the latest threads with them and writes one line: who,
the last thread, and what is still open. The core never names a source. Titles, subjects and
questions are other people's text: the tools' results carry their provenance labels through the
gateway, and the briefing treats every line as untrusted data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from integrations.manifest import View
from integrations.views import ItemFormat, Render

MAX_MEETINGS = 20
THREADS_PER_MEETING = 3
THREAD_DAYS = 30

VIEW = View(
    id="meeting_prep",
    title="Meeting prep",
    tool="meetings",
    args={},
    render=Render(
        list="meetings",
        item=ItemFormat(title="{title}", detail="{prep}", when="{when}"),
        empty="No meetings with other people today.",
        limit=MAX_MEETINGS,
    ),
    order=12,
)


class SourceFailed(Exception):
    """A source's call failed (its reason, for the line that says so)."""


# (tool, arguments) -> its result; raises SourceFailed when the call fails.
Call = Callable[[str, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Source:
    title: str  # the integration's title, as the owner knows it
    tool: str


def owner_addresses(events: Sequence[Mapping[str, Any]]) -> set[str]:
    """The owner's own addresses, as the organizer of the events the owner organizes."""
    return {
        str(e["organizer"]).lower()
        for e in events
        if e.get("organized_by_owner") and isinstance(e.get("organizer"), str) and "@" in e["organizer"]
    }


def people_of(event: Mapping[str, Any], owners: set[str]) -> list[str]:
    """The event's other people: its organizer and attendees, the owner's own addresses left out."""
    named = [event.get("organizer"), *(event.get("attendees") or [])]
    out = [str(a).lower() for a in named if isinstance(a, str) and "@" in a]
    return [a for a in dict.fromkeys(out) if a not in owners]


def summary(people: Sequence[str], threads: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """One line: who, the latest thread (and its mailbox), what is still open in the threads."""
    with_whom = ", ".join(people[:6]) + (f" and {len(people) - 6} more" if len(people) > 6 else "")
    if not threads:
        return f"With {with_whom}. No recent mail with them."
    title, latest = threads[0]
    asks = [str(q) for _, t in threads for q in t.get("open_questions") or []]
    open_part = "; ".join(list(dict.fromkeys(asks))[:3]) or "nothing open"
    return f"With {with_whom}. Last thread ({title}): {latest.get('subject') or '(no subject)'}. Open: {open_part}"


async def meetings(
    calendars: Sequence[Source], mailboxes: Sequence[Source], call: Call, day: date
) -> tuple[dict[str, list[dict[str, Any]]], list[tuple[str, str]]]:
    """The day's meetings with other people, each with its ``prep`` line, in time order; and the
    sources that failed, as ``(title, error)``."""
    window = {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat(), "limit": MAX_MEETINGS}
    failed: list[tuple[str, str]] = []
    found: list[tuple[str, Mapping[str, Any]]] = []
    for cal in calendars:
        try:
            result = await call(cal.tool, dict(window))
        except SourceFailed as exc:  # a failing source is a line saying so
            failed.append((cal.title, str(exc)))
            continue
        events = result.get("events") if isinstance(result, Mapping) else None
        found += [(cal.title, e) for e in events or [] if isinstance(e, Mapping) and not e.get("all_day")]
    out: list[dict[str, Any]] = []
    broken: set[str] = set()
    owners = owner_addresses([e for _, e in found])
    for cal_title, event in sorted(found, key=lambda f: str(f[1].get("start") or "")):
        people = people_of(event, owners)
        if not people:
            continue
        threads: list[tuple[str, Mapping[str, Any]]] = []
        for box in mailboxes:
            if box.title in broken:
                continue
            args = {"people": people[:50], "days": THREAD_DAYS, "limit": THREADS_PER_MEETING}
            try:
                result = await call(box.tool, args)
            except SourceFailed as exc:  # asked no more; its failure is shown once
                broken.add(box.title)
                failed.append((box.title, str(exc)))
                continue
            raw = result.get("threads") if isinstance(result, Mapping) else None
            threads += [(box.title, t) for t in raw or [] if isinstance(t, Mapping)]
        threads.sort(key=lambda t: str(t[1].get("last_at") or ""), reverse=True)
        out.append(
            {
                "title": event.get("title") or "(no title)",
                "when": event.get("when") or "",
                "start": event.get("start"),
                "end": event.get("end"),
                "calendar": cal_title,
                "people": people,
                "prep": summary(people, threads[:THREADS_PER_MEETING]),
            }
        )
    return {"meetings": out[:MAX_MEETINGS]}, failed
