"""A push integration's ingest route as the console mounts it, and its device-token page.

A real broker on loopback issues and checks the tokens; the console is served over real HTTP. The
integration's ingest tool is faked at the console's tool edge (its storing is tested with the
integration). Nothing here names an integration: the first installed push manifest is used.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import select

from broker.client import BrokerClient
from integrations import Catalog, Manifest
from storage.db import Database
from storage.models.audit import AuditRow
from tests.broker.conftest import FakeClock as BrokerClock
from tests.broker.conftest import start_broker
from tests.web.conftest import Console, FakeClock, cookie_header, enroll, make_keyring, serve
from web.app import create_app
from web.config import ConsoleConfig
from web.data import ConsoleData, ToolAccess, ToolResult

pytestmark = pytest.mark.anyio
PUSH: Manifest = next(m for m in Catalog.load() if m.connect.push is not None)
assert PUSH.connect.push is not None
PATH = PUSH.connect.push.path
BODY = {"samples": [{"metric": "step_count", "time": "2026-11-22T09:00:00+01:00", "value": 120, "unit": "count"}]}


@dataclass
class FakeTools:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def console_only(self, tool: str, args: Mapping[str, Any] | None = None) -> ToolResult:
        self.calls.append((tool, dict(args or {})))
        return ToolResult(True, {"received": 1, "stored": 1, "repeated": 0})


@dataclass
class Stage:
    console: Console
    tools: FakeTools
    admin: BrokerClient
    cookies: dict[str, str]

    @property
    def headers(self) -> dict[str, str]:
        return cookie_header(self.cookies)

    async def form(self, path: str, **form: str) -> httpx.Response:
        body = {"csrf_token": self.cookies["__Host-aegis_csrf"], **form}
        return await self.console.http.post(path, data=body, headers=self.headers)

    async def issue(self, device: str = "iphone") -> str:
        r = await self.form(f"/integrations/{PUSH.name}/devices", device=device)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        found = re.search(r'<code id="issued-token" class="secret">([^<]+)</code>', r.text)
        assert found, r.text
        return found.group(1)

    async def push(self, token: str | None, body: Any = BODY, **headers: str) -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {"content-type": "application/json"} | ({"authorization": f"Bearer {token}"} if token else {})
        return await self.console.http.post(PATH, content=raw, headers=sent | headers)

    async def audit(self, action: str) -> list[AuditRow]:
        async with self.console.db.transaction() as s:
            return list((await s.scalars(select(AuditRow).where(AuditRow.action == action))).all())


@pytest.fixture
async def stage(db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig) -> AsyncIterator[Stage]:
    b_server, b_task, state, broker_url = await start_broker(db_url, tmp_path, BrokerClock())
    db = Database(db_url)
    keyring = make_keyring()
    secret, codes = await enroll(db, keyring, console_config, clock.now)
    tools = FakeTools()
    async with httpx.AsyncClient(base_url=broker_url, timeout=10) as broker_http:
        admin = BrokerClient(broker_http, admin_token=state.config.admin_token)
        data = ConsoleData(broker=BrokerClient(broker_http), broker_admin=admin, tools=cast(ToolAccess, tools))
        app = create_app(db, keyring=keyring, config=console_config, data=data)
        server, task, url = await serve(app)
        try:
            async with httpx.AsyncClient(base_url=url, timeout=20, follow_redirects=False) as http:
                console = Console(url, http, clock, db, keyring, app, secret, codes)
                yield Stage(console, tools, admin, await console.browser_login())
        finally:
            server.should_exit = True
            await task
            b_server.should_exit = True
            await b_task


async def test_a_device_token_pushes_without_a_session_and_each_batch_is_audited(stage: Stage) -> None:
    token = await stage.issue()
    r = await stage.push(token)
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 1, "stored": 1, "repeated": 0, "samples": 1}
    assert PUSH.connect.push is not None
    assert [t for t, _ in stage.tools.calls] == [PUSH.connect.push.tool]
    assert stage.tools.calls[0][1]["payload"] == BODY
    assert "aegis_" not in json.dumps(stage.tools.calls)  # the token never reaches the server
    refused = await stage.push(None)
    assert refused.status_code == 401 and "WWW-Authenticate" in refused.headers
    rows = await stage.audit("integration.push")
    assert [(row.result, row.reason) for row in rows] == [("ok", None), ("denied", "unauthorized")]
    assert rows[0].actor.startswith("key-") and token not in (rows[0].details or "")


async def test_a_session_is_not_a_device_token(stage: Stage) -> None:
    """The owner's console cookies (even with CSRF) do not open the ingest route."""
    r = await stage.console.http.post(
        PATH, content=json.dumps(BODY), headers=stage.headers | {"content-type": "application/json"}
    )
    assert r.status_code == 401 and stage.tools.calls == []


async def test_the_size_limit_is_the_manifests_and_is_checked_before_parsing(stage: Stage) -> None:
    token = await stage.issue()
    assert PUSH.connect.push is not None
    limit = PUSH.connect.push.max_bytes
    # bigger than the console's own pages allow, within the route's limit: accepted
    filler = {"samples": BODY["samples"] * (300 * 1024 // len(json.dumps(BODY["samples"])))}
    assert 256 * 1024 < len(json.dumps(filler)) < limit
    assert (await stage.push(token, filler)).status_code == 200
    # a body over the limit is refused before it is parsed (in process: the refusal does not wait for it)
    transport = httpx.ASGITransport(app=stage.console.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://aegis.test") as direct:
        headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
        r = await direct.post(PATH, content=b"[" * (limit + 1), headers=headers)
    assert r.status_code == 413 and r.json()["error"] == "body_too_large"
    assert len(stage.tools.calls) == 1


async def test_the_page_issues_once_lists_and_revokes(stage: Stage) -> None:
    token = await stage.issue("ipad")
    page = await stage.console.http.get(f"/integrations/{PUSH.name}/devices", headers=stage.headers)
    assert page.status_code == 200 and token not in page.text  # shown once
    assert "ipad" in page.text and PATH in page.text
    for title in PUSH.connect.steps:
        assert title.split(" (")[0] in page.text
    key_id = re.search(r"/devices/([^/]+)/revoke", page.text)
    assert key_id
    assert (await stage.push(token)).status_code == 200
    r = await stage.form(f"/integrations/{PUSH.name}/devices/{key_id.group(1)}/revoke")
    assert r.status_code == 303 and r.headers["location"].endswith("notice=revoked")
    assert (await stage.push(token)).status_code == 401
    assert [row.result for row in await stage.audit("device.revoke")] == ["ok"]


async def test_the_page_cannot_revoke_other_keys_or_issue_bad_names(stage: Stage) -> None:
    other = await stage.admin.create_key(
        principal="console", scopes=["secrets.list"], max_scopes=["secrets.list"], resources=[], max_resources=[]
    )
    r = await stage.form(f"/integrations/{PUSH.name}/devices/{other['key_id']}/revoke")
    assert r.headers["location"].endswith("notice=unknown")
    detail = await stage.admin.principal("console")
    assert not any(k["revoked"] for k in detail["keys"])
    bad = await stage.form(f"/integrations/{PUSH.name}/devices", device="My Phone!")
    assert bad.status_code == 200 and 'id="device-error"' in bad.text and "issued-token" not in bad.text
    no_csrf = await stage.console.http.post(
        f"/integrations/{PUSH.name}/devices", data={"device": "x"}, headers=stage.headers
    )
    assert no_csrf.status_code == 403
