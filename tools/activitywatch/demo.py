"""An in-memory aw-server for the demo profile and the tests: the last five weeks of a student's laptop.

``demo_transport()`` answers ``GET /api/0/buckets/`` and ``POST /api/0/query/`` as aw-server does:
buckets keyed by id, and one list of events per time period. It runs one query, the active-window
query the client sends (:data:`~tools.activitywatch.client.ACTIVE_WINDOW_QUERY`); any other query
gets aw-server's 500 with a message. Days are generated from a fixed pattern, so each run agrees.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

import httpx

from tools.activitywatch.client import ACTIVE_WINDOW_QUERY

HOST: Final = "alex-laptop"
WEEKS: Final = 5

# (app, title, minutes): one weekday; weekends keep only the first two and the last three blocks.
WEEKDAY: Final[list[tuple[str, str, int]]] = [
    ("Firefox", "Canvas - CS 260: Data Structures", 20),
    ("Code", "avl_tree.py - project3", 50),
    ("Slack", "cs260-study - Slack", 10),
    ("Firefox", "Pearson Mastering - Chapter 7", 40),
    ("Firefox", "YouTube - lofi beats", 15),
    ("Code", "graph.py - lab7", 35),
    ("Discord", "PHYS 102 study group", 20),
    ("Firefox", "Reddit - r/college", 25),
    ("Spotify", "Spotify", 10),
]


def _blocks(day: date, today: date) -> list[tuple[str, str, int]]:
    weeks_ago = (today - day).days // 7
    blocks = list(WEEKDAY) if day.weekday() < 5 else WEEKDAY[:2] + WEEKDAY[-3:]
    # The owner studies a little longer each week: deep-work blocks grow by 5 minutes a week.
    return [(a, t, m + 5 * (WEEKS - weeks_ago) if a == "Code" else m) for a, t, m in blocks]


def events_of(day: date, today: date) -> list[dict[str, Any]]:
    start = datetime.combine(day, time(14, 0), tzinfo=UTC)
    out = []
    for i, (app, title, minutes) in enumerate(_blocks(day, today)):
        out.append(
            {
                "id": int(day.strftime("%Y%m%d")) * 100 + i,
                "timestamp": start.isoformat(),
                "duration": float(minutes * 60),
                "data": {"app": app, "title": title},
            }
        )
        start += timedelta(minutes=minutes, seconds=30)
    return out


class DemoActivityWatch:
    def __init__(self, today: date | None = None) -> None:
        self.today = today or datetime.now(UTC).date()
        self.queries: list[dict[str, Any]] = []

    def _events(self, period: str) -> list[dict[str, Any]]:
        a, _, b = period.partition("/")
        start, end = datetime.fromisoformat(a), datetime.fromisoformat(b)
        first = self.today - timedelta(days=7 * WEEKS - 1)
        out = []
        day = max(first, start.date())
        while day <= min(self.today, end.date()):
            out += [e for e in events_of(day, self.today) if start <= datetime.fromisoformat(e["timestamp"]) < end]
            day += timedelta(days=1)
        return sorted(out, key=lambda e: e["timestamp"], reverse=True)  # aw-server: newest first

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.host not in ("127.0.0.1", "localhost"):
            return httpx.Response(502)
        if request.method == "GET" and request.url.path == "/api/0/buckets/":
            seen = datetime.combine(self.today, time(23, 0), tzinfo=UTC).isoformat()
            buckets = {
                f"aw-watcher-window_{HOST}": {"type": "currentwindow", "client": "aw-watcher-window"},
                f"aw-watcher-afk_{HOST}": {"type": "afkstatus", "client": "aw-watcher-afk"},
            }
            body = {
                k: {"id": k, "created": seen, "name": None, "hostname": HOST, "last_updated": seen, **v}
                for k, v in buckets.items()
            }
            return httpx.Response(200, json=body)
        if request.method == "GET" and request.url.path == "/api/0/buckets":
            return httpx.Response(308, headers={"Location": "/api/0/buckets/"})
        if request.method == "POST" and request.url.path == "/api/0/query/":
            body = json.loads(request.content)
            self.queries.append(body)
            if tuple(body.get("query") or ()) != ACTIVE_WINDOW_QUERY:
                return httpx.Response(500, json={"message": "the demo server runs only the active-window query"})
            return httpx.Response(200, json=[self._events(p) for p in body.get("timeperiods") or []])
        return httpx.Response(404, json={"message": "not found"})


def demo_credentials() -> dict[str, str]:
    return {}


def demo_transport(aw: DemoActivityWatch | None = None) -> httpx.MockTransport:
    return httpx.MockTransport((aw or DemoActivityWatch()).handler)
