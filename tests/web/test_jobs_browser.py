"""The jobs and briefings pages in Debian's Chromium (Playwright): real data, the page's own forms,
no CSP violation, no sideways scrolling on a phone; screenshots for the record."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from playwright.async_api import Page, async_playwright

from tests.web.conftest import FakeClock
from tests.web.test_browser import ARGS, CHROMIUM, SHOTS, _watch_csp
from tests.web.test_jobs import Jobs, open_jobs
from tests.web.test_jobs_briefings import hostile_doc
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio
RUNS_FIT = """() => ({
  table: document.querySelector('#runs').scrollWidth,
  wrap: document.querySelector('#runs').parentElement.clientWidth,
  reason: document.querySelector('#runs td.run-error').getBoundingClientRect().width,
})"""


@pytest.fixture
async def jobs(db_url: str, clock: FakeClock, console_config: ConsoleConfig) -> AsyncIterator[Jobs]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/system-packages installs it)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with open_jobs(db_url, clock, console_config) as j:
        yield j


async def _login(page: Page, j: Jobs) -> None:
    c = j.console
    await page.goto(f"{c.url}/login")
    await page.fill("#email", c.email)
    await page.fill("#passphrase", c.passphrase)
    await page.fill("#code", c.fresh_code())
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{c.url}/")


async def test_jobs_and_briefings_in_chromium(jobs: Jobs) -> None:
    cookies = await jobs.login()
    for job_id in ("sync_finances", "daily_briefing"):
        await jobs.run_now(cookies, job_id)
        jobs.console.clock.advance(60)
    failing = await jobs.run_now(cookies, "sync_social", ("retrying",))
    assert await jobs.scheduler.engine.execute(failing["id"]) == "failed"  # the retry, then the alert
    await jobs.briefings.save(hostile_doc(), run_id=None, now=datetime(2027, 1, 14, 11, tzinfo=UTC))
    await jobs.post(cookies, "/jobs/health_sync/pause")
    url = jobs.console.url

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            page = await context.new_page()
            violations: list[str] = []
            _watch_csp(page, violations)
            page.on("dialog", lambda d: violations.append(f"dialog: {d.message}"))
            await _login(page, jobs)

            await page.click("#admin-menu summary")  # the System menu
            await page.click("nav a:visible:has-text('Jobs')")
            await page.wait_for_url(f"{url}/jobs")
            catalogue = jobs.scheduler.engine.schedule.jobs  # every installed job, the rotation reminder too
            assert len(catalogue) >= 11 and "rotation_reminder" in catalogue
            assert await page.locator("#jobs tbody tr").count() == len(catalogue)
            assert await page.get_attribute("#job-health_sync", "data-state") == "paused"
            await page.click("#job-sync_emails button.run-now")
            await page.wait_for_url(f"{url}/jobs?done=run&target=sync_emails")
            assert "sync_emails: run started." in (await page.text_content("#notice") or "")
            skipped = page.locator("#runs tr[data-outcome=skipped]")
            assert "integration not connected: finance" in (await skipped.first.text_content() or "")
            await page.screenshot(path=str(SHOTS / "jobs.png"), full_page=True)
            # At 1366 px the whole run history is in view: no column cut off, no reason wrapped letter by letter.
            await page.set_viewport_size({"width": 1366, "height": 900})
            fit = await page.evaluate(RUNS_FIT)
            assert fit["table"] <= fit["wrap"] + 1, fit
            assert fit["reason"] >= 150, fit  # px: words, not letters, per line
            await page.screenshot(path=str(SHOTS / "jobs-1366.png"), full_page=True)
            await page.set_viewport_size({"width": 1280, "height": 800})

            await page.click("#job-health_sync button.resume")
            await page.wait_for_url(f"{url}/jobs?done=resume&target=health_sync")
            assert await page.get_attribute("#job-health_sync", "data-state") == "scheduled"

            await page.select_option("#history-filter select", "sync_social")
            await page.click("#history-filter button")
            await page.wait_for_url(f"{url}/jobs?job=sync_social")
            assert await page.locator("#runs tbody tr").count() == 1
            await page.select_option("#history-filter select", "")
            await page.click("#history-filter button")
            await page.wait_for_url(f"{url}/jobs?job=")
            assert await page.locator("#runs tbody tr[data-run]").count() == 4

            await page.click("nav a:visible:has-text('Briefings')")
            await page.wait_for_url(f"{url}/briefings")
            assert await page.locator("#briefings tbody tr").count() == 2
            await page.screenshot(path=str(SHOTS / "briefings.png"), full_page=True)
            await page.click("#briefings a >> text=2027-01-14")
            await page.wait_for_selector("#prose")
            assert "<script>alert('prose')</script>" in (await page.text_content("#prose") or "")  # shown as text
            await page.screenshot(path=str(SHOTS / "briefing.png"), full_page=True)
            assert violations == []

            phone = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
            mobile = await phone.new_page()
            _watch_csp(mobile, violations)
            await _login(mobile, jobs)
            for path, shot in (("/jobs", "jobs-phone.png"), ("/briefings", "briefings-phone.png")):
                await mobile.goto(f"{url}{path}")
                assert await mobile.evaluate("document.documentElement.scrollWidth") <= 390, path
                await mobile.screenshot(path=str(SHOTS / shot), full_page=True)
            assert violations == []
        finally:
            await browser.close()
