"""Briefings and digests in the console: written by the real handlers through "run now", stored
encrypted, decrypted for the page, and always escaped (their prose comes from the model, their lines
from mail and calendars)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from agent.jobs import BriefingDoc, Section
from storage.models.jobs import BriefingRow
from tests.web.conftest import FakeClock, cookie_header
from tests.web.test_jobs import Jobs, open_jobs
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio

HOSTILE_PROSE = (
    "Busy day ahead.\n<script>alert('prose')</script> Pay the rent.\n\n"
    'Second thought: <img src=x onerror="alert(1)"> and <a href="javascript:alert(2)">click</a>.'
)


@pytest.fixture
async def jobs(db_url: str, clock: FakeClock, console_config: ConsoleConfig) -> AsyncIterator[Jobs]:
    async with open_jobs(db_url, clock, console_config) as j:
        yield j


def hostile_doc() -> BriefingDoc:
    sections = [
        Section("calendar", "Today's calendar", "ok", ["09:00 Standup <iframe src=//evil>"], {"events": 1}),
        Section(
            "balances",
            "Balances",
            "ok",
            ["Checking: 10.00 USD"],
            {"accounts": 1, "totals": {"USD": "10.00"}},
        ),
        Section("mail", "Important unread mail", "not connected"),
        Section("transactions", "Notable transactions", "unavailable"),
    ]
    return BriefingDoc("daily", date(2027, 1, 14), "Morning briefing for 2027-01-14", sections, HOSTILE_PROSE, ["n1"])


async def test_the_morning_briefing_is_written_stored_encrypted_and_shown(jobs: Jobs) -> None:
    cookies = await jobs.login()
    run = await jobs.run_now(cookies, "daily_briefing")
    assert run["outcome"] == "ok", run
    bid = run["summary"]["briefing_id"]
    assert run["summary"]["not_connected"] == "mail"

    async with jobs.console.db.transaction() as s:
        stored = (await s.scalars(select(BriefingRow))).one()
    assert stored.id == bid and b"Dentist" not in stored.content and b"Checking" not in stored.content

    jobs_html = await jobs.page(cookies, "/jobs")
    assert f'href="/briefings/{bid}">Open the briefing</a>' in jobs_html
    notes = jobs_html.split('id="notifications"', 1)[1]
    assert f'<a href="/briefings/{bid}">Morning briefing for 2027-01-15</a>' in notes
    assert "Checking" not in notes  # the body (personal data) stays behind the link

    listing = await jobs.page(cookies, "/briefings")
    assert f'<a href="/briefings/{bid}">2027-01-15</a>' in listing and "Morning briefing" in listing
    assert 'aria-current="page">Briefings<' in listing

    html = await jobs.page(cookies, f"/briefings/{bid}")
    assert "Morning briefing for 2027-01-15" in html
    assert "Dentist &lt;b&gt;bring card&lt;/b&gt; (Main St)" in html and "<b>bring card" not in html
    assert "Checking: 1,234.50 USD" in html and "Total: 2,034.50 USD" in html
    assert "2027-01-14 Rent: -1,500.00 USD" in html
    missing = html.split('id="not-connected"', 1)[1].split("</section>", 1)[0]
    assert "Important unread mail" in missing and "not connected" in missing
    assert "no model configured: structured sections only" in html
    assert 'id="prose"' not in html  # no model: sections only


async def test_prose_from_the_model_is_escaped_never_markup(jobs: Jobs) -> None:
    cookies = await jobs.login()
    bid = await jobs.briefings.save(hostile_doc(), run_id=None, now=datetime(2027, 1, 14, 11, tzinfo=UTC))
    html = await jobs.page(cookies, f"/briefings/{bid}")
    assert "<script>alert" not in html and "<img src=x" not in html and "<iframe" not in html
    assert 'href="javascript:' not in html
    assert "&lt;script&gt;alert(&#39;prose&#39;)&lt;/script&gt; Pay the rent." in html
    assert "&lt;iframe src=//evil&gt;" in html
    prose = html.split('id="prose"', 1)[1].split("</div>", 1)[0]
    assert len(re.findall(r"<p>", prose)) == 2 and "Busy day ahead." in prose
    # Only the page's own scripts: nothing from the briefing became a script element.
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/static/console.js" defer>',
        '<script src="/static/pwa.js" defer>',
        '<script src="/static/charts.js" defer>',
    ]
    figures = html.split('id="section-balances"', 1)[1].split("</section>", 1)[0]
    assert '<th scope="row">totals</th><td class="num">10.00 USD</td>' in figures
    missing = html.split('id="not-connected"', 1)[1].split("</section>", 1)[0]
    assert "Important unread mail" in missing and "unavailable" in missing
    r = await jobs.console.http.get(f"/briefings/{bid}", headers=cookie_header(cookies))
    assert "script-src 'self';" in r.headers["content-security-policy"]  # and no inline script allowed


async def test_the_weekly_digest_is_listed_and_filtered_by_kind(jobs: Jobs) -> None:
    cookies = await jobs.login()
    daily = (await jobs.run_now(cookies, "daily_briefing"))["summary"]["briefing_id"]
    jobs.console.clock.advance(60)
    weekly_run = await jobs.run_now(cookies, "weekly_digest")
    weekly = weekly_run["summary"]["briefing_id"]
    assert weekly_run["summary"]["not_connected"] == "email"

    everything = await jobs.page(cookies, "/briefings")
    assert everything.index(f"/briefings/{weekly}") < everything.index(f"/briefings/{daily}")  # newest first
    blank = await jobs.page(cookies, "/briefings?kind=")  # the form's "Everything"
    assert f"/briefings/{weekly}" in blank and f"/briefings/{daily}" in blank
    only_weekly = await jobs.page(cookies, "/briefings?kind=weekly")
    assert f"/briefings/{weekly}" in only_weekly and f"/briefings/{daily}" not in only_weekly
    assert "Weekly digest" in only_weekly

    html = await jobs.page(cookies, f"/briefings/{weekly}")
    assert "Weekly digest to 2027-01-15" in html and "tasks done: 12" in html and "spent: 420.10" in html
    assert "Email" in html.split('id="not-connected"', 1)[1]
    assert [n.kind for n in jobs.notifier.sent] == ["briefing", "digest"]


async def test_unknown_or_malformed_briefing_ids_are_404(jobs: Jobs) -> None:
    cookies = await jobs.login()
    headers = cookie_header(cookies)
    for bid in ("00000000-0000-0000-0000-000000000000", "x" * 80, "not-a-uuid"):
        r = await jobs.console.http.get(f"/briefings/{bid}", headers=headers)
        assert (r.status_code, r.json()) == (404, {"error": "not_found"}), bid
    assert (await jobs.console.http.get("/briefings?kind=secret", headers=headers)).status_code == 422
