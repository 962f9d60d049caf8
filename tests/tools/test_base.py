from __future__ import annotations

import httpx
import pytest
from structlog.testing import capture_logs

from tools._http import RetryPolicy
from tools.base import BaseIntegration
from tools.credentials import StaticCredentials
from tools.errors import UpstreamError

pytestmark = pytest.mark.anyio
SECRET = "sk-live-canary-0042"


class Probe(BaseIntegration):
    name = "probe"

    async def health_check(self) -> bool:
        return await self._healthy(self.ping)

    async def ping(self) -> httpx.Response:
        key = await self.get_credential("probe-key")
        response = await self._send(
            "POST",
            "https://api.probe.test/v1/ping?q=private+search",
            headers={"Authorization": f"Bearer {key}"},
            json={"secret_field": key},
        )
        if response.status_code >= 500:
            raise UpstreamError("down", integration="probe")
        return response


def probe(handler: httpx.MockTransport, policy: RetryPolicy) -> Probe:
    return Probe(httpx.AsyncClient(transport=handler), StaticCredentials({"probe-key": SECRET}), retry=policy)


def test_health_check_is_abstract() -> None:
    class Incomplete(BaseIntegration):
        pass

    with pytest.raises(TypeError, match="health_check"):
        Incomplete(httpx.AsyncClient(), StaticCredentials({}))  # type: ignore[abstract]


async def test_each_attempt_is_logged_without_bodies_tokens_or_query(policy: RetryPolicy) -> None:
    responses = iter([httpx.Response(503, text=f"echo {SECRET}"), httpx.Response(200, json={"ok": SECRET})])
    client = probe(httpx.MockTransport(lambda r: next(responses)), policy)
    with capture_logs() as logs:
        await client.ping()
    http_logs = [e for e in logs if e["event"] == "integration.http"]
    assert [(e["attempt"], e["status"], e["log_level"]) for e in http_logs] == [(1, 503, "warning"), (2, 200, "info")]
    for entry in http_logs:
        assert entry["method"] == "POST" and entry["path"] == "/v1/ping" and entry["integration"] == "probe"
        assert isinstance(entry["duration_ms"], float)
    assert SECRET not in str(logs) and "private" not in str(logs)


async def test_transport_errors_are_logged_by_type(policy: RetryPolicy) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect {SECRET}")

    client = probe(httpx.MockTransport(fail), policy)
    with capture_logs() as logs, pytest.raises(UpstreamError):
        await client.ping()
    errors = [e for e in logs if e["event"] == "integration.http"]
    assert len(errors) == policy.max_attempts and all(e["error"] == "ConnectError" for e in errors)
    assert SECRET not in str(logs)


async def test_health_check_reports_false_on_integration_errors(policy: RetryPolicy) -> None:
    client = probe(httpx.MockTransport(lambda r: httpx.Response(500)), policy)
    with capture_logs() as logs:
        assert await client.health_check() is False
    health = [e for e in logs if e["event"] == "integration.health"]
    assert health == [
        {
            "event": "integration.health",
            "integration": "probe",
            "ok": False,
            "error": "UpstreamError",
            "log_level": "warning",
        }
    ]


async def test_health_check_lets_programming_errors_through(policy: RetryPolicy) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise KeyError("bug")

    client = probe(httpx.MockTransport(broken), policy)
    with pytest.raises(KeyError):
        await client.health_check()
