"""Sizes and slow clients: body and header limits before parsing, deep JSON, huge integers, 500s."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.broker.conftest import Broker, FakeClock
from tests.broker.test_api_support import running_broker

pytestmark = pytest.mark.anyio


async def _assert_refused(broker: Broker, r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["error"] == code
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    row = await broker.last_audit()
    assert (row["action"], row["result"], row["reason"]) == ("http.request", "deny", code)
    assert row["trace_id"] == r.headers["x-trace-id"]


async def _raw(broker: Broker, request: bytes) -> bytes:
    url = urlsplit(broker.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(5):
            return await reader.read(4096)
    finally:
        writer.close()


async def test_a_large_mint_body_is_refused_before_it_is_read(broker: Broker) -> None:
    key = (await broker.create_key("svc"))["api_key"]
    head = (
        b"POST /v1/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {key}\r\nContent-Length: {10 * 1024 * 1024}\r\n\r\n".encode()
    )
    answer = await _raw(broker, head + b'{"aud": "aegis"')  # the rest is never sent: no need to wait for it
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert b"body_too_large" in answer and b"x-trace-id" in answer.lower()
    row = await broker.last_audit()
    assert (row["action"], row["result"], row["reason"]) == ("http.request", "deny", "body_too_large")


async def test_a_body_just_over_the_limit_is_refused(broker: Broker) -> None:
    body = json.dumps({"aud": "aegis", "pad": "x" * (16 * 1024)})
    r = await broker.http.post("/v1/token", content=body, headers={"Content-Type": "application/json"})
    await _assert_refused(broker, r, 413, "body_too_large")


async def test_a_chunked_body_is_counted_as_it_arrives(broker: Broker) -> None:
    head = b"POST /v1/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunks = b"".join(b"400\r\n" + b"x" * 1024 + b"\r\n" for _ in range(17))  # 17 KiB, no length announced
    answer = await _raw(broker, head + chunks)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    row = await broker.last_audit()
    assert (row["action"], row["reason"]) == ("http.request", "body_too_large")


async def test_a_secret_route_takes_a_larger_body(broker: Broker) -> None:
    value = "v" * 60_000
    broker.secrets_seen.append(value)
    r = await broker.http.post("/v1/secrets", json={"name": "big", "value": value}, headers=broker.admin)
    assert r.status_code == 201, r.text


async def test_deeply_nested_json_is_a_clear_400(broker: Broker) -> None:
    deep = "[" * 1000 + "]" * 1000
    r = await broker.http.post("/v1/token", content=deep, headers={"Content-Type": "application/json"})
    await _assert_refused(broker, r, 400, "json_too_deep")
    # Brackets inside strings are not nesting.
    key = (await broker.create_key("svc"))["api_key"]
    r = await broker.mint(key, aud="[" * 100)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


@pytest.mark.parametrize("value", [str(2**63), str(-(2**64)), "9" * 400, "1" + "0" * 5000])
async def test_integers_beyond_64_bits_are_a_clear_400(broker: Broker, value: str) -> None:
    body = '{"aud": "aegis", "scopes": ["secrets.read"], "resource": "host:a", "ttl_seconds": ' + value + "}"
    r = await broker.http.post("/v1/token", content=body, headers={"Content-Type": "application/json"})
    await _assert_refused(broker, r, 400, "integer_too_large")


async def test_huge_headers_are_refused(broker: Broker) -> None:
    r = await broker.http.get("/v1/principals", headers={**broker.admin, "X-Pad": "p" * 10_000})
    await _assert_refused(broker, r, 431, "headers_too_large")


async def test_a_slow_body_times_out(db_url: str, tmp_path: Path, clock: FakeClock) -> None:
    async with running_broker(db_url, tmp_path, clock, body_timeout_seconds=0.3) as b:
        head = b"POST /v1/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        answer = await _raw(b, head)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"x-trace-id" in answer.lower()
        row = await b.last_audit()
        assert (row["action"], row["reason"]) == ("http.request", "body_timeout")


async def test_an_unhandled_error_is_a_500_with_headers_and_trace(
    broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def boom(*_: object) -> None:
        raise RuntimeError("secret detail that must not leak")

    monkeypatch.setattr("broker.principals.list_principals", boom)
    r = await broker.http.get("/v1/principals", headers={**broker.admin, "X-Trace-Id": "trace-500"})
    assert r.status_code == 500
    assert r.json() == {"error": "internal_error", "message": "internal error"}
    assert r.headers["x-trace-id"] == "trace-500"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "secret detail" not in r.text


async def test_a_slow_request_head_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from aegis.serving import GuardedH11Protocol, Server

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        raise AssertionError("the request never gets here")

    monkeypatch.setattr(GuardedH11Protocol, "header_timeout", 0.3)
    server = Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off"))
    server.config.setup_event_loop = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=None))
    try:
        async with asyncio.timeout(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn exposes only a flag
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        for head in (b"", b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(head)
            await writer.drain()
            async with asyncio.timeout(5):
                assert await reader.read(100) == b""  # closed by the server, nothing answered
            writer.close()
    finally:
        server.should_exit = True
        await task
