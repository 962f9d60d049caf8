from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from tests.tools.conftest import FIXED_NOW, Sleeps
from tools._http import (
    RetryPolicy,
    build_http_client,
    parse_retry_after,
    scrub,
    send_with_retry,
    status_error,
)
from tools.errors import AuthExpired, InvalidRequest, NotFound, RateLimited, UpstreamError

pytestmark = pytest.mark.anyio
URL = "https://api.vendor.test/v1/thing"
Step = httpx.Response | Exception


def scripted(steps: list[Step]) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    """A client whose transport plays ``steps`` in order (an exception is raised as a transport error)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = steps[min(len(seen), len(steps)) - 1]
        if isinstance(step, Exception):
            raise step
        return step

    return httpx.AsyncClient(transport=httpx.MockTransport(handler)), seen


async def run(
    steps: list[Step], policy: RetryPolicy, *, idempotent: bool = True
) -> tuple[httpx.Response, list[httpx.Request]]:
    client, seen = scripted(steps)
    async with client:
        response = await send_with_retry(lambda: client.get(URL), policy=policy, idempotent=idempotent)
    return response, seen


async def test_build_http_client_ignores_environment_and_redirects() -> None:
    async with build_http_client(timeout=12, connect_timeout=3) as client:
        assert client.trust_env is False
        assert client.follow_redirects is False
        assert client.timeout.read == 12 and client.timeout.connect == 3
        assert client.headers["User-Agent"].startswith("aegis-integrations/")


async def test_build_http_client_does_not_follow_a_redirect() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(302, headers={"Location": "https://evil.test/"}))
    async with build_http_client(transport=transport) as client:
        response = await client.get(URL)
    assert response.status_code == 302 and response.url == URL


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("1.5", 1.5),
        ("0", 0.0),
        (" 7 ", 7.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
    ],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=FIXED_NOW) == expected


def test_parse_retry_after_http_date() -> None:
    future = (FIXED_NOW + timedelta(seconds=45)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    past = (FIXED_NOW - timedelta(hours=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after(future, now=FIXED_NOW) == 45.0
    assert parse_retry_after(past, now=FIXED_NOW) == 0.0


async def test_5xx_is_retried_with_exponential_backoff(policy: RetryPolicy, sleeps: Sleeps) -> None:
    response, seen = await run([httpx.Response(503), httpx.Response(502), httpx.Response(200)], policy)
    assert response.status_code == 200 and len(seen) == 3
    assert sleeps.waits == [0.25, 0.5]  # base 0.5 · 2^(n-1), lower jitter bound (×0.5)


async def test_jitter_scales_the_backoff_within_bounds(sleeps: Sleeps) -> None:
    policy = RetryPolicy(sleep=sleeps, random=lambda: 0.999, now=lambda: FIXED_NOW)
    await run([httpx.Response(500), httpx.Response(200)], policy)
    assert 0.49 < sleeps.waits[0] < 0.5


async def test_backoff_is_capped(sleeps: Sleeps) -> None:
    policy = RetryPolicy(sleep=sleeps, random=lambda: 0.999, backoff_max=1.0, max_attempts=6, max_total_seconds=100)
    await run([httpx.Response(500)], policy)
    assert len(sleeps.waits) == 5 and max(sleeps.waits) < 1.0


async def test_retry_after_seconds_is_honoured(policy: RetryPolicy, sleeps: Sleeps) -> None:
    limited = httpx.Response(429, headers={"Retry-After": "7"})
    response, seen = await run([limited, httpx.Response(200)], policy)
    assert response.status_code == 200 and len(seen) == 2
    assert sleeps.waits == [7.0]


async def test_retry_after_http_date_is_honoured(policy: RetryPolicy, sleeps: Sleeps) -> None:
    when = (FIXED_NOW + timedelta(seconds=12)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    await run([httpx.Response(503, headers={"Retry-After": when}), httpx.Response(200)], policy)
    assert sleeps.waits == [12.0]


async def test_retry_after_beyond_the_budget_stops_and_reports_it(policy: RetryPolicy, sleeps: Sleeps) -> None:
    response, seen = await run([httpx.Response(429, headers={"Retry-After": "120"})], policy)
    assert len(seen) == 1 and sleeps.waits == []
    error = status_error(response, "throttled", integration="vendor", now=FIXED_NOW)
    assert isinstance(error, RateLimited) and error.retry_after == 120.0


async def test_total_waiting_is_bounded(sleeps: Sleeps) -> None:
    policy = RetryPolicy(sleep=sleeps, max_attempts=10, max_total_seconds=10, now=lambda: FIXED_NOW)
    await run([httpx.Response(429, headers={"Retry-After": "4"})], policy)
    assert sleeps.waits == [4.0, 4.0] and sum(sleeps.waits) <= 10


async def test_attempts_are_bounded_and_the_last_response_is_returned(policy: RetryPolicy, sleeps: Sleeps) -> None:
    response, seen = await run([httpx.Response(500)], policy)
    assert response.status_code == 500 and len(seen) == policy.max_attempts
    assert sleeps.waits == [0.25, 0.5, 1.0]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
async def test_4xx_other_than_429_is_never_retried(policy: RetryPolicy, sleeps: Sleeps, status: int) -> None:
    response, seen = await run([httpx.Response(status), httpx.Response(200)], policy)
    assert response.status_code == status and len(seen) == 1 and sleeps.waits == []


async def test_transport_errors_are_retried(policy: RetryPolicy) -> None:
    steps: list[Step] = [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.Response(200)]
    response, seen = await run(steps, policy)
    assert response.status_code == 200 and len(seen) == 3


async def test_transport_errors_exhausted_become_upstream_error(policy: RetryPolicy) -> None:
    with pytest.raises(UpstreamError) as caught:
        await run([httpx.ReadError("reset")], policy)
    assert "ReadError" in str(caught.value) and caught.value.status is None


async def test_non_idempotent_request_is_not_retried_after_it_may_have_arrived(
    policy: RetryPolicy, sleeps: Sleeps
) -> None:
    response, seen = await run([httpx.Response(503), httpx.Response(200)], policy, idempotent=False)
    assert response.status_code == 503 and len(seen) == 1
    with pytest.raises(UpstreamError):
        await run([httpx.ReadTimeout("slow"), httpx.Response(200)], policy, idempotent=False)
    assert sleeps.waits == []


async def test_non_idempotent_request_is_retried_when_it_never_arrived(policy: RetryPolicy) -> None:
    response, seen = await run([httpx.ConnectError("refused"), httpx.Response(200)], policy, idempotent=False)
    assert response.status_code == 200 and len(seen) == 2
    response, seen = await run([httpx.Response(429), httpx.Response(200)], policy, idempotent=False)
    assert response.status_code == 200 and len(seen) == 2


async def test_custom_retryable_predicate(policy: RetryPolicy) -> None:
    client, seen = scripted([httpx.Response(403, json={"why": "slow down"}), httpx.Response(200)])

    def retryable(r: httpx.Response) -> bool:
        return r.status_code == 403 and "slow" in r.text

    async with client:
        response = await send_with_retry(lambda: client.get(URL), policy=policy, retryable=retryable)
    assert response.status_code == 200 and len(seen) == 2


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, InvalidRequest),
        (401, AuthExpired),
        (403, AuthExpired),
        (404, NotFound),
        (410, NotFound),
        (422, InvalidRequest),
        (429, RateLimited),
        (500, UpstreamError),
        (503, UpstreamError),
    ],
)
def test_status_error_mapping(status: int, expected: Callable[..., Exception]) -> None:
    error = status_error(httpx.Response(status), "boom", integration="vendor", code="c", request_id="r")
    assert type(error) is expected
    assert (error.status, error.code, error.request_id, error.integration) == (status, "c", "r", "vendor")


def test_scrub_removes_every_held_value() -> None:
    assert scrub("token abcd1234 and s3cr3t-value", ["abcd1234", "s3cr3t-value", ""]) == (
        "token [REDACTED] and [REDACTED]"
    )
