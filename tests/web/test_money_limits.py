"""The trading limits on the money page: read through the gateway, saved only with a fresh
authenticator code, every save audited; a bad value is named and what the owner typed stays."""

from __future__ import annotations

import html as htmllib

import pytest

from tests.web import test_money as money_page
from tests.web.agent_stack import post_form
from tests.web.conftest import cookie_header
from tests.web.harness_data import Live

pytestmark = pytest.mark.anyio
clock, live = money_page.clock, money_page.live  # the same live console on the demo clock
FORM = {
    "max_order_notional": "2500",
    "max_daily_notional": "4000.50",
    "allowed_symbols": "vti, VXUS,schd",
    "blocked_symbols": "GME",
    "allow_options": "",
}


def _value(page: str, name: str) -> str:
    start = page.index(f'id="f-{name}"')
    tail = page[start : page.index(">", start)]
    return htmllib.unescape(tail.split('value="', 1)[1].split('"', 1)[0]) if 'value="' in tail else ""


async def _stored(live: Live) -> dict[str, object]:
    assert live.data.tools is not None
    result = await live.data.tools.read("schwab.limits")
    assert result.ok
    return dict(result.content)


async def test_the_owner_sets_the_limits_with_a_fresh_code(live: Live) -> None:
    c = live.console
    cookies = await c.browser_login()
    page = (await c.http.get("/money", headers=cookie_header(cookies))).text
    assert 'id="settings-schwab"' in page and 'action="/money/settings/schwab"' in page
    assert _value(page, "max_order_notional") == "1000" and _value(page, "max_daily_notional") == "2000"
    assert 'name="step_up_code"' in page

    missing = await post_form(c, cookies, "/money/settings/schwab", **FORM)
    assert missing.status_code == 422 and "authenticator code was not accepted" in missing.text
    assert _value(missing.text, "allowed_symbols") == "vti, vxus, schd"  # what was typed, kept
    assert (await _stored(live))["max_order_notional"] == "1000"

    ok = await post_form(c, cookies, "/money/settings/schwab", **FORM, step_up_code=c.fresh_code())
    assert ok.status_code == 303 and ok.headers["location"] == "/money?saved=schwab#settings-schwab"
    stored = await _stored(live)
    assert stored["max_order_notional"] == "2500" and stored["max_daily_notional"] == "4000.50"
    assert stored["allowed_symbols"] == ["SCHD", "VTI", "VXUS"] and stored["blocked_symbols"] == ["GME"]
    assert stored["allow_options"] is False and stored["allow_margin"] is False
    page = (await c.http.get("/money?saved=schwab", headers=cookie_header(cookies))).text
    assert 'id="settings-saved"' in page and _value(page, "allowed_symbols") == "SCHD, VTI, VXUS"

    tokens = await c.login_tokens()
    rows = await c.audit(tokens["access_token"], action="integration.settings")
    assert [(r["result"], r["reason"], r["resource"]) for r in rows] == [
        ("ok", None, "integration:schwab"),
        ("fail", "step_up", "integration:schwab"),
    ]
    steps = await c.audit(tokens["access_token"], action="auth.step_up")
    assert [(r["result"], r["reason"]) for r in steps][:2] == [("ok", "ok"), ("fail", "missing_code")]


@pytest.mark.parametrize(
    ("field", "typed", "reason"),
    [
        ("max_order_notional", "five thousand", "Most per order (USD) must be a number"),
        ("max_daily_notional", "-20", "Most per day must be more than 0"),
        ("allowed_symbols", "VTI, <script>", "is not a ticker"),
        ("blocked_symbols", "VTI", "VTI cannot be both allowed and blocked"),
        ("max_order_notional", "9000", "Most per order cannot be more than Most per day"),
    ],
)
async def test_a_bad_value_is_named_and_nothing_is_lost(live: Live, field: str, typed: str, reason: str) -> None:
    c = live.console
    cookies = await c.browser_login()
    form = {**FORM, "allowed_symbols": "VTI, VXUS", field: typed}
    r = await post_form(c, cookies, "/money/settings/schwab", **form, step_up_code=c.fresh_code())
    assert r.status_code == 422
    error = htmllib.unescape(r.text.split('id="settings-error">', 1)[1].split("</p>", 1)[0])
    assert error.startswith("Not saved: ") and reason in error, error
    assert _value(r.text, field) == (typed.lower() if field.endswith("symbols") else typed)
    assert "<script>" not in r.text.split('id="settings-schwab"', 1)[1]  # escaped, never markup
    assert (await _stored(live))["max_order_notional"] == "1000"  # nothing stored


async def test_only_a_money_form_is_accepted_there(live: Live) -> None:
    cookies = await live.console.browser_login()
    r = await post_form(live.console, cookies, "/money/settings/plaid", **FORM)
    assert r.status_code == 404
    no_csrf = await live.console.http.post("/money/settings/schwab", data=FORM, headers=cookie_header(cookies))
    assert no_csrf.status_code == 403
