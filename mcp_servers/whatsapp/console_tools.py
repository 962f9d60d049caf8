"""The WhatsApp server's console-only tools (class ADMIN: the model never sees them) and the views
of the home page and briefing.

``pairing`` answers the console's generic ``connect.kind: qr`` page: a ``headline`` and ``detail``
in the owner's words for every bridge state (never silence: a bridge that does not answer is a
state too), the QR string to draw while pairing, or a pairing code. ``logout`` unlinks the device
(the manifest's ``disconnect_tool``). ``unread_chats`` and ``needs_answer`` feed the messages panel
and the briefing section.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field
from typing_extensions import TypedDict

from mcp_servers._common import LOCAL_READ, READ, SEND, CallGate, audit_details, vendor_errors
from mcp_servers.whatsapp.service import WhatsAppService
from tools.errors import IntegrationError
from tools.whatsapp.errors import NotConnected
from tools.whatsapp.models import Chat, Pairing

NAME = "whatsapp"
FREQUENT_DAYS = 30
ANSWER_WINDOW_SECONDS = 3 * 24 * 3600

HEADLINES: dict[str, tuple[str, str]] = {
    "starting": ("Starting WhatsApp Web", "The bridge is loading WhatsApp Web; the QR code follows."),
    "pairing": ("Scan this code with WhatsApp on your phone", "WhatsApp, Settings, Linked devices, Link a device."),
    "authenticated": ("Paired: syncing with your phone", "Keep WhatsApp open on the phone for a minute."),
    "connected": ("Connected", "Messages reach Aegis as they arrive."),
    "phone_offline": ("Your phone is offline", "WhatsApp Web lost its connection; check the phone's network."),
    "conflict": ("WhatsApp is open on another computer", "Close WhatsApp Web elsewhere, then pair again here."),
    "logged_out": ("Logged out", "This device is no longer linked; scan the new QR code to pair again."),
    "auth_failure": ("The saved session was refused", "Pair again: a new QR code follows."),
    "web_changed": (
        "WhatsApp Web changed",
        "The bridge no longer understands WhatsApp Web; update whatsapp-bridge/ (npm ci) and restart Aegis.",
    ),
    "blocked": ("WhatsApp blocked this account", "WhatsApp refused this number or network; see the phone."),
    "reconnecting": ("Reconnecting", "The bridge starts WhatsApp Web again after a pause that grows on failure."),
    "stopped": ("The bridge stopped", "Restart Aegis to start it again."),
}


class PairingResult(TypedDict):
    state: str
    connected: bool
    headline: str
    detail: str
    qr: str | None
    code: str | None
    problem: str | None
    retry_in_seconds: int | None


class PairCodeResult(TypedDict):
    code: str


class LogoutResult(TypedDict):
    removed: list[str]
    state: str


class ChatItem(TypedDict):
    id: str
    name: str
    group: bool
    unread: int
    date: str | None
    last_message: str | None


class ChatLine(ChatItem):
    when: str  # for a panel: "02 Dec 15:50 UTC"


class Person(TypedDict):
    name: str
    messages: int
    messages_text: str  # "1 message", "4 messages"


class UnreadResult(TypedDict):
    chats: list[ChatLine]
    people: list[Person]
    unread_total: int


class NeedsAnswerResult(TypedDict):
    chats: list[ChatLine]


def pairing_result(p: Pairing) -> PairingResult:
    headline, detail = HEADLINES.get(p.state, (p.state.replace("_", " ").capitalize(), ""))
    if p.state == "pairing" and p.code:
        headline, detail = "Enter this code on your phone", "WhatsApp, Linked devices, Link with phone number."
    problem = None
    if p.last_problem is not None and p.state != p.last_problem.state:
        seen = datetime.fromtimestamp(p.last_problem.at / 1000, tz=UTC).strftime("%d %b %H:%M UTC")
        problem = f"{HEADLINES.get(p.last_problem.state, (p.last_problem.state, ''))[0]} ({seen})"
    return {
        "state": p.state,
        "connected": p.state == "connected",
        "headline": headline,
        "detail": p.detail if p.state in ("reconnecting", "auth_failure", "blocked") and p.detail else detail,
        "qr": p.qr if p.state == "pairing" else None,
        "code": p.code if p.state == "pairing" else None,
        "problem": problem,
        "retry_in_seconds": round(p.next_attempt_ms / 1000) if p.next_attempt_ms else None,
    }


def unreachable(exc: IntegrationError) -> PairingResult:
    return {
        "state": "unreachable",
        "connected": False,
        "headline": "The WhatsApp bridge does not answer",
        "detail": f"Aegis restarts it by itself; /health shows how it is doing ({exc.message[:160]}).",
        "qr": None,
        "code": None,
        "problem": None,
        "retry_in_seconds": None,
    }


def iso_date(epoch: int | None) -> str | None:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat() if epoch else None


def chat_item(c: Chat) -> ChatItem:
    last = c.last_message
    return {
        "id": c.id,
        "name": c.name or c.id,
        "group": c.is_group,
        "unread": c.unread_count,
        "date": iso_date(c.timestamp),
        "last_message": last.body[:200] if last is not None else None,
    }


def _unread(c: Chat) -> ChatLine:
    item = chat_item(c)
    when = datetime.fromtimestamp(c.timestamp, tz=UTC).strftime("%d %b %H:%M UTC") if c.timestamp else ""
    return {**item, "last_message": item["last_message"] or "(no text)", "when": when}


@contextmanager
def bridge_errors() -> Iterator[None]:
    """:func:`vendor_errors`, with the bridge's connection states explained first."""
    with vendor_errors(NAME):
        try:
            yield
        except NotConnected as exc:
            raise ToolError(_not_connected(exc)) from None


def _not_connected(exc: NotConnected) -> str:
    if exc.needs_update:
        return "whatsapp: WhatsApp Web changed and the bridge needs an update"
    if exc.needs_owner:
        return f"whatsapp: the owner must act in the console ({exc.state})"
    return f"whatsapp: not connected right now ({exc.state}); try again later"


def register_console_tools(server: MCPServer, gate: CallGate, svc: WhatsAppService) -> None:
    @server.tool(annotations=LOCAL_READ)
    async def pairing(ctx: Context) -> PairingResult:
        """Console only: the bridge's pairing state in plain words, with the QR string or pairing code."""
        await gate.check(ctx, "whatsapp.pair", "pairing")
        try:
            return pairing_result(await svc.client.pairing())
        except IntegrationError as exc:
            return unreachable(exc)

    @server.tool(annotations=SEND)
    async def pair_code(
        phone_number: Annotated[str, Field(min_length=6, max_length=20, pattern=r"^[0-9 +()-]+$")], ctx: Context
    ) -> PairCodeResult:
        """Console only: pair with a code typed on the phone instead of scanning the QR code."""
        await gate.check(ctx, "whatsapp.pair", "pair_code")
        with bridge_errors():
            return {"code": await svc.client.request_pairing_code(phone_number)}

    @server.tool(annotations=SEND)
    async def logout(ctx: Context) -> LogoutResult:
        """Console only: unlink this device from the owner's WhatsApp (pairing again needs the phone)."""
        claims = await gate.check(ctx, "whatsapp.pair", "logout")
        with bridge_errors():
            state = await svc.logout(audit_details(claims))
        return {"removed": ["linked-device"], "state": state}

    @server.tool(annotations=READ)
    async def unread_chats(ctx: Context, limit: Annotated[int, Field(ge=1, le=50)] = 10) -> UnreadResult:
        """Unread WhatsApp chats, and the people the owner wrote with most in the last 30 days."""
        await gate.check(ctx, "whatsapp.read", "unread_chats")
        with bridge_errors():
            chats = [c for c in await svc.recent_chats(50) if c.unread_count > 0 and not c.muted]
        people = await svc.frequent_people(FREQUENT_DAYS, limit)
        return {
            "chats": [_unread(c) for c in chats[:limit]],
            "people": [
                {"name": n, "messages": k, "messages_text": f"{k} message{'' if k == 1 else 's'}"} for n, k in people
            ],
            "unread_total": sum(c.unread_count for c in chats),
        }

    @server.tool(annotations=READ)
    async def needs_answer(ctx: Context, limit: Annotated[int, Field(ge=1, le=50)] = 10) -> NeedsAnswerResult:
        """Chats whose last message, from someone else in the last 3 days, still waits for the owner's answer."""
        await gate.check(ctx, "whatsapp.read", "needs_answer")
        with bridge_errors():
            chats = await svc.recent_chats(50)
        now = datetime.now(tz=UTC).timestamp()
        waiting = [
            c
            for c in chats
            if c.last_message is not None
            and not c.last_message.from_me
            and not c.muted
            and now - c.timestamp <= ANSWER_WINDOW_SECONDS
            and (not c.is_group or c.last_message.body.rstrip().endswith("?"))
        ]
        return {"chats": [_unread(c) for c in waiting[:limit]]}
