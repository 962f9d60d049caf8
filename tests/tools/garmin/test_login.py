"""Garmin's real sign-in, offline: the server's login, code and sync over the real adapter and
``garminconnect`` 0.3.2, faked only at the two HTTP layers that library really uses.

- The SSO login and the DI token exchange go through ``curl_cffi`` (the first strategy is "mobile
  iOS + curl_cffi"; the exchange is ``curl_cffi.requests.post``): both end in
  ``curl_cffi.requests.Session.request``, replaced here by Garmin's SSO (:class:`GarminSso`), which
  answers like ``sso.garmin.com/mobile/api/...`` and ``diauth.garmin.com`` do and refuses anything
  else, so nothing leaves the machine.
- Connect's API (profile, settings, the days) goes through ``requests``: ``responses``.

In 0.3.2 the half-done MFA sign-in is the ``Garmin`` object's own HTTP session: ``login()``
returns ``("needs_mfa", None)`` (no serialisable client state) and ``resume_login`` posts the code
on that same session, which Garmin's SSO requires.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import responses
from curl_cffi import requests as cffi
from mcp import Client

from mcp_servers._common import Demo
from mcp_servers._secrets import server_secret_store
from mcp_servers._standalone import demo_runtime
from mcp_servers.garmin.server import GarminDeps, build_server
from mcp_servers.garmin.service import GarminService
from mcp_servers.garmin.store import GarminStore
from storage.crypto.keyring import ACTIVE, DOMAINS, DataKey, Keyring
from storage.db import Database
from tests.integrations.harness import Recorder
from tests.mcp_servers.garmin.test_server import Rig
from tools.credentials import StaticCredentials, from_one_line
from tools.errors import AuthExpired
from tools.garmin.adapter import LibraryGarmin
from tools.garmin.client import GarminClient

pytestmark = pytest.mark.anyio
SSO = "https://sso.garmin.com"
DI = "https://diauth.garmin.com/di-oauth2-service/oauth/token"
API = "https://connectapi.garmin.com"
DAY = dt.date(2026, 12, 2)
PASSWORD = "correct horse battery staple"  # the fake account's
CODE = "246810"
NAME = "owner-display-name"


def _jwt(claims: dict[str, Any]) -> str:
    def part(doc: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.{'s' * 342}"


@dataclass
class Sent:
    session: Any
    method: str
    url: str
    params: dict[str, Any]
    body: Any
    headers: dict[str, str]


@dataclass
class GarminSso:
    """Garmin's SSO and DI token service for two accounts (one with MFA by email), as seen through
    ``curl_cffi``. A code is accepted only on the HTTP session that started that sign-in; a service
    ticket is good for one exchange."""

    accounts: dict[str, bool] = field(default_factory=lambda: {"owner@example.com": False, "mfa@example.com": True})
    sent: list[Sent] = field(default_factory=list)
    waiting: dict[int, str] = field(default_factory=dict)  # id(session) -> email
    tickets: dict[str, str] = field(default_factory=dict)  # ticket -> service URL
    issued: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, session: Any, method: str, url: str, **kw: Any) -> cffi.Response:
        body = kw.get("json") if kw.get("json") is not None else kw.get("data")
        self.sent.append(Sent(session, method, url, dict(kw.get("params") or {}), body, dict(kw.get("headers") or {})))
        path = urlparse(url).path
        if method == "POST" and url.startswith(SSO) and path == "/mobile/api/login":
            return self._login(session, kw["params"], kw["json"])
        if method == "POST" and url.startswith(SSO) and path.endswith("/api/mfa/verifyCode"):
            return self._verify(session, kw["json"])
        if method == "POST" and url == DI:
            return self._exchange(kw["headers"], kw["data"])
        return _answer(404, {"message": f"no such page: {path}"}, url)

    def _ticket(self, service: str) -> dict[str, Any]:
        ticket = f"ST-{len(self.tickets) + 1:07d}-{os.urandom(10).hex()}-cas"
        self.tickets[ticket] = service
        status = {"type": "SUCCESSFUL", "message": "", "httpStatus": "OK"}
        return {"serviceURL": service, "serviceTicketId": ticket, "responseStatus": status}

    def _login(self, session: Any, params: dict[str, str], body: dict[str, Any]) -> cffi.Response:
        email = body.get("username")
        if email not in self.accounts or body.get("password") != PASSWORD:
            status = {"type": "INVALID_USERNAME_PASSWORD", "message": "", "httpStatus": "UNAUTHORIZED"}
            return _answer(401, {"responseStatus": status}, f"{SSO}/mobile/api/login")
        if self.accounts[email]:
            self.waiting[id(session)] = email
            status = {"type": "MFA_REQUIRED", "message": "", "httpStatus": "OK"}
            mfa = {"mfaLastMethodUsed": "email"}
            return _answer(200, {"responseStatus": status, "customerMfaInfo": mfa}, f"{SSO}/mobile/api/login")
        return _answer(200, self._ticket(params["service"]), f"{SSO}/mobile/api/login")

    def _verify(self, session: Any, body: dict[str, Any]) -> cffi.Response:
        email = self.waiting.get(id(session))
        if email is None or body.get("mfaVerificationCode") != CODE or body.get("mfaMethod") != "email":
            # ⚠ the shape of a refused code is not captured; the library only looks for SUCCESSFUL
            status = {"type": "INVALID_MFA_CODE", "message": "", "httpStatus": "BAD_REQUEST"}
            return _answer(400, {"responseStatus": status}, f"{SSO}/mobile/api/mfa/verifyCode")
        del self.waiting[id(session)]
        return _answer(200, self._ticket("https://mobile.integration.garmin.com/gcm/ios"), f"{SSO}/mfa")

    def _exchange(self, headers: dict[str, str], form: dict[str, str]) -> cffi.Response:
        client_id = form.get("client_id", "")
        basic = "Basic " + base64.b64encode(f"{client_id}:".encode()).decode()
        service = self.tickets.pop(form.get("service_ticket", ""), None)
        if headers.get("Authorization") != basic or service is None or service != form.get("service_url"):
            return _answer(401, {"error": "invalid_grant", "error_description": "Invalid service ticket"}, DI)
        claims = {"client_id": client_id, "exp": int(time.time()) + 3600, "scope": ["CONNECT_READ"], "jti": "j1"}
        token = {
            "access_token": _jwt(claims),
            "token_type": "bearer",
            "refresh_token": _jwt({"client_id": client_id, "exp": int(time.time()) + 7_776_000}),
            "expires_in": 3599,
            "refresh_token_expires_in": 7775999,
            "scope": "CONNECT_READ CONNECT_WRITE",
            "jti": "j1",
        }
        self.issued.append(token)
        return _answer(200, token, DI)


def _answer(status: int, body: Any, url: str) -> cffi.Response:
    out = cffi.Response()
    out.status_code, out.ok, out.url = status, status < 400, url
    out.reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}[status]
    out.headers = cffi.Headers({"Content-Type": "application/json;charset=UTF-8"})
    out.content = json.dumps(body).encode()
    return out


@pytest.fixture
def sso(monkeypatch: pytest.MonkeyPatch) -> GarminSso:
    fake = GarminSso()

    def request(self: Any, method: str, url: str, **kw: Any) -> cffi.Response:
        return fake.answer(self, method, url, **kw)

    monkeypatch.setattr(cffi.Session, "request", request)
    return fake


def _day(request: Any) -> tuple[int, dict[str, str], str]:
    query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
    cdate = query.get("calendarDate") or query.get("date") or request.url.rsplit("/", 1)[1].partition("?")[0]
    path = urlparse(request.url).path
    if "/usersummary-service/" in path:
        doc: Any = {"calendarDate": cdate, "totalSteps": 9000, "activeKilocalories": 400.0, "restingHeartRate": 52}
    elif "/dailySleepData/" in path:
        doc = {"dailySleepDTO": {"calendarDate": cdate, "sleepTimeSeconds": 25200, "deepSleepSeconds": 5400}}
    elif "/hrv-service/" in path:
        doc = {"hrvSummary": {"calendarDate": cdate, "lastNightAvg": 50}}
    else:  # the activity search: one page, then the empty page that ends the library's paging
        run = {"activityId": 1, "activityName": "Run", "startTimeGMT": f"{DAY} 07:00:00", "duration": 1800.0}
        doc = [] if query.get("start") != "0" else [run | {"activityType": {"typeKey": "running"}}]
    return 200, {"Content-Type": "application/json"}, json.dumps(doc)


@pytest.fixture
def connect() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(f"{API}/userprofile-service/socialProfile", json={"displayName": NAME, "fullName": "Owner"})
        rsps.get(
            f"{API}/userprofile-service/userprofile/user-settings", json={"userData": {"measurementSystem": "metric"}}
        )
        for path in ("usersummary-service/usersummary/daily/", "wellness-service/wellness/dailySleepData/",
                     "hrv-service/hrv/", "activitylist-service/activities/search/activities"):  # fmt: skip
            rsps.add_callback(responses.GET, re.compile(re.escape(f"{API}/{path}") + ".*"), callback=_day)
        yield rsps


@asynccontextmanager
async def rig(db: Database, email: str) -> AsyncIterator[Rig]:
    """The Garmin server over the real adapter (not the demo's), the login in its credentials."""
    keyring = Keyring([DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in DOMAINS for p in ("enc", "idx")])
    login = {"garmin-login": json.dumps({"email": email, "password": PASSWORD})}
    nowhere = httpx.MockTransport(lambda request: pytest.fail(f"the real adapter asked httpx for {request.url}"))
    async with demo_runtime("garmin", "health", Demo(login, nowhere), db=db, keyring=keyring) as runtime:
        assert isinstance(runtime.credentials, StaticCredentials)
        store = GarminStore(runtime.db, runtime.cipher, runtime.audit)
        client = GarminClient(LibraryGarmin())
        service = GarminService(client, store, runtime.credentials, server_secret_store(runtime), today=lambda: DAY)
        server = build_server(GarminDeps(service=service, store=store, gate=runtime.gate, today=lambda: DAY))
        async with Client(server) as mcp:
            yield Rig(mcp, Recorder(nowhere), runtime.credentials)


async def _vault_tokens(r: Rig) -> dict[str, Any]:
    stored = await r.credentials.get("garmin-tokens")
    assert stored.startswith("b64u.") and not any(c.isspace() for c in stored)  # tools.credentials.one_line
    tokens = json.loads(from_one_line(stored))
    assert isinstance(tokens, dict)
    return tokens


def _bearers(connect: responses.RequestsMock) -> set[str]:
    return {str(c.request.headers.get("Authorization")) for c in connect.calls}


async def test_a_login_keeps_the_tokens_as_one_line_and_the_sync_reuses_them(
    db: Database, sso: GarminSso, connect: responses.RequestsMock
) -> None:
    async with rig(db, "owner@example.com") as r:
        done = await r.ok("login")
        assert done["connected"] is True and done["synced"] is True and done["days"] == 30
        login, exchange = sso.sent
        assert (login.url, login.params["clientId"]) == (f"{SSO}/mobile/api/login", "GCM_IOS_DARK")
        assert login.body == {
            "username": "owner@example.com",
            "password": PASSWORD,
            "rememberMe": True,
            "captchaToken": "",
        }
        assert exchange.url == DI and exchange.body["grant_type"].endswith("/grant/service_ticket")
        (issued,) = sso.issued
        tokens = await _vault_tokens(r)
        assert tokens == {
            "di_token": issued["access_token"],
            "di_refresh_token": issued["refresh_token"],
            "di_client_id": exchange.body["client_id"],  # read back from the token's own claims
        }
        before, calls = len(sso.sent), len(connect.calls)
        assert (await r.ok("sync"))["days"] == 2  # yesterday and today
        assert len(sso.sent) == before  # no second login: the vault's tokens
        assert len(connect.calls) > calls and _bearers(connect) == {f"Bearer {issued['access_token']}"}


async def test_a_login_with_a_code_finishes_on_the_same_sign_in(
    db: Database, sso: GarminSso, connect: responses.RequestsMock
) -> None:
    async with rig(db, "mfa@example.com") as r:
        assert await r.ok("login") == {"connected": False, "needs_code": True}
        assert not connect.calls and not sso.issued  # nothing yet but the password step
        done = await r.ok("login_code", {"code": CODE})
        assert done["connected"] is True and done["synced"] is True
        login, verify, exchange = sso.sent[:3]
        assert verify.url == f"{SSO}/mobile/api/mfa/verifyCode" and verify.session is login.session
        assert verify.body["mfaVerificationCode"] == CODE and exchange.url == DI
        (issued,) = sso.issued
        assert (await _vault_tokens(r))["di_token"] == issued["access_token"]
        assert _bearers(connect) == {f"Bearer {issued['access_token']}"}


async def test_a_wrong_password_or_code_is_a_typed_error_with_no_secret(
    sso: GarminSso, connect: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = GarminClient(LibraryGarmin())
    with pytest.raises(AuthExpired) as refused:
        await client.start_login("owner@example.com", "wrong " + PASSWORD)
    assert [s.url for s in sso.sent] == [f"{SSO}/mobile/api/login"]  # no other strategy: logins are scarce
    step = await client.start_login("mfa@example.com", PASSWORD)
    assert step.tokens is None and step.pending is not None
    with pytest.raises(AuthExpired) as wrong_code:
        await client.finish_login(step.pending, "135790")
    assert not sso.issued and not connect.calls
    for exc in (refused.value, wrong_code.value):
        text = f"{exc} {exc.message} {exc!r}"
        assert exc.integration == "garmin" and "stored login" not in text
        assert PASSWORD not in text and "135790" not in text and CODE not in text
    assert "Invalid Username or Password" in str(refused.value) and "MFA verification failed" in str(wrong_code.value)
    assert "email and password" in str(refused.value) and "refused the code" in str(wrong_code.value)
    assert PASSWORD not in caplog.text and "135790" not in caplog.text
