"""X API v2 client: tweepy's ``AsyncClient`` with the owner's OAuth 1.0a user-context tokens.

The tokens are one vault secret, ``twitter-tokens``: ``{"consumer_key", "consumer_secret",
"access_token", "access_token_secret"}`` (the owner's app keys and the owner's own access token,
from the X developer console). The owner's user id is the access token's prefix (tweepy reads it
there), so no lookup is billed. Requests go through :class:`~tools.twitter.session.HttpxSession`.

Errors are typed (:mod:`tools.errors`): a 429 whose wait (``x-rate-limit-reset``, or a
``Retry-After``) is at most :data:`MAX_WAIT` seconds is waited out and sent again (a throttled request
was not processed, so even a post is safe to resend); a longer one is :class:`RateLimited` with
``retry_after``, for the caller to leave for later; a 403 "client-forbidden" answer (the app's access
level does not include the endpoint: reads need a paid tier) is :class:`ReadsNotInTier`; a 403 for a duplicate post is
:class:`DuplicatePost`. Messages hold X's title and reason, never a token.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import httpx
import tweepy  # type: ignore[import-untyped]
from tweepy.asynchronous import AsyncClient  # type: ignore[import-untyped]

from tools._http import Sleep, parse_retry_after
from tools.credentials import CredentialProvider
from tools.errors import (
    AuthExpired,
    IntegrationError,
    InvalidRequest,
    NotFound,
    RateLimited,
    UpstreamError,
)
from tools.twitter.session import HttpxSession

NAME = "twitter"
CREDENTIAL = "twitter-tokens"
_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
TWEET_FIELDS = ["created_at", "author_id", "public_metrics", "conversation_id", "entities"]
USER_FIELDS = ["username", "name", "verified"]
T = TypeVar("T")
MAX_WAIT = 30.0  # seconds a call waits out a 429 before it gives up with RateLimited
MAX_TRIES = 3


class ReadsNotInTier(IntegrationError):
    """X refused a read for the app's access level (the free tier posts but cannot read timelines)."""


class DuplicatePost(InvalidRequest):
    """X refused a post whose text is the same as one of the owner's recent posts."""


@dataclass(frozen=True)
class Tokens:
    consumer_key: str
    consumer_secret: str
    access_token: str
    access_token_secret: str

    @property
    def user_id(self) -> str:
        return self.access_token.partition("-")[0]


def parse_tokens(raw: str) -> Tokens:
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) and data[k] for k in _KEYS):
        raise AuthExpired(
            f"the {CREDENTIAL} secret must hold {', '.join(_KEYS)}", integration=NAME, code="not_connected"
        )
    return Tokens(*(str(data[k]) for k in _KEYS))


def _problem(exc: tweepy.HTTPException) -> dict[str, Any]:
    """X's problem document (``title``, ``detail``, ``reason``, ``type``), read back from the error."""
    errors = [e for e in exc.api_errors if isinstance(e, dict)]
    return errors[0] if errors else {}


def _retry_after(exc: tweepy.TooManyRequests) -> float | None:
    reset = getattr(exc, "reset_time", None)
    if reset is not None:
        return max(0.0, float(reset) - time.time())
    headers = getattr(exc.response, "headers", None) or {}
    return parse_retry_after(headers.get("retry-after"))


def translate(exc: Exception) -> IntegrationError:
    """tweepy's and httpx's errors as :mod:`tools.errors` types, without request data."""
    if isinstance(exc, tweepy.TooManyRequests):
        return RateLimited("X rate limit reached", retry_after=_retry_after(exc), integration=NAME, status=429)
    if isinstance(exc, tweepy.Unauthorized):
        return AuthExpired("X rejected the tokens", integration=NAME, status=401, code="unauthorized")
    if isinstance(exc, tweepy.Forbidden):
        return _forbidden(exc)
    if isinstance(exc, tweepy.NotFound):
        return NotFound("not found at X", integration=NAME, status=404)
    if isinstance(exc, tweepy.BadRequest):
        said = " ".join(exc.api_messages)[:200]
        return InvalidRequest(f"X refused the request: {said}", integration=NAME, status=400)
    if isinstance(exc, tweepy.TwitterServerError):
        return UpstreamError("X failed", integration=NAME, status=exc.response.status)
    if isinstance(exc, tweepy.HTTPException):
        return UpstreamError("X answered unexpectedly", integration=NAME, status=exc.response.status)
    return UpstreamError(f"X unreachable ({type(exc).__name__})", integration=NAME, code="transport")


def _forbidden(exc: tweepy.Forbidden) -> IntegrationError:
    body = cast(dict[str, Any], getattr(exc, "_x_body", None) or _problem(exc))
    reason, kind = str(body.get("reason") or ""), str(body.get("type") or "")
    detail = str(body.get("detail") or " ".join(exc.api_messages))
    if reason == "client-not-enrolled" or kind.endswith("/client-forbidden"):
        need = str(body.get("required_enrollment") or "a paid access level")
        return ReadsNotInTier(
            f"X's access level for this app does not include this endpoint (needs {need})",
            integration=NAME,
            status=403,
            code=reason or "client-forbidden",
        )
    if "duplicate content" in detail:
        return DuplicatePost("X refused a duplicate of a recent post", integration=NAME, status=403, code="duplicate")
    return InvalidRequest(f"X refused: {detail[:200]}", integration=NAME, status=403, code=reason or None)


class _Client(AsyncClient):  # type: ignore[misc]
    """Keeps X's problem document of a 403: tweepy keeps only ``errors``, and X's tier error has none."""

    async def request(
        self, method: str, route: str, params: Any = None, json: Any = None, user_auth: bool = False
    ) -> Any:
        try:
            return await super().request(method, route, params=params, json=json, user_auth=user_auth)
        except tweepy.Forbidden as exc:
            body = await exc.response.json()
            exc._x_body = body if isinstance(body, dict) else {}
            raise


class XClient:
    """The few X v2 calls Aegis makes, with the owner's user-context tokens from the vault."""

    def __init__(
        self, http: httpx.AsyncClient, credentials: CredentialProvider, *, sleep: Sleep = asyncio.sleep
    ) -> None:
        self._session = HttpxSession(http)
        self._credentials = credentials
        self._sleep = sleep

    async def _call(self, fn: Callable[[_Client, Tokens], Awaitable[T]]) -> T:
        for attempt in range(1, MAX_TRIES + 1):
            try:
                return await self._once(fn)
            except RateLimited as exc:
                wait = exc.retry_after
                if wait is None or wait > MAX_WAIT or attempt == MAX_TRIES:
                    raise
                await self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(self, fn: Callable[[_Client, Tokens], Awaitable[T]]) -> T:
        tokens = parse_tokens(await self._credentials.get(CREDENTIAL))
        client = _Client(
            consumer_key=tokens.consumer_key,
            consumer_secret=tokens.consumer_secret,
            access_token=tokens.access_token,
            access_token_secret=tokens.access_token_secret,
            return_type=dict,
        )
        client.session = self._session
        try:
            return await fn(client, tokens)
        except (tweepy.HTTPException, httpx.TransportError) as exc:
            raise translate(exc) from None

    async def me(self) -> dict[str, Any]:
        return await self._call(lambda c, _t: c.get_me(user_auth=True, user_fields=USER_FIELDS))

    async def home_timeline(
        self, *, max_results: int, since_id: str | None = None, pagination_token: str | None = None
    ) -> dict[str, Any]:
        return await self._call(
            lambda c, _t: c.get_home_timeline(
                user_auth=True,
                max_results=max_results,
                since_id=since_id,
                pagination_token=pagination_token,
                tweet_fields=TWEET_FIELDS,
                expansions=["author_id"],
                user_fields=USER_FIELDS,
            )
        )

    async def mentions(
        self, *, max_results: int, since_id: str | None = None, pagination_token: str | None = None
    ) -> dict[str, Any]:
        return await self._call(
            lambda c, t: c.get_users_mentions(
                t.user_id,
                user_auth=True,
                max_results=max_results,
                since_id=since_id,
                pagination_token=pagination_token,
                tweet_fields=TWEET_FIELDS,
                expansions=["author_id"],
                user_fields=USER_FIELDS,
            )
        )

    async def create_post(self, text: str) -> dict[str, Any]:
        return await self._call(lambda c, _t: c.create_tweet(text=text, user_auth=True))

    async def delete_post(self, post_id: str) -> dict[str, Any]:
        return await self._call(lambda c, _t: c.delete_tweet(post_id, user_auth=True))

    async def posts(self, ids: Sequence[str]) -> dict[str, Any]:
        return await self._call(
            lambda c, _t: c.get_tweets(list(ids), user_auth=True, tweet_fields=["created_at", "public_metrics"])
        )

    async def user_id(self) -> str:
        return parse_tokens(await self._credentials.get(CREDENTIAL)).user_id
