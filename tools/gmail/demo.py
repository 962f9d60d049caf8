"""A stateful in-memory Gmail for the demo profile and for tests of ``mcp_servers``.

``demo_transport()`` returns an ``httpx.MockTransport`` that answers the Gmail REST v1 calls
:class:`~tools.gmail.client.GmailClient` makes, with payloads shaped like the real API (base64url
part bodies, ``internalDate`` as a string, Google's error bodies). Each :class:`DemoMailbox` is
independent: drafts, sends and label changes update it and append history records.

    mailbox = DemoMailbox()
    http = build_http_client(transport=demo_transport(mailbox))
    gmail = GmailClient(http, StaticCredentials(demo_credentials()))
"""

from __future__ import annotations

import email
import email.message
import email.policy
import email.utils
import html
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qs

import httpx

from tools.gmail.demo_data import mailbox as data
from tools.gmail.mime import decode_base64url, encode_base64url

DEMO_ACCESS_TOKEN: Final = "ya29.demo-gmail-access-token-not-a-real-credential"  # noqa: S105 - public demo value
PREFIX: Final = "/gmail/v1/users/me"
_HISTORY_FIELD: Final = {
    "messageAdded": "messagesAdded",
    "messageDeleted": "messagesDeleted",
    "labelAdded": "labelsAdded",
    "labelRemoved": "labelsRemoved",
}


DEMO_REFRESH_TOKEN = "1//demo-refresh-token"  # noqa: S105 - the demo's fake, not a credential
REVOKE_HOST = "oauth2.googleapis.com"


def demo_credentials() -> dict[str, str]:
    """What a ``StaticCredentials`` needs for :class:`GmailClient` against the demo mailbox."""
    token = {
        "access_token": DEMO_ACCESS_TOKEN,
        "refresh_token": DEMO_REFRESH_TOKEN,
        "token_type": "Bearer",
        "expires_at": 4_102_444_800,  # 2100-01-01: the demo token does not expire
        "token_uri": "https://oauth2.googleapis.com/token",
        "client_id": "demo.apps.googleusercontent.com",
        "scope": "https://www.googleapis.com/auth/gmail.modify",
    }
    return {"gmail-oauth": json.dumps(token)}


def _error(code: int, message: str, reason: str, status: str) -> httpx.Response:
    body = {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
            "status": status,
        }
    }
    return httpx.Response(code, json=body)


def _not_found() -> httpx.Response:
    return _error(404, "Requested entity was not found.", "notFound", "NOT_FOUND")


_DAY_IN_QUERY = re.compile(r"\d{4}[/-]\d{1,2}[/-]\d{1,2}")
_DAY_IN_TEXT = re.compile(r"\[\[(\d{4}-\d{2}-\d{2})\|([^\]]+)\]\]")


def moved(text: str, shift: timedelta) -> str:
    """Dates written in a demo mail's text, moved with the mailbox."""
    return _DAY_IN_TEXT.sub(lambda m: (date.fromisoformat(m.group(1)) + shift).strftime(m.group(2)), text)


def _rfc822(spec: dict[str, Any], by_index: list[dict[str, Any]], shift: timedelta) -> email.message.EmailMessage:
    msg = email.message.EmailMessage(policy=email.policy.SMTP)
    msg["From"], msg["To"] = spec["from"], spec["to"]
    if spec.get("cc"):
        msg["Cc"] = spec["cc"]
    msg["Subject"] = spec["subject"]
    msg["Date"] = email.utils.format_datetime(datetime.fromisoformat(spec["date"]) + shift)
    msg["Message-ID"] = f"<{spec['id']}@mail.demo.example>"
    if "reply_to_index" in spec:
        parent = by_index[spec["reply_to_index"]]
        msg["In-Reply-To"] = f"<{parent['id']}@mail.demo.example>"
        msg["References"] = f"<{parent['thread']}@mail.demo.example> <{parent['id']}@mail.demo.example>"
    msg.set_content(moved(spec["text"], shift))
    if spec.get("html"):
        msg.add_alternative(spec["html"], subtype="html")
    if spec.get("attachment"):
        att = spec["attachment"]
        maintype, subtype = att["mime"].split("/")
        msg.add_attachment(
            b"%PDF-1.7\n" + b"\0" * (att["size"] - 9), maintype=maintype, subtype=subtype, filename=att["filename"]
        )
    return msg


def _part(em: email.message.Message, part_id: str, message_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "partId": part_id,
        "mimeType": em.get_content_type(),
        "filename": em.get_filename() or "",
        "headers": [{"name": k, "value": str(v)} for k, v in em.items()],
    }
    if em.is_multipart():
        out["body"] = {"size": 0}
        children = em.get_payload()
        assert isinstance(children, list)
        prefix = f"{part_id}." if part_id else ""
        out["parts"] = [_part(child, f"{prefix}{i}", message_id) for i, child in enumerate(children)]
        return out
    payload = em.get_payload(decode=True)
    raw = payload if isinstance(payload, bytes) else b""
    if out["filename"]:
        out["body"] = {"attachmentId": f"ANGjdJ_{message_id}_{part_id.replace('.', '_')}", "size": len(raw)}
    else:
        out["body"] = {"size": len(raw), "data": encode_base64url(raw)}
    return out


def _snippet(em: email.message.EmailMessage) -> str:
    body = em.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    return html.escape(" ".join(str(text).split()))[:140]


class DemoMailbox:
    """One mailbox's state. ``sent`` keeps the raw RFC 822 bytes of everything sent, for assertions."""

    def __init__(self, today: date | None = None) -> None:
        """``today``: move the whole mailbox in time so its newest mail is from that day (the demo
        profile passes the real date, so the demo looks alive on any day). Each day also moves the
        history ids on, so a store synced on an earlier day gets Gmail's 404 and resyncs in full."""
        days = 0 if today is None else (today - data.ANCHOR_DAY).days
        self.shift = timedelta(days=days)
        self.epoch = days * data.HISTORY_PER_DAY
        self.owner = data.OWNER
        self.messages: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.history: list[dict[str, Any]] = [dict(h, id=h["id"] + self.epoch) for h in data.HISTORY]
        self.history_id = data.START_HISTORY_ID + self.epoch
        self.drafts: dict[str, str] = {}
        self.sent: list[bytes] = []
        self.labels = {label["id"]: dict(label) for label in data.LABELS}
        self.revoked: list[str] = []  # tokens revoked at Google's revocation endpoint
        self.revoke_fails = False  # tests: the revocation endpoint answers 503
        self._counter = 0
        for spec in data.MESSAGES:
            em = _rfc822(spec, data.MESSAGES, self.shift)
            stamp = int((datetime.fromisoformat(spec["date"]) + self.shift).timestamp() * 1000)
            hid = spec["history"] + self.epoch
            self._store(spec["id"], spec["thread"], list(spec["labels"]), hid, stamp, em)

    # ---- state -----------------------------------------------------------------------------

    def _store(self, mid: str, tid: str, labels: list[str], hid: int, stamp: int, em: email.message.Message) -> None:
        raw = em.as_bytes(policy=email.policy.SMTP)
        parsed = email.message_from_bytes(raw, _class=email.message.EmailMessage, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        self.messages[mid] = {
            "id": mid,
            "threadId": tid,
            "labelIds": labels,
            "historyId": hid,
            "internalDate": stamp,
            "raw": raw,
            "payload": _part(parsed, "", mid),
            "snippet": _snippet(parsed),
        }
        self.order.append(mid)

    def _next_ids(self) -> tuple[str, int]:
        self._counter += 1
        self.history_id += 7
        return f"18f4{self._counter:012x}", self.history_id

    def _record(self, kind: str, mid: str, labels: list[str] | None = None) -> None:
        entry: dict[str, Any] = {"id": self.history_id, "kind": kind, "message": mid}
        if labels is not None:
            entry["labels"] = labels
        self.history.append(entry)
        self.messages[mid]["historyId"] = self.history_id

    def _add_raw(self, raw_b64: str, thread_id: str | None, labels: list[str]) -> dict[str, Any]:
        raw = decode_base64url(raw_b64)
        em = email.message_from_bytes(raw, _class=email.message.EmailMessage, policy=email.policy.default)
        mid, hid = self._next_ids()
        known = {m["threadId"] for m in self.messages.values()}
        tid = thread_id if thread_id is not None and thread_id in known else mid
        stamp = max(m["internalDate"] for m in self.messages.values()) + 60_000
        self._store(mid, tid, labels, hid, stamp, em)
        self._record("messagesAdded", mid)
        return self.messages[mid]

    # ---- views -----------------------------------------------------------------------------

    def _view(self, msg: dict[str, Any], fmt: str = "full") -> dict[str, Any]:
        out = {k: msg[k] for k in ("id", "threadId", "labelIds", "snippet")}
        out |= {
            "historyId": str(msg["historyId"]),
            "internalDate": str(msg["internalDate"]),
            "sizeEstimate": len(msg["raw"]),
        }
        if fmt == "raw":
            out["raw"] = encode_base64url(msg["raw"])
        elif fmt == "metadata":
            out["payload"] = {k: msg["payload"][k] for k in ("partId", "mimeType", "filename", "headers")}
        elif fmt == "full":
            out["payload"] = msg["payload"]
        return out

    def _matches(self, msg: dict[str, Any], query: str, label_ids: list[str]) -> bool:
        if not set(label_ids) <= set(msg["labelIds"]):
            return False
        headers = {h["name"].lower(): h["value"].lower() for h in msg["payload"]["headers"]}
        for term in query.lower().split():
            key, _, value = term.partition(":")
            if key == "is" and value in ("unread", "important", "starred"):
                ok = value.upper() in msg["labelIds"]
            elif key in ("after", "before") and _DAY_IN_QUERY.fullmatch(value):
                # Gmail's after:/before: dates; compared with the message's date (UTC, to the day).
                sent = datetime.fromtimestamp(int(msg["internalDate"]) / 1000, UTC).date()
                bound = date(*(int(p) for p in value.replace("-", "/").split("/")))
                ok = sent >= bound if key == "after" else sent < bound
            elif key == "in" and value in ("inbox", "sent"):
                ok = value.upper() in msg["labelIds"]
            elif key == "label":
                names = {self.labels[i]["name"].lower() for i in msg["labelIds"] if i in self.labels}
                ok = value in names
            elif key in ("from", "to", "subject") and value:
                ok = value in headers.get(key, "")
            else:
                ok = term in headers.get("subject", "") or term in msg["snippet"].lower()
            if not ok:
                return False
        return True

    # ---- HTTP ------------------------------------------------------------------------------

    def _revoke(self, request: httpx.Request) -> httpx.Response:
        """Google's token revocation endpoint: a form post with ``token``; revoking either token of a
        grant ends the whole grant."""
        if self.revoke_fails:
            return httpx.Response(503, json={"error": "temporarily_unavailable"})
        token = parse_qs(request.content.decode("ascii", "replace")).get("token", [""])[0]
        if request.method != "POST" or token not in (DEMO_ACCESS_TOKEN, DEMO_REFRESH_TOKEN) or self.revoked:
            return httpx.Response(400, json={"error": "invalid_token", "error_description": "Token expired or revoked"})
        self.revoked.append(token)
        return httpx.Response(200, json={})

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == REVOKE_HOST and request.url.path == "/revoke":
            return self._revoke(request)
        if request.url.host != "gmail.googleapis.com" or not request.url.path.startswith(PREFIX):
            return _not_found()
        if request.headers.get("Authorization") != f"Bearer {DEMO_ACCESS_TOKEN}":
            return _error(401, "Request had invalid authentication credentials.", "authError", "UNAUTHENTICATED")
        segments = tuple(request.url.path[len(PREFIX) :].strip("/").split("/"))
        params = request.url.params
        body = json.loads(request.content) if request.content else {}
        match (request.method, *segments):
            case ("GET", "profile"):
                return httpx.Response(200, json=self._profile())
            case ("GET", "messages"):
                return self._list(params.get("q", ""), params.get_list("labelIds"), params)
            case ("POST", "messages", "send"):
                msg = self._add_raw(body["raw"], body.get("threadId"), ["SENT"])
                self.sent.append(msg["raw"])
                return httpx.Response(200, json={k: msg[k] for k in ("id", "threadId", "labelIds")})
            case ("GET", "messages", str(mid)):
                found = self.messages.get(mid)
                if found is None:
                    return _not_found()
                return httpx.Response(200, json=self._view(found, params.get("format", "full")))
            case ("POST", "messages", str(mid), "modify"):
                return self._modify(mid, body)
            case ("GET", "threads", str(tid)):
                return self._thread(tid, params.get("format", "full"))
            case ("GET", "history"):
                return self._history(params)
            case ("GET", "labels"):
                return httpx.Response(200, json={"labels": list(self.labels.values())})
            case ("POST", "drafts"):
                draft = self._add_raw(body["message"]["raw"], body["message"].get("threadId"), ["DRAFT"])
                draft_id = f"r{draft['id']}"
                self.drafts[draft_id] = draft["id"]
                return httpx.Response(200, json={"id": draft_id, "message": self._view(draft, "minimal")})
        return _not_found()

    def _profile(self) -> dict[str, Any]:
        return {
            "emailAddress": email.utils.parseaddr(self.owner)[1],
            "messagesTotal": len(self.messages),
            "threadsTotal": len({m["threadId"] for m in self.messages.values()}),
            "historyId": str(self.history_id),
        }

    def _thread(self, tid: str, fmt: str) -> httpx.Response:
        members = [self.messages[m] for m in self.order if self.messages[m]["threadId"] == tid]
        if not members:
            return _not_found()
        return httpx.Response(
            200,
            json={
                "id": tid,
                "historyId": str(max(m["historyId"] for m in members)),
                "messages": [self._view(m, fmt) for m in members],
            },
        )

    def _list(self, query: str, label_ids: list[str], params: httpx.QueryParams) -> httpx.Response:
        hits = [m for m in reversed(self.order) if self._matches(self.messages[m], query, label_ids)]
        start, size = int(params.get("pageToken", "0") or 0), int(params.get("maxResults", "100"))
        page = hits[start : start + size]
        out: dict[str, Any] = {"resultSizeEstimate": len(hits)}
        if page:
            out["messages"] = [{"id": m, "threadId": self.messages[m]["threadId"]} for m in page]
        if start + size < len(hits):
            out["nextPageToken"] = str(start + size)
        return httpx.Response(200, json=out)

    def _history(self, params: httpx.QueryParams) -> httpx.Response:
        start = int(params["startHistoryId"])
        if start < data.HISTORY_FLOOR + self.epoch:
            return _not_found()
        kinds = {_HISTORY_FIELD[k] for k in params.get_list("historyTypes") if k in _HISTORY_FIELD}
        records = [h for h in self.history if h["id"] > start and (not kinds or h["kind"] in kinds)]
        offset, size = int(params.get("pageToken", "0") or 0), int(params.get("maxResults", "100"))
        page = records[offset : offset + size]
        out: dict[str, Any] = {"historyId": str(self.history_id)}
        if page:
            out["history"] = [self._history_record(h) for h in page]
        if offset + size < len(records):
            out["nextPageToken"] = str(offset + size)
        return httpx.Response(200, json=out)

    def _history_record(self, entry: dict[str, Any]) -> dict[str, Any]:
        msg = self.messages[entry["message"]]
        ref = {"id": msg["id"], "threadId": msg["threadId"], "labelIds": msg["labelIds"]}
        change: dict[str, Any] = {"message": ref}
        if "labels" in entry:
            change["labelIds"] = entry["labels"]
        return {
            "id": str(entry["id"]),
            "messages": [{"id": msg["id"], "threadId": msg["threadId"]}],
            entry["kind"]: [change],
        }

    def _modify(self, ident: str, body: dict[str, Any]) -> httpx.Response:
        msg = self.messages.get(ident)
        if msg is None:
            return _not_found()
        add, remove = body.get("addLabelIds", []), body.get("removeLabelIds", [])
        for label in [*add, *remove]:
            if label not in self.labels:
                return _error(400, f"Invalid label: {label}", "invalidArgument", "INVALID_ARGUMENT")
        added = [label for label in add if label not in msg["labelIds"]]
        removed = [label for label in remove if label in msg["labelIds"]]
        msg["labelIds"] = [label for label in msg["labelIds"] if label not in removed] + added
        if added:
            self.history_id += 1
            self._record("labelsAdded", ident, added)
        if removed:
            self.history_id += 1
            self._record("labelsRemoved", ident, removed)
        return httpx.Response(200, json={k: msg[k] for k in ("id", "threadId", "labelIds")})


def demo_transport(mailbox: DemoMailbox | None = None) -> httpx.MockTransport:
    """A transport serving ``mailbox`` (a fresh one when omitted)."""
    return httpx.MockTransport((mailbox or DemoMailbox()).handler)
