"""Home: one panel per integration, fed by READ tools through the gateway, escaped, with a chart."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from email.message import EmailMessage
from html import unescape
from pathlib import Path

import pytest

from integrations import Catalog
from tests.web.conftest import Console, FakeClock, cookie_header
from tests.web.harness_data import Live, demo_clock, start_live
from tools.gmail.mime import encode_base64url
from web.config import ConsoleConfig
from web.data import ConsoleData
from web.panels import PanelView, chart_data, load_panels

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
    """Every panel of one integration (its manifest may declare several), as one text; or one panel
    (``plaid-money``)."""
    pattern = rf'<section class="card panel" id="panel-{name}{"" if name.count("-") else "-[a-z_]+"}".*?</section>'
    found = re.findall(pattern, html, re.S)
    assert found, f"no {name} panel"
    return "\n".join(found)


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
    assert gmail.count("<li") >= 1 and "item-title" in gmail
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
    money = _panel(r.text, "plaid-money")
    assert "This month against last" in plaid
    worth = _panel(r.text, "core-net_worth")  # the bank's and the brokerage's parts, summed by the core
    assert 'data-state="ok"' in worth and "Banks and cards" in worth and "Brokerage" in worth
    spec_attr = re.search(r'<figure class="chart" data-chart="([^"]+)">', money)
    assert spec_attr
    spec = json.loads(unescape(spec_attr.group(1)))
    assert spec["kind"] == "bar" and spec["unit"] == "USD" and len(spec["labels"]) >= 2
    assert len(spec["series"]) == 1 and len(spec["series"][0]["values"]) == len(spec["labels"])
    table_rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td class="num">([^<]+)</td></tr>', money)
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
    assert "&lt;b onmouseover=alert(2)&gt;Invoice&lt;/b&gt;" in gmail  # the subject, escaped


def test_chart_data_is_plain_labels_and_numbers() -> None:
    chart = chart_data("bar", ("FOOD_AND_DRINK", "<b>x</b>\u200b"), (50.0, 200.0), "USD")
    assert chart["labels"] == ["Food and drink", "<b>x</b>"]  # escaped by the template, invisibles gone
    assert chart["values"] == [50.0, 200.0] and chart["unit"] == "USD" and chart["kind"] == "bar"
    # Tickers and names stay as written; one-word category codes read as words.
    named = chart_data("bar", ("VTI", "GOOGL", "Sam Rivera", "INCOME", "TRAVEL"), (1.0,) * 5, "USD")
    assert named["labels"] == ["VTI", "GOOGL", "Sam Rivera", "Income", "Travel"]


async def test_panels_follow_the_installed_manifests_in_their_order() -> None:
    views: list[PanelView] = await load_panels(ConsoleData())
    placed = Catalog.load().panels()
    expected = [f"{p.integration or 'core'}-{p.view.id}" for p in placed]
    merged = {p.view.merge for p in placed if p.view.merge}
    # Panels sharing a merge key show as one, under the first of them.
    firsts = [
        f"{p.integration or 'core'}-{p.view.id}"
        for i, p in enumerate(placed)
        if not p.view.merge or all(q.view.merge != p.view.merge for q in placed[:i])
    ]
    assert [v.name for v in views] == firsts and len(firsts) == len(expected) - sum(
        sum(1 for p in placed if p.view.merge == m) - 1 for m in merged
    )
    assert [n for n in expected if n.startswith(("gmail-", "plaid-"))] == [
        "gmail-important_mail",
        "plaid-money",
        "plaid-month",
        "plaid-balances",
    ]
    assert expected.index("gcalendar-agenda") < expected.index("gmail-important_mail")  # order 10 before 20
    assert all(v.state == "not_connected" for v in views)  # no agent: nothing is called
