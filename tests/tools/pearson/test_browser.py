"""Pearson Mastering in Debian's Chromium against loopback pages shaped like its course list and
assignments page: scores and due dates read by heading; the login filled once; a refused password, an
emailed code, a captcha and a changed table stop the run with the reason and an encrypted snapshot."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.tools.browser.loopback import Jar, Shots, Site, serve
from tools.browser.pages import Login, NeedsAttention
from tools.browser.session import BrowserRunner, Source
from tools.pearson import browser

pytestmark = pytest.mark.anyio
FIXTURES = Path(__file__).with_name("fixtures")
PAGES = {"/course-home": "courses.html", "/course/chem102-w26/assignments": "assignments.html"}


async def _read(runner: BrowserRunner, url: str, shots: Shots, login: Login | None = None) -> tuple[Any, Any]:
    source = Source("pearson", url, min_interval=0.0, jitter=0.0, timeout_ms=5000, attempts=2)
    async with runner.session(source, Jar(), shots, login=login) as s:
        courses = await browser.read_courses(s)
        work = await browser.read_assignments(s, str(courses[0]["id"]))
    return courses, work


async def test_reads_the_course_list_and_assignments_with_due_dates_and_scores(runner: BrowserRunner) -> None:
    site = Site(FIXTURES, PAGES, login_page="login.html")
    with serve(site) as url:
        courses, work = await _read(runner, url, Shots(), Login("owner", "correct horse"))
    assert [(c["id"], c["name"], c["score"]) for c in courses] == [
        ("chem102-w26", "CHEM 102 General Chemistry II", "84.2%")
    ]
    kinetics, solutions, quiz = work
    assert (kinetics.id, kinetics.state, kinetics.score) == ("4410021", "unsubmitted", None)
    assert kinetics.due_at == datetime(2026, 12, 4, 4, 59, tzinfo=UTC)
    assert (solutions.state, solutions.score, solutions.points) == ("graded", 27.5, 30.0)
    assert quiz.state == "unsubmitted" and quiz.due_at == datetime(2026, 12, 1, 14, 59, tzinfo=UTC)
    assert site.logins == 1


@pytest.mark.parametrize(
    ("site", "login", "reason"),
    [
        (Site(FIXTURES, PAGES, login_page="login.html"), Login("owner", "wrong"), "login"),
        (
            Site(FIXTURES, PAGES, login_page="login.html", after_login="mfa.html"),
            Login("owner", "correct horse"),
            "mfa",
        ),
        (Site(FIXTURES, {**PAGES, "/course-home": "captcha.html"}), None, "captcha"),
        (Site(FIXTURES, {**PAGES, "/course-home": "courses_changed.html"}), None, "layout_changed"),
    ],
    ids=["password-refused", "emailed-code", "captcha", "changed-table"],
)
async def test_every_failure_page_stops_the_run_with_its_reason_and_a_snapshot(
    runner: BrowserRunner, site: Site, login: Login | None, reason: str
) -> None:
    shots = Shots()
    with serve(site) as url, pytest.raises(NeedsAttention) as caught:
        await _read(runner, url, shots, login)
    assert caught.value.reason == reason
    assert [k[1] for k in shots.kept] == [reason] and "<html" in shots.kept[0][3]
