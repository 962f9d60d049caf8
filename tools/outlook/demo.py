"""A stateful in-memory Microsoft Graph for the demo profile and for tests of ``mcp_servers.outlook``.

``demo_transport(DemoGraph(today=...))`` answers the calls :class:`~tools.outlook.client.OutlookClient`
makes, shaped like Graph v1.0: mail delta per folder and calendarView delta, each a first round in
pages linked by ``@odata.nextLink`` and ending with ``@odata.deltaLink``, later rounds with what
changed (``@removed`` for deletions), 410 Gone with ``SyncStateNotFound`` for a delta token Graph
no longer knows; ``$search`` and ``conversationId`` filters on messages, ``createReply``, ``sendMail``
(202), events get/create/patch/delete, accept/decline/tentativelyAccept (202), and calendarView.

Delta tokens name the day they were issued on, so a store synced on an earlier day resyncs in full.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from urllib.parse import urlencode

import httpx

from tools.outlook.demo_data import mailbox as data

DEMO_ACCESS_TOKEN: Final = "EwB4A8l6BAAUdemo-outlook-access-token-not-a-real-credential"  # noqa: S105 - demo value
HOST: Final = "graph.microsoft.com"
BASE: Final = f"https://{HOST}/v1.0"


def demo_credentials() -> dict[str, str]:
    return {"outlook-oauth": json.dumps({"access_token": DEMO_ACCESS_TOKEN, "token_type": "Bearer"})}


def graph_error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000")


def _instant(value: str) -> datetime:
    head = value.rstrip("Z").partition(".")[0]
    parsed = datetime.fromisoformat(head)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _person(address: str) -> dict[str, Any]:
    return {"emailAddress": {"name": address.split("@")[0].replace(".", " ").title(), "address": address}}


class DemoGraph:
    """One mailbox's state. ``sent`` and ``drafts`` keep what Aegis sent or drafted, for assertions."""

    def __init__(self, today: date | None = None, *, page_size: int = 4) -> None:
        self.today = today or datetime.now(UTC).date()
        self.owner = data.OWNER
        self.page_size = page_size
        self.version = 0
        self.oldest_token = 0
        self.items: dict[str, dict[str, dict[str, Any]]] = {"inbox": {}, "sentitems": {}, "calendar": {}}
        self.changed: dict[str, dict[str, int]] = {k: {} for k in self.items}
        self.removed: dict[str, dict[str, int]] = {k: {} for k in self.items}
        self.sent: list[dict[str, Any]] = []
        self.drafts: list[dict[str, Any]] = []
        self.responses: list[tuple[str, str]] = []
        self.throttle: list[int] = []  # tests: statuses answered (with Retry-After: 1) before anything else
        self.requests: list[httpx.Request] = []
        self._counter = 0
        for spec in data.MESSAGES:
            self.put(spec["folder"], self._message(spec))
        for spec in data.EVENTS:
            self.put("calendar", self._event(spec))

    # ---- state -----------------------------------------------------------------------------

    def _at(self, day: int, clock: str) -> datetime:
        hour, minute = (int(x) for x in clock.split(":"))
        return datetime.combine(self.today + timedelta(days=day), time(hour, minute), tzinfo=UTC)

    def _message(self, spec: dict[str, Any]) -> dict[str, Any]:
        received = self._at(spec["day"], spec["at"]).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "id": spec["id"],
            "subject": spec["subject"],
            "bodyPreview": spec["body"][:255],
            "body": {"contentType": "text", "content": spec["body"]},
            "from": _person(spec["from"]),
            "toRecipients": [_person(a) for a in spec["to"]],
            "ccRecipients": [],
            "receivedDateTime": received,
            "isRead": spec["day"] < 0,
            "isDraft": False,
            "conversationId": spec["conversation"],
            "parentFolderId": spec["folder"],
            "webLink": f"https://outlook.office365.com/owa/?ItemID={spec['id']}",
        }

    def _event(self, spec: dict[str, Any]) -> dict[str, Any]:
        start = self._at(spec["day"], spec["at"])
        owner_organizes = spec["organizer"] == self.owner
        return {
            "id": spec["id"],
            "subject": spec["subject"],
            "bodyPreview": spec["body"],
            "body": {"contentType": "text", "content": spec["body"]},
            "start": {"dateTime": _stamp(start), "timeZone": "UTC"},
            "end": {"dateTime": _stamp(start + timedelta(minutes=spec["minutes"])), "timeZone": "UTC"},
            "isAllDay": False,
            "isCancelled": False,
            "isOrganizer": owner_organizes,
            "showAs": "busy",
            "type": "singleInstance",
            "location": {"displayName": spec["location"]},
            "organizer": _person(spec["organizer"]),
            "attendees": [
                {
                    "type": "required",
                    "status": {"response": "organizer" if a == spec["organizer"] else "none"},
                    **_person(a),
                }
                for a in spec["attendees"]
            ],
            "webLink": f"https://outlook.office365.com/owa/?itemid={spec['id']}",
        }

    def put(self, kind: str, item: dict[str, Any]) -> None:
        self.version += 1
        self.items[kind][item["id"]] = item
        self.changed[kind][item["id"]] = self.version
        self.removed[kind].pop(item["id"], None)

    def delete(self, kind: str, item_id: str) -> None:
        self.version += 1
        self.items[kind].pop(item_id, None)
        self.changed[kind].pop(item_id, None)
        self.removed[kind][item_id] = self.version

    def receive(self, spec: dict[str, Any]) -> None:
        """Tests: a new message arrives (``spec`` shaped like :data:`data.MESSAGES`)."""
        self.put(spec["folder"], self._message(spec))

    def add_event(self, spec: dict[str, Any]) -> None:
        self.put("calendar", self._event(spec))

    def expire_delta_links(self) -> None:
        """Tests: Graph forgets every delta token issued so far (the next round gets 410)."""
        self.oldest_token = self.version + 1

    # ---- HTTP ------------------------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host != HOST or not request.url.path.startswith("/v1.0/"):
            return graph_error(404, "ResourceNotFound", "Resource not found")
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return graph_error(401, "InvalidAuthenticationToken", "Access token is empty.")
        if self.throttle:
            return httpx.Response(
                self.throttle.pop(0),
                headers={"Retry-After": "1"},
                json={"error": {"code": "TooManyRequests", "message": "Please retry again later."}},
            )
        path = request.url.path.removeprefix("/v1.0/")
        method = request.method
        for folder in ("inbox", "sentitems"):
            if path == f"me/mailFolders/{folder}/messages/delta" and method == "GET":
                return self._delta(request, folder, path)
        if path == "me/calendarView/delta" and method == "GET":
            return self._delta(request, "calendar", path)
        if path == "me/calendarView" and method == "GET":
            return self._view(request)
        if path == "me/messages" and method == "GET":
            return self._messages(request)
        if path == "me/sendMail" and method == "POST":
            self.sent.append(json.loads(request.content))
            return httpx.Response(202)
        if path == "me/events" and method == "POST":
            return self._create(request)
        parts = path.split("/")
        if len(parts) >= 3 and parts[:2] == ["me", "messages"]:
            return self._message_call(request, parts[2], parts[3:])
        if len(parts) >= 3 and parts[:2] == ["me", "events"]:
            return self._event_call(request, parts[2], parts[3:])
        return graph_error(400, "BadRequest", f"Unsupported request {method} {path}")

    def _page(self, path: str, items: list[dict[str, Any]], offset: int, kind: str) -> httpx.Response:
        body: dict[str, Any] = {"@odata.context": f"{BASE}/$metadata#Collection({kind})"}
        chunk = items[offset : offset + self.page_size]
        body["value"] = chunk
        if offset + self.page_size < len(items):
            body["@odata.nextLink"] = f"{BASE}/{path}?" + urlencode({"$skiptoken": f"{offset + self.page_size}"})
        else:
            token = f"{self.today.toordinal()}x{self.version}"
            body["@odata.deltaLink"] = f"{BASE}/{path}?" + urlencode({"$deltatoken": token})
        return httpx.Response(200, json=body)

    def _delta(self, request: httpx.Request, kind: str, path: str) -> httpx.Response:
        params = request.url.params
        if "$deltatoken" in params:
            day, _, version = params["$deltatoken"].partition("x")
            ok = day.isdigit() and version.isdigit() and int(day) == self.today.toordinal()
            since = int(version) if ok else -1
            if since < self.oldest_token:
                return graph_error(410, "SyncStateNotFound", "The sync state generation is not found.")
            changed = [self.items[kind][i] for i, v in self.changed[kind].items() if v > since]
            gone = [{"id": i, "@removed": {"reason": "deleted"}} for i, v in self.removed[kind].items() if v > since]
            return self._page(path, changed + gone, 0, kind)
        offset = int(params.get("$skiptoken", "0"))
        items = list(self.items[kind].values())
        if kind == "calendar":
            items = [e for e in items if self._in_window(e, params)] if "startDateTime" in params else items
        return self._page(path, items, offset, kind)

    def _in_window(self, event: dict[str, Any], params: Any) -> bool:
        low, high = _instant(params["startDateTime"]), _instant(params["endDateTime"])
        return _instant(event["start"]["dateTime"]) < high and _instant(event["end"]["dateTime"]) > low

    def _view(self, request: httpx.Request) -> httpx.Response:
        found = [e for e in self.items["calendar"].values() if self._in_window(e, request.url.params)]
        found.sort(key=lambda e: e["start"]["dateTime"])
        return httpx.Response(200, json={"value": found})

    def _messages(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        every = [m for kind in ("inbox", "sentitems") for m in self.items[kind].values()]
        if "$filter" in params:
            wanted = params["$filter"].removeprefix("conversationId eq '").removesuffix("'").replace("''", "'")
            found = [m for m in every if m["conversationId"] == wanted]
        else:
            words = params.get("$search", "").strip('"').lower().split()
            found = [m for m in every if all(w in json.dumps(m).lower() for w in words)]
            found.sort(key=lambda m: m["receivedDateTime"], reverse=True)
        return httpx.Response(200, json={"value": found[: int(params.get("$top", "50"))]})

    def _find_message(self, message_id: str) -> dict[str, Any] | None:
        return self.items["inbox"].get(message_id) or self.items["sentitems"].get(message_id)

    def _message_call(self, request: httpx.Request, message_id: str, rest: list[str]) -> httpx.Response:
        original = self._find_message(message_id)
        if original is None:
            return graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        if not rest and request.method == "GET":
            return httpx.Response(200, json=original)
        if rest == ["createReply"] and request.method == "POST":
            self._counter += 1
            comment = json.loads(request.content).get("comment", "")
            draft = dict(original, id=f"draft-{self._counter}", isDraft=True, subject=f"RE: {original['subject']}")
            draft["body"] = {"contentType": "text", "content": comment}
            draft["toRecipients"] = [original["from"]]
            draft["from"] = _person(self.owner)
            self.drafts.append(draft)
            return httpx.Response(201, json=draft)
        return graph_error(400, "BadRequest", "Unsupported message call")

    def _create(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self._counter += 1
        event = {
            "id": f"ev-new-{self._counter}",
            "isAllDay": False,
            "isCancelled": False,
            "isOrganizer": True,
            "showAs": "busy",
            "type": "singleInstance",
            "organizer": _person(self.owner),
            "attendees": [],
            "bodyPreview": "",
            **body,
        }
        self.put("calendar", event)
        return httpx.Response(201, json=event)

    def _event_call(self, request: httpx.Request, event_id: str, rest: list[str]) -> httpx.Response:
        event = self.items["calendar"].get(event_id)
        if event is None:
            return graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        if not rest and request.method == "GET":
            return httpx.Response(200, json=event)
        if not rest and request.method == "PATCH":
            changed = {**event, **json.loads(request.content)}
            self.put("calendar", changed)
            return httpx.Response(200, json=changed)
        if not rest and request.method == "DELETE":
            self.delete("calendar", event_id)
            return httpx.Response(204)
        if len(rest) == 1 and rest[0] in ("accept", "decline", "tentativelyAccept") and request.method == "POST":
            answer = {"accept": "accepted", "decline": "declined", "tentativelyAccept": "tentativelyAccepted"}
            self.responses.append((event_id, rest[0]))
            people = [
                {**a, "status": {"response": answer[rest[0]]}} if a["emailAddress"]["address"] == self.owner else a
                for a in event["attendees"]
            ]
            self.put("calendar", {**event, "attendees": people})
            return httpx.Response(202)
        return graph_error(400, "BadRequest", "Unsupported event call")


def demo_transport(graph: DemoGraph | None = None) -> httpx.MockTransport:
    return httpx.MockTransport((graph or DemoGraph()).handler)
