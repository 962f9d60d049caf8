"""The voice socket, ``/voice/ws``, on the console's own origin.

It is a plain Starlette WebSocket route, outside the app-level HTTP guard, so it authenticates the
same way by itself before accepting: the Origin must be this console's, the access cookie must hold
a valid token of a live session (no token in the URL), and the check and its audit row go in one
group commit. Each voice turn re-checks the session, so revoking it ends the conversation.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any, cast

import structlog
from fastapi import Request
from sqlalchemy.orm import Session
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from agent.chat import NO_MODEL
from agent.loop import EventSink
from agent.services import AgentServices
from voice.bridge import ChatVoiceAgent
from voice.engines import VoiceEngines
from voice.ports import VoiceError
from voice.session import VoiceSession
from voice.store import TranscriptStore
from web.auditing import ADMIN, ANONYMOUS, client_ip
from web.auth.tokens import AccessClaims, InvalidAccessToken
from web.errors import AuditUnavailable
from web.guard import cookie_names
from web.routes.chat import title_for
from web.state import Console

log = structlog.get_logger("aegis.web.voice")
PATH = "/voice/ws"
MAX_FRAME = 64 * 1024  # bytes of audio per frame (a 16 kHz frame of 100 ms is 3.2 KB)
MAX_TEXT = 2048
POLICY_VIOLATION = 1008
TITLE = "Voice conversation"


def expected_origin(ws: WebSocket) -> str:
    scheme = "https" if ws.url.scheme == "wss" else "http"
    return f"{scheme}://{ws.url.netloc}"


def _as_request(ws: WebSocket) -> Request:
    # The auditor reads only what every HTTP connection has: path, headers, client and scope state.
    return cast(Request, ws)


async def authenticate(ws: WebSocket, c: Console) -> AccessClaims | None:
    """The claims of the owner's live session, or None (already audited) when refused."""
    request = _as_request(ws)
    reason: str | None = None
    claims: AccessClaims | None = None
    if c.api_limiter.check(client_ip(request) or "unknown"):
        reason = "rate_limited"
    elif ws.headers.get("origin") != expected_origin(ws):
        reason = "origin"
    else:
        token = ws.cookies.get(cookie_names(c).access, "")
        try:
            claims = c.keys.verify_access(token, c.now()) if token else None
        except InvalidAccessToken as exc:
            reason = f"invalid_token:{exc}"
        if claims is None and reason is None:
            reason = "no_credential"
    if claims is None:
        await c.auditor.commit(request, actor=ANONYMOUS, action="access.denied", result="denied", reason=reason)
        return None
    return claims if await session_live(ws, c, claims.sid, "voice.connect") else None


async def session_live(ws: WebSocket, c: Console, sid: str, action: str) -> bool:
    now = c.now()

    def check(s: Session) -> Mapping[str, Any]:
        found = c.sessions.check_active(s, sid, now)
        if found.refused is not None:
            return {"actor": ANONYMOUS, "action": "access.denied", "result": "denied", "reason": found.refused[:128]}
        return {"actor": ADMIN, "action": action, "result": "ok", "details": {"sid": sid}}

    row = await c.auditor.commit_checked(_as_request(ws), check)
    return row.result == "ok"


class SocketOutbox:
    """Sends from the receive loop and the reply task, one at a time."""

    def __init__(self, ws: WebSocket) -> None:
        self._ws = ws
        self._lock = asyncio.Lock()

    async def json(self, message: dict[str, Any]) -> None:
        async with self._lock:
            if self._ws.application_state is WebSocketState.CONNECTED:
                await self._ws.send_text(json.dumps(message, ensure_ascii=False))

    async def audio(self, pcm: bytes) -> None:
        async with self._lock:
            if self._ws.application_state is WebSocketState.CONNECTED:
                await self._ws.send_bytes(pcm)


class _Conversation:
    """The conversation this socket talks in: the one the page named, or a new one at the first turn."""

    def __init__(self, agent: AgentServices, cid: str | None) -> None:
        self.agent = agent
        self.id = cid
        self.voice: ChatVoiceAgent | None = None

    async def ensure(self, out: SocketOutbox, first_words: str) -> ChatVoiceAgent:
        if self.id is None:
            self.id = await self.agent.conversations.create(title_for(first_words) or TITLE, channel="voice")
            await out.json({"type": "conversation", "id": self.id, "url": f"/chat/{self.id}"})
        if self.voice is None:
            self.voice = ChatVoiceAgent(self.agent.chat, self.agent.conversations, self.id)
        return self.voice


class _Agent:
    """The session's agent: checks the owner's session before each turn, then runs the chat turn."""

    def __init__(self, ws: WebSocket, c: Console, sid: str, conv: _Conversation, out: SocketOutbox) -> None:
        self._ws, self._c, self._sid, self._conv, self._out = ws, c, sid, conv, out

    async def run(self, text: str, events: EventSink) -> None:
        if not await session_live(self._ws, self._c, self._sid, "voice.turn"):
            await self._out.json({"type": "error", "message": "Your session ended. Log in again."})
            await self._ws.close(code=POLICY_VIOLATION)
            return
        voice = await self._conv.ensure(self._out, text)
        await voice.run(text, events)

    async def interrupted(self, text: str, heard: str) -> None:
        if self._conv.voice is not None:
            await self._conv.voice.interrupted(text, heard)


async def voice_socket(ws: WebSocket) -> None:
    c: Console = ws.app.state.console
    try:
        claims = await authenticate(ws, c)
    except AuditUnavailable:
        await ws.close(code=1011)
        return
    if claims is None:
        await ws.close(code=POLICY_VIOLATION)
        return
    await ws.accept()
    out = SocketOutbox(ws)
    agent: AgentServices | None = getattr(ws.app.state, "agent", None)
    engines: VoiceEngines | None = getattr(ws.app.state, "voice", None)
    store: TranscriptStore | None = getattr(ws.app.state, "voice_store", None)
    if agent is None or engines is None or store is None or not agent.model_configured:
        why = NO_MODEL if agent is not None and not agent.model_configured else "Voice is not running on this server."
        await out.json({"type": "error", "message": why})
        await ws.close()
        return
    cid = ws.query_params.get("c") or None
    if cid is not None and (len(cid) > 64 or not any(x["id"] == cid for x in await agent.conversations.recent(200))):
        cid = None
    conv = _Conversation(agent, cid)

    async def keep(speaker: str, text: str, engine: str, seconds: float, wav: bytes | None) -> None:
        if text:
            if speaker == "owner":
                await conv.ensure(out, text)  # the first words name the conversation
            await store.add(
                kind="turn", speaker=speaker, text=text, engine=engine, seconds=seconds,
                conversation_id=conv.id, audio_wav=wav,
            )  # fmt: skip

    session = VoiceSession(engines, _Agent(ws, c, claims.sid, conv, out), out, keep)
    try:
        await _loop(ws, session)
    except WebSocketDisconnect:
        log.debug("voice socket closed by the phone")
    finally:
        await session.close()


async def _loop(ws: WebSocket, session: VoiceSession) -> None:
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        data = message.get("bytes")
        if data is not None:
            if len(data) > MAX_FRAME:
                await ws.close(code=1009)
                return
            try:
                await session.audio(data)
            except VoiceError as exc:
                await session.out.json({"type": "error", "message": str(exc)})
            continue
        text = message.get("text") or ""
        if len(text) > MAX_TEXT:
            await ws.close(code=1009)
            return
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(parsed, dict):
            await session.control(parsed)
