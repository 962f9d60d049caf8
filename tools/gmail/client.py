"""Gmail REST v1 client: ``https://gmail.googleapis.com/gmail/v1/users/me/...``, JSON over the shared client.

Auth: the credential is the broker's ``oauth-token`` secret (JSON with ``access_token``,
``refresh_token``, ``expires_at``, ``token_uri``, ``client_id``...). Only ``access_token`` is used, as
``Authorization: Bearer``. Refreshing is the broker's and the console's job, not this client's: a
401 drops the cached credential (so the next call reads whatever the broker holds now) and raises
:class:`AuthExpired`. A token whose ``expires_at`` has passed is re-read once before any request.

Errors (Google's body is ``{"error": {"code", "message", "status", "errors": [{"reason"}]}}``):
400 → InvalidRequest; 401 → AuthExpired; 403 with ``rateLimitExceeded``/``userRateLimitExceeded``
→ RateLimited (retried), other quota reasons → RateLimited, any other 403 (e.g. a missing scope) →
AuthExpired; 404 → NotFound (``list_history`` with a stale id: do a full resync); 429 → RateLimited;
5xx → UpstreamError.

Ids from callers (possibly from a model) are checked against Gmail's id alphabet before they go
into a URL path, so ``../`` tricks cannot reach another endpoint.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Literal

import httpx

from tools._http import RetryPolicy
from tools.credentials import CredentialProvider
from tools.errors import InvalidRequest
from tools.gmail.mime import encode_base64url
from tools.gmail.models import Draft, HistoryPage, Label, Message, MessageList, MessageRef, Profile, Thread
from tools.google import GoogleApiClient

BASE_URL = "https://gmail.googleapis.com/gmail/v1/users/me"
CREDENTIAL_NAME = "gmail-oauth"
HISTORY_TYPES = ("messageAdded", "messageDeleted", "labelAdded", "labelRemoved")
MessageFormat = Literal["full", "metadata", "minimal", "raw"]
_ID = re.compile(r"[A-Za-z0-9_-]{1,256}")
MAX_PAGE = 500


def _check_id(value: str, what: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidRequest(f"invalid Gmail {what}", integration="gmail")
    return value


class GmailClient(GoogleApiClient):
    name = "gmail"

    label = "Gmail"

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: CredentialProvider,
        *,
        credential_name: str = CREDENTIAL_NAME,
        base_url: str = BASE_URL,
        logger_name: str | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            http,
            credentials,
            credential_name=credential_name,
            base_url=base_url,
            logger_name=logger_name,
            retry=retry,
            clock=clock,
        )

    # ---- API -------------------------------------------------------------------------------

    async def profile(self) -> Profile:
        return Profile.model_validate(await self._call("GET", "/profile"))

    async def health_check(self) -> bool:
        return await self._healthy(self.profile)

    async def list_messages(
        self,
        q: str | None = None,
        label_ids: Sequence[str] | None = None,
        page_token: str | None = None,
        max_results: int = 100,
        include_spam_trash: bool = False,
    ) -> MessageList:
        """One page of message ids (``messages.list``); follow ``next_page_token`` for more."""
        if not 1 <= max_results <= MAX_PAGE:
            raise InvalidRequest(f"max_results must be 1-{MAX_PAGE}", integration="gmail")
        params: list[tuple[str, str | int]] = [("maxResults", max_results)]
        if q:
            params.append(("q", q))
        params.extend(("labelIds", _check_id(label, "label id")) for label in label_ids or ())
        if page_token:
            params.append(("pageToken", page_token))
        if include_spam_trash:
            params.append(("includeSpamTrash", "true"))
        return MessageList.model_validate(await self._call("GET", "/messages", params=params))

    async def iter_messages(
        self, q: str | None = None, label_ids: Sequence[str] | None = None, *, page_size: int = 100
    ) -> AsyncIterator[MessageRef]:
        """Every matching message id, page after page (a full sync's first step)."""
        token: str | None = None
        while True:
            page = await self.list_messages(q, label_ids, token, page_size)
            for ref in page.messages:
                yield ref
            if not page.next_page_token:
                return
            token = page.next_page_token

    async def get_message(
        self, id: str, format: MessageFormat = "full", metadata_headers: Sequence[str] = ()
    ) -> Message:
        params: list[tuple[str, str]] = [("format", format)]
        params.extend(("metadataHeaders", h) for h in metadata_headers)
        body = await self._call("GET", f"/messages/{_check_id(id, 'message id')}", params=params)
        return Message.model_validate(body)

    async def get_thread(self, id: str, format: MessageFormat = "full") -> Thread:
        if format == "raw":
            raise InvalidRequest("threads.get does not support format=raw", integration="gmail")
        body = await self._call("GET", f"/threads/{_check_id(id, 'thread id')}", params={"format": format})
        return Thread.model_validate(body)

    async def list_history(
        self,
        start_history_id: str,
        page_token: str | None = None,
        history_types: Sequence[str] = HISTORY_TYPES,
        label_id: str | None = None,
        max_results: int = 100,
    ) -> HistoryPage:
        """One page of mailbox changes after ``start_history_id``.

        Raises :class:`NotFound` when the id is too old or invalid: the caller must do a full resync.
        """
        if not start_history_id.isdigit():
            raise InvalidRequest("a history id is a decimal number", integration="gmail")
        if not 1 <= max_results <= MAX_PAGE:
            raise InvalidRequest(f"max_results must be 1-{MAX_PAGE}", integration="gmail")
        params: list[tuple[str, str | int]] = [("startHistoryId", start_history_id), ("maxResults", max_results)]
        for kind in history_types:
            if kind not in HISTORY_TYPES:
                raise InvalidRequest(f"unknown history type {kind!r}", integration="gmail")
            params.append(("historyTypes", kind))
        if label_id:
            params.append(("labelId", _check_id(label_id, "label id")))
        if page_token:
            params.append(("pageToken", page_token))
        return HistoryPage.model_validate(await self._call("GET", "/history", params=params))

    async def iter_history(
        self, start_history_id: str, history_types: Sequence[str] = HISTORY_TYPES
    ) -> AsyncIterator[HistoryPage]:
        """Every page of changes; keep the last page's ``history_id`` as the next starting point."""
        token: str | None = None
        while True:
            page = await self.list_history(start_history_id, token, history_types)
            yield page
            if not page.next_page_token:
                return
            token = page.next_page_token

    async def list_labels(self) -> list[Label]:
        body = await self._call("GET", "/labels")
        return [Label.model_validate(item) for item in body.get("labels", [])]

    async def create_draft(self, raw_rfc822: bytes, thread_id: str | None = None) -> Draft:
        message: dict[str, str] = {"raw": encode_base64url(raw_rfc822)}
        if thread_id:
            message["threadId"] = _check_id(thread_id, "thread id")
        body = await self._call("POST", "/drafts", json_body={"message": message}, idempotent=False)
        return Draft.model_validate(body)

    async def send_message(self, raw_rfc822: bytes, thread_id: str | None = None) -> Message:
        """Send mail. Not idempotent: retried only if the request never reached Google."""
        message: dict[str, str] = {"raw": encode_base64url(raw_rfc822)}
        if thread_id:
            message["threadId"] = _check_id(thread_id, "thread id")
        return Message.model_validate(await self._call("POST", "/messages/send", json_body=message, idempotent=False))

    async def modify_labels(self, id: str, add: Sequence[str] = (), remove: Sequence[str] = ()) -> Message:
        if not add and not remove:
            raise InvalidRequest("modify_labels needs labels to add or remove", integration="gmail")
        payload = {
            "addLabelIds": [_check_id(label, "label id") for label in add],
            "removeLabelIds": [_check_id(label, "label id") for label in remove],
        }
        body = await self._call("POST", f"/messages/{_check_id(id, 'message id')}/modify", json_body=payload)
        return Message.model_validate(body)
