"""The shared HTTP client and the one retry helper every integration call goes through.

- :func:`build_http_client` builds the single ``httpx.AsyncClient`` the composition root injects into
  every client: explicit timeouts and pool limits, no proxy or ``.netrc`` from the environment
  (``trust_env=False``) and no redirects (a redirect from an API is an error, not an invitation).
- :func:`send_with_retry` runs one request under tenacity: transport errors, 429 and 5xx are
  retried with exponential backoff and jitter; ``Retry-After`` (seconds or an HTTP date) is
  honoured; attempts and total waiting are bounded; other 4xx are never retried. A request that is
  not idempotent (sending mail, exchanging a single-use token) is retried only when it surely never
  reached the server: a connect failure or a 429.
- :func:`status_error` maps a final failed response to the :mod:`tools.errors` tree when a vendor
  mapper has nothing more specific to say.

The wait strategy is injectable (``RetryPolicy.sleep``), so tests never sleep for real.
"""

from __future__ import annotations

import asyncio
import email.utils
import secrets
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from tenacity import AsyncRetrying, RetryCallState

from tools.errors import AuthExpired, IntegrationError, InvalidRequest, NotFound, RateLimited, UpstreamError

USER_AGENT = "aegis-integrations/0.1"
_SYSTEM_RANDOM = secrets.SystemRandom()
# Raised before any byte of the request left: safe to retry even a non-idempotent request.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

Sleep = Callable[[float], Awaitable[None]]
Send = Callable[[], Awaitable[httpx.Response]]


def build_http_client(
    *,
    timeout: float = 30.0,
    connect_timeout: float = 10.0,
    max_connections: int = 20,
    max_keepalive: int = 10,
    transport: httpx.AsyncBaseTransport | None = None,
    verify: ssl.SSLContext | bool = True,
) -> httpx.AsyncClient:
    """The one shared client. ``transport`` is the seam for tests and the demo profile; ``verify``
    an SSL context for another Aegis service (:func:`broker.tls.client_verify`)."""
    return httpx.AsyncClient(
        verify=verify,
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_keepalive),
        trust_env=False,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        transport=transport,
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds and seams for :func:`send_with_retry`.

    The backoff before attempt ``n + 1`` is ``min(backoff_max, backoff_base * 2**(n-1))``, scaled by a
    jitter factor in [0.5, 1). A ``Retry-After`` replaces the backoff. No retry happens when the
    waiting so far plus the next wait would pass ``max_total_seconds``; the last response is then
    returned (and mapped by the caller, e.g. to ``RateLimited(retry_after=...)``).
    """

    max_attempts: int = 4
    max_total_seconds: float = 30.0
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    sleep: Sleep = asyncio.sleep
    random: Callable[[], float] = field(default=_SYSTEM_RANDOM.random)
    now: Callable[[], datetime] = field(default=_utcnow)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent/invalid."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value)) if value.replace(".", "", 1).isdigit() else _from_date(value, now)
    except (TypeError, ValueError, OverflowError):
        return None


def _from_date(value: str, now: datetime | None) -> float | None:
    when = email.utils.parsedate_to_datetime(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or _utcnow())).total_seconds())


def default_retryable(response: httpx.Response) -> bool:
    return response.status_code == 429 or response.status_code >= 500


async def send_with_retry(
    send: Send,
    *,
    policy: RetryPolicy,
    idempotent: bool = True,
    retryable: Callable[[httpx.Response], bool] = default_retryable,
    integration: str | None = None,
) -> httpx.Response:
    """Run ``send`` until it gives a final response; raise :class:`UpstreamError` on transport failure.

    The final response may still be an error (a 4xx, or a 429/5xx when retries ran out): the caller
    maps it to a typed error with its vendor's error body.
    """

    def should_retry(state: RetryCallState) -> bool:
        outcome = state.outcome
        assert outcome is not None
        if outcome.failed:
            exc = outcome.exception()
            return isinstance(exc, _NOT_SENT) or (idempotent and isinstance(exc, httpx.TransportError))
        response: httpx.Response = outcome.result()
        if response.status_code == 429:
            return True  # a throttled request was not processed
        return idempotent and retryable(response)

    def wait(state: RetryCallState) -> float:
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            after = parse_retry_after(outcome.result().headers.get("Retry-After"), now=policy.now())
            if after is not None:
                return after
        backoff: float = min(policy.backoff_max, policy.backoff_base * 2.0 ** (state.attempt_number - 1))
        return backoff * (0.5 + policy.random() / 2)

    def stop(state: RetryCallState) -> bool:
        if state.attempt_number >= policy.max_attempts:
            return True
        spent = max(state.seconds_since_start or 0.0, state.idle_for)
        return spent + state.upcoming_sleep > policy.max_total_seconds

    def give_up(state: RetryCallState) -> httpx.Response:
        assert state.outcome is not None
        result: httpx.Response = state.outcome.result()  # re-raises a transport error
        return result

    async def attempt() -> httpx.Response:
        return await send()  # a plain coroutine function, whatever callable ``send`` is

    retrying = AsyncRetrying(retry=should_retry, wait=wait, stop=stop, sleep=policy.sleep, retry_error_callback=give_up)
    try:
        response: httpx.Response = await retrying(attempt)
    except httpx.TransportError as exc:
        raise UpstreamError(
            f"network error talking to {integration or 'the vendor'}: {type(exc).__name__}", integration=integration
        ) from None
    return response


def scrub(text: str, secrets_: Iterable[str]) -> str:
    """Remove every known credential value from ``text`` (vendor messages are echoed into errors)."""
    for value in secrets_:
        if value and len(value) >= 4:
            text = text.replace(value, "[REDACTED]")
    return text


def status_error(
    response: httpx.Response,
    message: str,
    *,
    integration: str,
    code: str | None = None,
    request_id: str | None = None,
    now: datetime | None = None,
) -> IntegrationError:
    """The generic mapping of a failed response to the error tree (vendors refine it first)."""
    status = response.status_code
    if status == 429:
        after = parse_retry_after(response.headers.get("Retry-After"), now=now)
        return RateLimited(
            message, retry_after=after, integration=integration, status=status, code=code, request_id=request_id
        )
    cls: type[IntegrationError] = InvalidRequest
    if status in (401, 403):
        cls = AuthExpired
    elif status in (404, 410):
        cls = NotFound
    elif status >= 500:
        cls = UpstreamError
    return cls(message, integration=integration, status=status, code=code, request_id=request_id)
