"""The WhatsApp bridge's HTTP API (``whatsapp-bridge/README.md``), over the shared httpx client.

Auth: every call carries a broker token for the bridge (``aud="whatsapp-bridge"``) with the one scope
the route needs, from the injected provider (:class:`tools.whatsapp.tokens.BridgeTokens` in
production). A 401 drops that token and the call is tried once more with a fresh one (the first may
have expired in flight); a second 401 raises :class:`AuthExpired`.

Errors (the bridge answers ``{"error", "message", "state"?}``): 400/413/415 → InvalidRequest; 401,
403 → AuthExpired; 404 → NotFound; 409 ``not_connected`` / ``not_pairing`` → :class:`NotConnected`
with the bridge's state; 429 → RateLimited; 5xx (``whatsapp_error``: WhatsApp Web failed) →
UpstreamError, retried. Sending carries an idempotency key, so a retried send is not sent twice.

Chat ids from callers (possibly from a model) are checked before they go into a URL path.

TLS: the deployed bridge serves HTTPS (TLS 1.3 only) with a certificate from the internal CA;
:func:`bridge_http` builds the client that trusts that CA alone. The embedded stack's bridge is plain
HTTP on loopback.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from broker.tls import client_verify
from tools._http import RetryPolicy, build_http_client, status_error
from tools.base import BaseIntegration
from tools.credentials import CredentialProvider
from tools.errors import AuthExpired, IntegrationError, InvalidRequest, UpstreamError
from tools.whatsapp.errors import NotConnected
from tools.whatsapp.models import BridgeStatus, Chat, Pairing, SentMessage, VoiceNote, WhatsAppMessage

DEFAULT_URL = "http://127.0.0.1:3001"
CHAT_ID = re.compile(r"[0-9]{5,20}@c\.us|[0-9]{5,20}(?:-[0-9]{5,20})?@g\.us|[0-9]{5,24}@lid")
MESSAGE_ID = re.compile(r"(?:true|false)_[0-9A-Za-z@._-]{5,200}")
MAX_BODY = 4096
MAX_VOICE_BYTES = 16 * 1024 * 1024


def bridge_http(base_url: str, ca_file: Path | None, shared: httpx.AsyncClient) -> httpx.AsyncClient:
    """The HTTP client for the bridge at ``base_url``. Plain HTTP (loopback, the embedded stack): the
    ``shared`` client. HTTPS: a client of its own (the shared one trusts the public roots, for the
    vendor APIs) that accepts only a certificate from ``ca_file`` (the internal CA), for the bridge's
    name, over TLS 1.3; with no CA file, the public roots, which an internal certificate never chains to."""
    if not base_url.startswith("https://"):
        return shared
    return build_http_client(verify=client_verify(ca_file))


def check_chat_id(chat_id: str) -> str:
    if not isinstance(chat_id, str) or not CHAT_ID.fullmatch(chat_id):
        raise InvalidRequest("invalid WhatsApp chat id", integration="whatsapp")
    return chat_id


def _limit(value: int, maximum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= maximum:
        raise InvalidRequest(f"limit must be 1-{maximum}", integration="whatsapp")
    return value


class WhatsAppClient(BaseIntegration):
    name = "whatsapp"

    def __init__(
        self,
        http: httpx.AsyncClient,
        tokens: CredentialProvider,
        *,
        base_url: str = DEFAULT_URL,
        logger_name: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(http, tokens, logger_name=logger_name, retry=retry)
        self._base = base_url.rstrip("/")

    # ---- transport -------------------------------------------------------------------------

    async def _call(
        self, method: str, path: str, scope: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> dict[str, Any]:
        for attempt in (1, 2):
            token = await self.get_credential(scope)
            response = await self._send(
                method, self._base + path, headers={"Authorization": f"Bearer {token}"}, params=params, json=json
            )
            if response.status_code == 401 and attempt == 1:
                self.invalidate_credential(scope)
                continue
            if response.status_code >= 400:
                raise self._error(response, token)
            try:
                body = response.json()
            except ValueError:
                raise UpstreamError("the bridge answered with invalid JSON", integration="whatsapp") from None
            if not isinstance(body, dict):
                raise UpstreamError("the bridge answered with an unexpected body", integration="whatsapp")
            return body
        raise AssertionError("unreachable")  # pragma: no cover

    def _error(self, response: httpx.Response, token: str) -> IntegrationError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        raw = body.get("error")
        # The bridge's error code is a plain word; anything else is not repeated (it could carry a token).
        code = raw if isinstance(raw, str) and re.fullmatch(r"[a-z_]{1,40}", raw) else None
        message = f"the WhatsApp bridge refused: {str(body.get('message') or response.reason_phrase)[:300]}"
        message = message.replace(token, "[REDACTED]")
        if response.status_code == 409 and code in ("not_connected", "not_pairing"):
            return NotConnected(message, state=str(body.get("state") or "unknown"))
        if response.status_code == 401:
            self.invalidate_credential(None)
            return AuthExpired(message, integration="whatsapp", status=401, code=code)
        return status_error(response, message, integration="whatsapp", code=code)

    # ---- status and pairing ----------------------------------------------------------------

    async def status(self) -> BridgeStatus:
        return BridgeStatus.model_validate(await self._call("GET", "/v1/status", "whatsapp.status"))

    async def pairing(self) -> Pairing:
        """The state with the current QR string (render it for the owner; it rotates) or pairing code."""
        return Pairing.model_validate(await self._call("GET", "/v1/pairing", "whatsapp.pair"))

    async def request_pairing_code(self, phone_number: str) -> str:
        digits = re.sub(r"[\s+()-]", "", phone_number)
        if not re.fullmatch(r"[0-9]{6,15}", digits):
            raise InvalidRequest("the phone number must be 6-15 digits, country code first", integration="whatsapp")
        body = await self._call("POST", "/v1/pairing/code", "whatsapp.pair", json={"phone_number": digits})
        return str(body["code"])

    async def logout(self) -> BridgeStatus:
        return BridgeStatus.model_validate(await self._call("POST", "/v1/logout", "whatsapp.pair"))

    async def health_check(self) -> bool:
        return await self._healthy(self.status)

    # ---- reading ---------------------------------------------------------------------------

    async def recent_chats(self, limit: int = 20) -> list[Chat]:
        body = await self._call("GET", "/v1/chats", "whatsapp.read", params={"limit": _limit(limit, 200)})
        return [Chat.model_validate(c) for c in body.get("chats", [])]

    async def chat_messages(self, chat_id: str, limit: int = 50) -> list[WhatsAppMessage]:
        path = f"/v1/chats/{check_chat_id(chat_id)}/messages"
        body = await self._call("GET", path, "whatsapp.read", params={"limit": _limit(limit, 500)})
        return [WhatsAppMessage.model_validate(m) for m in body.get("messages", [])]

    async def search(self, query: str, *, chat_id: str | None = None, limit: int = 20) -> list[WhatsAppMessage]:
        if not isinstance(query, str) or not query.strip() or len(query) > 200:
            raise InvalidRequest("the search query must be 1-200 characters", integration="whatsapp")
        params: dict[str, Any] = {"q": query, "limit": _limit(limit, 100)}
        if chat_id is not None:
            params["chat_id"] = check_chat_id(chat_id)
        body = await self._call("GET", "/v1/search", "whatsapp.read", params=params)
        return [WhatsAppMessage.model_validate(m) for m in body.get("messages", [])]

    async def voice_note(self, message_id: str) -> bytes:
        """The audio of a voice note (``type`` ``ptt`` or ``audio``), as WhatsApp stores it (Ogg/Opus)."""
        if not isinstance(message_id, str) or not MESSAGE_ID.fullmatch(message_id):
            raise InvalidRequest("invalid WhatsApp message id", integration="whatsapp")
        path = f"/v1/messages/{quote(message_id, safe='')}/voice"
        note = VoiceNote.model_validate(await self._call("GET", path, "whatsapp.read"))
        try:
            audio = base64.b64decode(note.data, validate=True)
        except (binascii.Error, ValueError):
            raise UpstreamError("the bridge sent a voice note that is not base64", integration="whatsapp") from None
        if not audio or len(audio) > MAX_VOICE_BYTES:
            raise UpstreamError("the bridge sent an empty or oversized voice note", integration="whatsapp")
        return audio

    # ---- the inbox: received messages until acknowledged ----------------------------------

    async def pending(self, limit: int = 100) -> list[WhatsAppMessage]:
        """Received messages the bridge keeps until :meth:`acknowledge`, oldest first."""
        body = await self._call("GET", "/v1/inbox", "whatsapp.read", params={"limit": _limit(limit, 500)})
        return [WhatsAppMessage.model_validate(m) for m in body.get("messages", [])]

    async def acknowledge(self, ids: Sequence[str]) -> int:
        """Tell the bridge these messages are stored (call after the commit); returns how many it dropped."""
        ids = list(ids)
        if not ids:
            return 0
        if len(ids) > 500:
            raise InvalidRequest("at most 500 ids per acknowledgement", integration="whatsapp")
        body = await self._call("POST", "/v1/inbox/ack", "whatsapp.read", json={"ids": ids})
        return int(body.get("acknowledged", 0))

    # ---- sending ---------------------------------------------------------------------------

    async def send(self, chat_id: str, text: str, *, idempotency_key: str | None = None) -> SentMessage:
        """Send ``text`` to ``chat_id``. Retries reuse one idempotency key, so WhatsApp gets it once."""
        check_chat_id(chat_id)
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_BODY:
            raise InvalidRequest(f"the message must be 1-{MAX_BODY} characters", integration="whatsapp")
        key = idempotency_key or secrets.token_urlsafe(18)
        body = await self._call(
            "POST",
            "/v1/messages",
            "whatsapp.send",
            json={"chat_id": chat_id, "body": text, "idempotency_key": key},
        )
        return SentMessage.model_validate(body["message"])
