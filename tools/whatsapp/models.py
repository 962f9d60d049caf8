"""Frozen models of the bridge's JSON (``whatsapp-bridge/src/shapes.js`` and ``bridge.js``).

Everything in a :class:`WhatsAppMessage` or :class:`Chat` comes from other people or WhatsApp and is
untrusted: ``sender_push_name`` is whatever the sender chose to be called (it can read "Aegis
Owner"); ``sender_saved_name`` is the owner's own address-book name. Unknown fields are ignored.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

State = Literal[
    "starting",
    "pairing",
    "authenticated",
    "connected",
    "phone_offline",
    "conflict",
    "logged_out",
    "auth_failure",
    "web_changed",
    "blocked",
    "reconnecting",
    "stopped",
]


class BridgeModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Problem(BridgeModel):
    state: State
    detail: str | None = None
    at: int


class BridgeStatus(BridgeModel):
    state: State
    detail: str | None = None
    since: int  # epoch milliseconds
    last_problem: Problem | None = None
    pending: int = 0
    next_attempt_ms: int | None = None


class Pairing(BridgeStatus):
    qr: str | None = None  # the string to render as a QR code; WhatsApp rotates it
    code: str | None = None  # a pairing code to type on the phone


class WhatsAppMessage(BridgeModel):
    id: str
    chat_id: str
    chat_name: str | None = None
    is_group: bool = False
    from_me: bool = False
    author: str | None = None
    sender_saved_name: str | None = None
    sender_push_name: str | None = None
    timestamp: int = 0  # epoch seconds
    type: str = "chat"
    body: str = ""
    has_media: bool = False
    duration: float | None = None
    is_forwarded: bool = False
    has_quoted: bool = False
    links: tuple[str, ...] = ()
    seq: int | None = None  # inbox order, present on inbox messages
    received_at: int | None = None


class Chat(BridgeModel):
    id: str
    name: str | None = None
    is_group: bool = False
    unread_count: int = 0
    timestamp: int = 0
    archived: bool = False
    pinned: bool = False
    muted: bool = False
    read_only: bool = False
    last_message: WhatsAppMessage | None = None


class VoiceNote(BridgeModel):
    """A voice note's audio as the bridge hands it over (``GET /v1/messages/{id}/voice``)."""

    mimetype: str
    data: str  # base64
    size: int


class SentMessage(BridgeModel):
    id: str
    chat_id: str
    timestamp: int
