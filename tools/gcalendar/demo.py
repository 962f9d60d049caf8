"""A stateful in-memory Google Calendar for the demo profile and for tests of ``mcp_servers``.

``demo_transport(DemoCalendar(today=...))`` answers the Calendar API v3 calls
:class:`~tools.gcalendar.client.CalendarClient` makes, shaped like the real API: ``events.list``
with ``singleEvents=true`` (recurring events expanded into instances ``<id>_<YYYYMMDDTHHMMSSZ>``),
pages with ``nextPageToken`` and a last page with ``nextSyncToken``, ``syncToken`` listings of what
changed (cancelled entries included), 410 Gone for a sync token Google no longer knows, events
get/insert/patch/delete, ``freeBusy`` and Google's token revocation endpoint.

Sync tokens name the day they were issued on, so a store synced on an earlier day gets a 410 and
resyncs in full, as it would after Google expired the token.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from urllib.parse import parse_qs

import httpx

from tools.gcalendar.demo_data import calendar as data

DEMO_ACCESS_TOKEN: Final = "ya29.demo-gcalendar-access-token-not-a-real-credential"  # noqa: S105 - public demo value
DEMO_REFRESH_TOKEN: Final = "1//demo-gcalendar-refresh-token"  # noqa: S105 - the demo's fake
HOST: Final = "www.googleapis.com"
PREFIX: Final = "/calendar/v3"
REVOKE_HOST: Final = "oauth2.googleapis.com"


def demo_credentials() -> dict[str, str]:
    token = {
        "access_token": DEMO_ACCESS_TOKEN,
        "refresh_token": DEMO_REFRESH_TOKEN,
        "token_type": "Bearer",
        "expires_at": 4_102_444_800,
        "token_uri": "https://oauth2.googleapis.com/token",
        "client_id": "demo.apps.googleusercontent.com",
        "scope": "https://www.googleapis.com/auth/calendar.events",
    }
    return {"gcalendar-oauth": json.dumps(token)}


def error(code: int, message: str, reason: str) -> httpx.Response:
    body = {
        "error": {
            "errors": [{"domain": "global", "reason": reason, "message": message}],
            "code": code,
            "message": message,
        }
    }
    return httpx.Response(code, json=body)


def _not_found() -> httpx.Response:
    return error(404, "Not Found", "notFound")


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _bounds(event: dict[str, Any]) -> tuple[datetime, datetime]:
    def one(t: dict[str, Any]) -> datetime:
        if "dateTime" in t:
            return _parse(t["dateTime"])
        return datetime.combine(date.fromisoformat(t["date"]), time(), tzinfo=UTC)

    return one(event["start"]), one(event["end"])


class DemoCalendar:
    """One primary calendar's state; ``inserted`` keeps every created event body, for assertions."""

    def __init__(self, today: date | None = None, *, page_size: int | None = None, time_zone: str = "UTC") -> None:
        self.today = today or datetime.now(UTC).date()
        self.owner = data.OWNER
        self.events: dict[str, dict[str, Any]] = {}
        self.changed: dict[str, int] = {}  # event id -> version of its last change
        self.version = 0
        self.oldest_token = 0  # sync tokens older than this version get 410 Gone
        self.page_size = page_size  # tests: force short pages regardless of maxResults
        self.time_zone = time_zone  # the calendar's own time zone (event times stay in UTC)
        self.inserted: list[dict[str, Any]] = []
        self.revoked: list[str] = []
        self._counter = 0
        created = _stamp(datetime.combine(self.today - timedelta(days=60), time(8), tzinfo=UTC))
        for spec in data.EVENTS:
            for event in self._expand(spec, created):
                self._put(event)

    # ---- state -----------------------------------------------------------------------------

    def _expand(self, spec: dict[str, Any], created: str) -> list[dict[str, Any]]:
        freq, count = spec.get("repeat", ("DAILY", 1))
        step = timedelta(days=7 if freq == "WEEKLY" else 1)
        first = self.today + timedelta(days=spec["day"])
        out = []
        for i in range(count):
            day = first + step * i
            event = self._event(spec, day, created)
            if "repeat" in spec:
                start = event["start"]
                event["id"] = f"{spec['id']}_{_stamp(_parse(start['dateTime'])).replace('-', '').replace(':', '')}"
                event["recurringEventId"] = spec["id"]
                event["originalStartTime"] = dict(start)
            out.append(event)
        return out

    def _event(self, spec: dict[str, Any], day: date, created: str) -> dict[str, Any]:
        if spec["at"] is None:
            start: dict[str, str] = {"date": day.isoformat()}
            end = {"date": (day + timedelta(days=spec.get("days", 1))).isoformat()}
        else:
            hour, minute = (int(x) for x in spec["at"].split(":"))
            begin = datetime.combine(day, time(hour, minute), tzinfo=UTC)
            start = {"dateTime": _stamp(begin), "timeZone": "UTC"}
            end = {"dateTime": _stamp(begin + timedelta(minutes=spec["minutes"])), "timeZone": "UTC"}
        event: dict[str, Any] = {
            "kind": "calendar#event",
            "id": spec["id"],
            "status": "confirmed",
            "htmlLink": f"https://www.google.com/calendar/event?eid={spec['id']}",
            "created": created,
            "updated": created,
            "summary": spec["summary"],
            "creator": {"email": spec["organizer"]},
            "organizer": {"email": spec["organizer"], **({"self": True} if spec["organizer"] == self.owner else {})},
            "start": start,
            "end": end,
            "iCalUID": f"{spec['id']}@google.com",
            "sequence": 0,
            "reminders": {"useDefault": True},
            "eventType": "default",
        }
        for key in ("description", "location"):
            if spec.get(key):
                event[key] = spec[key]
        if spec["attendees"]:
            event["attendees"] = [self._attendee(a, spec["organizer"]) for a in spec["attendees"]]
        return event

    def _attendee(self, address: str, organizer: str) -> dict[str, Any]:
        person: dict[str, Any] = {
            "email": address,
            "responseStatus": "accepted" if address == organizer else "needsAction",
        }
        if address == organizer:
            person["organizer"] = True
        if address == self.owner:
            person["self"] = True
        return person

    def _put(self, event: dict[str, Any]) -> None:
        self.version += 1
        event["etag"] = f'"{3_000_000_000 + self.version}"'
        self.events[event["id"]] = event
        self.changed[event["id"]] = self.version

    def touch(self, event_id: str, **fields: Any) -> None:
        """Tests: change an event as if someone else had (a new version, seen by the next sync)."""
        event = dict(self.events[event_id], **fields)
        event["updated"] = _stamp(datetime.now(UTC))
        self._put(event)

    def cancel(self, event_id: str) -> None:
        """Tests: cancel an event as its organizer would (a sync listing shows it as cancelled)."""
        event = self.events[event_id]
        self._put(
            {k: event[k] for k in ("kind", "id", "recurringEventId", "originalStartTime") if k in event}
            | {"status": "cancelled"}
        )

    def expire_sync_tokens(self) -> None:
        """Tests: Google forgets every sync token issued so far (the next incremental sync gets 410)."""
        self.oldest_token = self.version + 1

    def _token(self) -> str:
        return f"CPDA{self.today.toordinal()}x{self.version}"

    def _token_version(self, token: str) -> int | None:
        day, _, version = token.removeprefix("CPDA").partition("x")
        if not (day.isdigit() and version.isdigit()) or int(day) != self.today.toordinal():
            return None
        found = int(version)
        return None if found < self.oldest_token else found

    # ---- HTTP ------------------------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == REVOKE_HOST and request.url.path == "/revoke":
            return self._revoke(request)
        if request.url.host != HOST or not request.url.path.startswith(PREFIX):
            return _not_found()
        if request.headers.get("Authorization") != f"Bearer {DEMO_ACCESS_TOKEN}":
            return error(401, "Request had invalid authentication credentials.", "authError")
        segments = tuple(request.url.path[len(PREFIX) :].strip("/").split("/"))
        params = request.url.params
        body = json.loads(request.content) if request.content else {}
        match (request.method, *segments):
            case ("GET", "calendars", "primary", "events"):
                return self._list(params)
            case ("POST", "calendars", "primary", "events"):
                return self._insert(body)
            case ("GET", "calendars", "primary", "events", str(eid)):
                found = self.events.get(eid)
                return _not_found() if found is None else httpx.Response(200, json=found)
            case ("PATCH", "calendars", "primary", "events", str(eid)):
                return self._patch(eid, body)
            case ("DELETE", "calendars", "primary", "events", str(eid)):
                found = self.events.get(eid)
                if found is None:
                    return _not_found()
                if found["status"] == "cancelled":
                    return error(410, "Resource has been deleted", "deleted")
                self.cancel(eid)
                return httpx.Response(204)
            case ("POST", "freeBusy"):
                return self._free_busy(body)
        return _not_found()

    def _envelope(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "kind": "calendar#events",
            "etag": f'"p{self.version}"',
            "summary": self.owner,
            "updated": _stamp(datetime.now(UTC)),
            "timeZone": self.time_zone,
            "accessRole": "owner",
            "defaultReminders": [{"method": "popup", "minutes": 10}],
            "items": items,
        }

    def _list(self, params: httpx.QueryParams) -> httpx.Response:
        size = min(int(params.get("maxResults", "250")), 2500)
        size = min(size, self.page_size or size)
        sync = params.get("syncToken")
        if sync is not None:
            if any(k in params for k in ("timeMin", "timeMax", "orderBy", "q", "updatedMin", "iCalUID")):
                return error(400, "Invalid combination of parameters with a sync token.", "invalid")
            since = self._token_version(sync)
            if since is None:
                return error(410, "Sync token is no longer valid, a full sync is required.", "fullSyncRequired")
            found = [self.events[i] for i, v in sorted(self.changed.items(), key=lambda kv: kv[1]) if v > since]
        else:
            low = _parse(params["timeMin"]) if "timeMin" in params else None
            high = _parse(params["timeMax"]) if "timeMax" in params else None
            found = []
            for event in self.events.values():
                if event["status"] == "cancelled":
                    continue
                start, end = _bounds(event)
                if (low is None or end > low) and (high is None or start < high):
                    found.append(event)
            found.sort(key=lambda e: (_bounds(e)[0], e["id"]))
        offset = int(params.get("pageToken", "0").removeprefix("EhQ") or 0)
        page = found[offset : offset + size]
        body = self._envelope(page)
        if offset + size < len(found):
            body["nextPageToken"] = f"EhQ{offset + size}"
        else:
            body["nextSyncToken"] = self._token()
        return httpx.Response(200, json=body)

    def _insert(self, body: dict[str, Any]) -> httpx.Response:
        if not body.get("start") or not body.get("end"):
            return error(400, "Missing end time.", "required")
        self._counter += 1
        eid = f"aegis{self.today.strftime('%Y%m%d')}{self._counter:04d}"
        self.inserted.append(body)
        now = _stamp(datetime.now(UTC))
        event: dict[str, Any] = {
            "kind": "calendar#event",
            "id": eid,
            "status": "confirmed",
            "htmlLink": f"https://www.google.com/calendar/event?eid={eid}",
            "created": now,
            "updated": now,
            "creator": {"email": self.owner, "self": True},
            "organizer": {"email": self.owner, "self": True},
            "iCalUID": f"{eid}@google.com",
            "sequence": 0,
            "reminders": {"useDefault": True},
            "eventType": "default",
            **{k: body[k] for k in ("summary", "description", "location", "start", "end") if k in body},
        }
        if body.get("attendees"):
            event["attendees"] = [{"email": a["email"], "responseStatus": "needsAction"} for a in body["attendees"]]
        self._put(event)
        return httpx.Response(200, json=event)

    def _patch(self, eid: str, body: dict[str, Any]) -> httpx.Response:
        found = self.events.get(eid)
        if found is None or found["status"] == "cancelled":
            return _not_found()
        allowed = ("summary", "description", "location", "start", "end", "attendees")
        event = dict(found, **{k: body[k] for k in allowed if k in body})
        event["updated"] = _stamp(datetime.now(UTC))
        event["sequence"] = int(found.get("sequence", 0)) + 1
        self._put(event)
        return httpx.Response(200, json=event)

    def _free_busy(self, body: dict[str, Any]) -> httpx.Response:
        low, high = _parse(body["timeMin"]), _parse(body["timeMax"])
        busy = []
        for event in self.events.values():
            if event["status"] == "cancelled" or "dateTime" not in event.get("start", {}):
                continue
            start, end = _bounds(event)
            if end > low and start < high:
                busy.append((start, end))
        busy.sort()
        calendars = {"primary": {"busy": [{"start": _stamp(s), "end": _stamp(e)} for s, e in busy]}}
        out = {
            "kind": "calendar#freeBusy",
            "timeMin": body["timeMin"],
            "timeMax": body["timeMax"],
            "calendars": calendars,
        }
        return httpx.Response(200, json=out)

    def _revoke(self, request: httpx.Request) -> httpx.Response:
        token = parse_qs(request.content.decode("ascii", "replace")).get("token", [""])[0]
        if request.method != "POST" or token not in (DEMO_ACCESS_TOKEN, DEMO_REFRESH_TOKEN) or self.revoked:
            return httpx.Response(400, json={"error": "invalid_token", "error_description": "Token expired or revoked"})
        self.revoked.append(token)
        return httpx.Response(200, json={})


def demo_transport(calendar: DemoCalendar | None = None) -> httpx.MockTransport:
    return httpx.MockTransport((calendar or DemoCalendar()).handler)
