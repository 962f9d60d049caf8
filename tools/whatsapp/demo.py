"""The demo profile's bridge: an in-memory ``httpx`` transport answering like ``whatsapp-bridge``
(same routes, shapes and errors), connected, with two chats and one pending message."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import unquote

import httpx

DEMO_TOKEN = "demo-bridge-token"  # noqa: S105 - the demo's fixed token, not a secret
ME = "15550000001@c.us"


def demo_credentials() -> dict[str, str]:
    return dict.fromkeys(("whatsapp.status", "whatsapp.read", "whatsapp.send", "whatsapp.pair"), DEMO_TOKEN)


def _message(seq: int, chat: str, name: str, group: bool, body: str, **extra: Any) -> dict[str, Any]:
    author = extra.pop("author", None)
    mid = f"false_{chat}_3EB0DEMO{seq:08d}" + (f"_{author}" if author else "")
    return {
        "id": mid,
        "chat_id": chat,
        "chat_name": name,
        "is_group": group,
        "from_me": False,
        "author": author or chat,
        "timestamp": int(time.time()) - (10 - seq) * 1800,  # the last few hours, whatever the day
        "type": "chat",
        "body": body,
        **extra,
    }


class DemoBridge:
    def __init__(self) -> None:
        self.chats: dict[str, dict[str, Any]] = {
            "15550000002@c.us": {"name": "Sam Rivera", "group": False, "messages": []},
            "120363000000000001@g.us": {"name": "Family", "group": True, "messages": []},
        }
        first = _message(1, "15550000002@c.us", "Sam Rivera", False, "Still on for lunch Thursday?")
        first["sender_saved_name"] = "Sam Rivera"
        group = _message(
            2, "120363000000000001@g.us", "Family", True, "Dinner at 7 on Sunday", author="15550000003@c.us"
        )
        group["sender_push_name"] = "Mum"
        self.chats["15550000002@c.us"]["messages"].append(first)
        self.chats["120363000000000001@g.us"]["messages"].append(group)
        self.inbox: dict[str, dict[str, Any]] = {first["id"]: first}
        self.sent: list[tuple[str, str]] = []
        self.voice: dict[str, tuple[str, bytes]] = {}  # message id -> (mimetype, audio) of voice notes
        self.state = "connected"  # set another bridge state to make WhatsApp calls answer 409
        self.qr: str | None = None  # the pairing string /v1/pairing hands over while pairing
        self.last_problem: dict[str, Any] | None = None
        self.down = False  # True: the bridge does not answer at all

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.headers.get("Authorization") != f"Bearer {DEMO_TOKEN}":
            return httpx.Response(401, json={"error": "missing_token", "message": "a bearer token is required"})
        path, params = request.url.path, request.url.params
        limit = int(params.get("limit", "20"))
        if path == "/v1/status":
            return httpx.Response(200, json=self._status())
        if path == "/v1/pairing":
            qr = self.qr if self.state == "pairing" else None
            return httpx.Response(200, json={**self._status(), "qr": qr, "code": None})
        if self.state != "connected" and not path.startswith("/v1/inbox"):
            message = f"WhatsApp is not connected (state: {self.state})"
            return httpx.Response(409, json={"error": "not_connected", "message": message, "state": self.state})
        if path == "/v1/logout":
            self.state = "logged_out"
            return httpx.Response(200, json=self._status())
        if path == "/v1/chats":
            return httpx.Response(200, json={"chats": [self._chat(cid) for cid in self.chats][:limit]})
        if path.startswith("/v1/chats/") and path.endswith("/messages"):
            chat = self.chats.get(unquote(path.split("/")[3]))
            if chat is None:
                return httpx.Response(404, json={"error": "no_such_chat", "message": "no such chat"})
            return httpx.Response(200, json={"messages": chat["messages"][-limit:]})
        if path == "/v1/search":
            q = params.get("q", "").lower()
            hits = [m for c in self.chats.values() for m in c["messages"] if q in m["body"].lower()]
            return httpx.Response(200, json={"messages": hits[:limit]})
        if path == "/v1/inbox":
            return httpx.Response(200, json={"messages": list(self.inbox.values())[:limit]})
        if path == "/v1/inbox/ack":
            ids = json.loads(request.content)["ids"]
            gone = [i for i in ids if self.inbox.pop(i, None) is not None]
            return httpx.Response(200, json={"acknowledged": len(gone), "pending": len(self.inbox)})
        if path.startswith("/v1/messages/") and path.endswith("/voice"):
            return self._voice(unquote(path.split("/")[3]))
        if path == "/v1/messages":
            body = json.loads(request.content)
            self.sent.append((body["chat_id"], body["body"]))
            sent = {"id": f"true_{body['chat_id']}_3EB0SENT{len(self.sent):06d}", "chat_id": body["chat_id"]}
            return httpx.Response(200, json={"message": {**sent, "timestamp": int(time.time())}})
        return httpx.Response(404, json={"error": "not_found", "message": "no such route"})

    def _voice(self, message_id: str) -> httpx.Response:
        if message_id in self.voice:
            mimetype, audio = self.voice[message_id]
            note = {"mimetype": mimetype, "data": base64.b64encode(audio).decode(), "size": len(audio)}
            return httpx.Response(200, json=note)
        found = [m for c in self.chats.values() for m in c["messages"] if m["id"] == message_id]
        if found and found[0]["type"] in ("ptt", "audio"):
            return httpx.Response(404, json={"error": "media_gone", "message": "WhatsApp no longer has the voice note"})
        if found:
            return httpx.Response(415, json={"error": "not_a_voice_note", "message": "the message is not a voice note"})
        return httpx.Response(404, json={"error": "no_such_message", "message": "no such message"})

    def _status(self) -> dict[str, Any]:
        status = {"state": self.state, "detail": "demo", "since": 0, "pending": len(self.inbox)}
        return status | ({"last_problem": self.last_problem} if self.last_problem else {})

    def _chat(self, chat_id: str) -> dict[str, Any]:
        c = self.chats[chat_id]
        last = c["messages"][-1] if c["messages"] else None
        when = last["timestamp"] if last else 0
        return {
            "id": chat_id,
            "name": c["name"],
            "is_group": c["group"],
            "unread_count": 1,
            "timestamp": when,
            "last_message": last,
        }


def demo_transport(bridge: DemoBridge | None = None) -> httpx.MockTransport:
    return httpx.MockTransport((bridge or DemoBridge()).handler)
