"""Home: one panel per integration, fed by READ tools through the gateway, escaped, with a chart."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from email.message import EmailMessage
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import Console, FakeClock, cookie_header
from tests.web.harness_data import Live, demo_clock, start_live
from tools.gmail.mime import encode_base64url
from web.config import ConsoleConfig
from web.data import ConsoleData
from web.panels import PANELS, PanelView, bar_chart, load_panels, register

pytestmark = pytest.mark.anyio


@pytest.fixture
def clock() -> FakeClock:
    return demo_clock()


@pytest.fixture
async def live(db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig) -> AsyncIterator[Live]:
    async with start_live(db_url, tmp_path, clock, console_config) as lc:
        yield lc


async def _page(console: Console, path: str = "/") -> str:
    cookies = await console.browser_login()
    r = await console.http.get(path, headers=cookie_header(cookies))
    assert r.status_code == 200, r.text
    return r.text


def _panel(html: str, name: str) -> str:
    found = re.search(rf'<section class="card panel" id="panel-{name}".*?</section>', html, re.S)
    assert found, f"no {name} panel"
    return found.group(0)


async def test_without_an_agent_every_panel_says_not_connected(console: Console) -> None:
    html = await _page(console)
    for name in ("plaid", "gmail"):
        panel = _panel(html, name)
        assert 'data-state="not_connected"' in panel
        assert f'href="/integrations#{name}"' in panel
    assert "The agent is not running" in html


async def test_gmail_panel_shows_important_mail_and_plaid_waits_for_a_bank(live: Live) -> None:
    token = '{"access_token": "ya29.demo-gmail-access-token-not-a-real-credential", "expires_at": 4102444800}'
    await live.data.vault.put("gmail-oauth", token, kind="oauth-token", resource="mcp:gmail")  # type: ignore[union-attr]
    html = await _page(live.console)
    gmail = _panel(html, "gmail")
    assert 'data-state="ok"' in gmail
    assert gmail.count("<li") >= 1 and "mail-subject" in gmail
    plaid = _panel(html, "plaid")
    assert 'data-state="not_connected"' in plaid  # no bank linked yet: no accounts


async def test_plaid_panel_after_connecting_the_sandbox_bank(live: Live) -> None:
    cookies = await live.console.browser_login()
    csrf = cookies["__Host-aegis_csrf"]
    r = await live.console.http.post(
        "/integrations/plaid/sandbox", data={"csrf_token": csrf}, headers=cookie_header(cookies)
    )
    assert (r.status_code, r.headers["location"]) == (303, "/integrations?notice=connected&i=plaid#plaid")
    r = await live.console.http.get("/", headers=cookie_header(cookies))
    plaid = _panel(r.text, "plaid")
    assert 'data-state="ok"' in plaid
    assert "Plaid Checking" in plaid and "Plaid Credit Card" in plaid
    # A chart spec for static/charts.js (Chart.js), and the same figures as a table.
    spec_attr = re.search(r'<figure class="chart" data-chart="([^"]+)">', plaid)
    assert spec_attr
    spec = json.loads(unescape(spec_attr.group(1)))
    assert spec["kind"] == "bar" and spec["unit"] == "USD" and len(spec["labels"]) >= 2
    assert len(spec["series"]) == 1 and len(spec["series"][0]["values"]) == len(spec["labels"])
    table_rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td class="num">([^<]+)</td></tr>', plaid)
    assert [label for label, _ in table_rows] == spec["labels"]
    assert [float(v.replace(",", "")) for _, v in table_rows] == spec["series"][0]["values"]
    # The gateway audited the console's reads as the agent's system context.
    tokens = await live.console.login_tokens()
    rows = await live.console.audit(tokens["access_token"], action="tool.call", limit=100)
    resources = {r["resource"] for r in rows if r["actor"] == "agent:console"}
    assert {"plaid.balances", "plaid.spending_by_category", "plaid.sync"} <= resources


async def test_mail_fields_are_escaped_text(live: Live) -> None:
    em = EmailMessage()
    em["From"] = '"<script>alert(1)</script>" <evil@example.com>'
    em["To"] = "owner@example.org"
    em["Subject"] = "<b onmouseover=alert(2)>Invoice</b>"
    em["Date"] = "Fri, 13 Nov 2026 09:00:00 +0000"
    em.set_content("<img src=x onerror=alert(1)> pay\u200bpal")
    live.mailbox._add_raw(encode_base64url(em.as_bytes()), None, ["INBOX", "IMPORTANT", "UNREAD"])
    token = '{"access_token": "ya29.demo-gmail-access-token-not-a-real-credential", "expires_at": 4102444800}'
    await live.data.vault.put("gmail-oauth", token, kind="oauth-token", resource="mcp:gmail")  # type: ignore[union-attr]
    gmail = _panel(await _page(live.console), "gmail")
    assert "<script>" not in gmail and "<b onmouseover" not in gmail and "<img" not in gmail
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in gmail
    assert "&lt;img src=x onerror=alert(1)&gt; paypal" in gmail  # entities decoded once, then escaped


def test_bar_chart_geometry_scales_to_the_largest() -> None:
    from decimal import Decimal

    chart = bar_chart([("Food", Decimal("50")), ("Travel", Decimal("200")), ("Zero", Decimal("0"))])
    widths = [b["width"] for b in chart["bars"]]
    assert widths[1] == chart["width"] - 4 and widths[0] == pytest.approx(widths[1] / 4, rel=0.01)
    assert widths[2] == 1.0  # still visible, never negative
    assert [b["y"] for b in chart["bars"]] == sorted({b["y"] for b in chart["bars"]})


async def test_a_later_integration_joins_through_the_registry() -> None:
    class Weather:
        name, title, integration, template = "weather", "Weather", "weather", "panels/weather.html"

        async def load(self, data: ConsoleData) -> dict[str, Any]:
            return {"sky": "clear"}

    try:
        register(Weather)
        assert PANELS[-1].name == "weather"
        views: list[PanelView] = await load_panels(ConsoleData())
        assert [v.state for v in views if v.panel.name == "weather"] == ["not_connected"]
        with pytest.raises(ValueError, match="registered already"):
            register(Weather)
    finally:
        PANELS[:] = [p for p in PANELS if p.name != "weather"]
