"""UsdaClient against answers shaped like FoodData Central's and api.data.gov's."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tools._http import RetryPolicy, build_http_client
from tools.credentials import StaticCredentials
from tools.errors import AuthExpired, InvalidRequest, RateLimited
from tools.usda.client import UsdaClient
from tools.usda.demo import DEMO_KEY, DemoFood, demo_credentials, demo_transport

pytestmark = pytest.mark.anyio
KEY = "k3Yd4taGovTESTx9QvT3kLm8PwR2nYb6HcD4fJs0"
SEARCH = json.loads((Path(__file__).parent / "fixtures" / "search_cheddar.json").read_text())


def _client(handler: httpx.MockTransport, policy: RetryPolicy, key: str = KEY) -> UsdaClient:
    return UsdaClient(build_http_client(transport=handler), StaticCredentials({"usda-api-key": key}), retry=policy)


async def test_search_sends_the_key_as_api_key_and_reads_nutrients_by_number(policy: RetryPolicy) -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json=SEARCH)

    foods = await _client(httpx.MockTransport(handler), policy).search("cheddar cheese", page_size=3)
    (url,) = seen
    assert (url.host, url.path) == ("api.nal.usda.gov", "/fdc/v1/foods/search")
    assert url.params["api_key"] == KEY and url.params["query"] == "cheddar cheese"
    assert url.params["pageSize"] == "3" and url.params["dataType"] == "SR Legacy,Foundation"
    first = foods[0]
    assert (first.fdc_id, first.kcal, first.protein_g, first.fat_g, first.carbs_g) == (328637, 409, 23.3, 34.0, 2.44)
    assert first.complete
    assert not foods[2].complete and foods[2].kcal is None  # energy missing: not guessed from kJ


async def test_a_wrong_key_is_auth_expired_and_never_echoed(policy: RetryPolicy) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"error": {"code": "API_KEY_INVALID", "message": f"An invalid api_key {KEY} was supplied."}}
        return httpx.Response(403, json=body)

    with pytest.raises(AuthExpired) as caught:
        await _client(httpx.MockTransport(handler), policy).search("egg")
    assert caught.value.code == "API_KEY_INVALID" and KEY not in str(caught.value)


async def test_over_the_hourly_limit_retries_after_the_wait_then_raises(policy: RetryPolicy) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        body = {"error": {"code": "OVER_RATE_LIMIT", "message": "You have exceeded your rate limit."}}
        return httpx.Response(429, json=body, headers={"Retry-After": "7"})

    with pytest.raises(RateLimited) as caught:
        await _client(httpx.MockTransport(handler), policy).search("egg")
    assert calls > 1 and caught.value.retry_after == 7


async def test_a_429_then_an_answer_succeeds(policy: RetryPolicy) -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(200, json=SEARCH)])
    foods = await _client(httpx.MockTransport(lambda r: next(answers)), policy).search("cheddar")
    assert len(foods) == 3


async def test_bad_queries_are_refused_before_any_request(policy: RetryPolicy) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    client = _client(httpx.MockTransport(handler), policy)
    for bad in ("", "   ", "x" * 101):
        with pytest.raises(InvalidRequest):
            await client.search(bad)
    with pytest.raises(InvalidRequest):
        await client.search("egg", page_size=0)


async def test_the_demo_answers_in_fdc_shape(policy: RetryPolicy) -> None:
    foods = [
        DemoFood("Egg, whole, raw, fresh", 143, 12.56, 9.51, 0.72),
        DemoFood("Tofu, raw, firm", 144, 17.3, 8.7, 2.8),
    ]
    transport = demo_transport(foods)
    client = UsdaClient(build_http_client(transport=transport), StaticCredentials(demo_credentials()), retry=policy)
    (egg,) = await client.search("egg raw")
    assert (egg.description, egg.kcal, egg.protein_g) == ("Egg, whole, raw, fresh", 143, 12.56)
    assert demo_credentials()["usda-api-key"] == DEMO_KEY
    with pytest.raises(AuthExpired):
        await _client(transport, policy, key="wrong").search("egg")
