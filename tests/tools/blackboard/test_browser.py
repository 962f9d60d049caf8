"""Blackboard's browser path in Debian's Chromium against loopback pages shaped like Learn Ultra's: the
course list and grades pages read by their headings (columns in any order), the owner's login filled
once, and every page only the owner can pass (Drexel's login refusing the password, a Duo prompt, a
captcha, a changed layout) stopping the run with its reason and an encrypted snapshot."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.tools.browser.loopback import Jar, Shots, Site, serve
from tools.blackboard import browser
from tools.browser.pages import Login, NeedsAttention
from tools.browser.session import BrowserRunner, Source

pytestmark = pytest.mark.anyio
FIXTURES = Path(__file__).with_name("fixtures")
PAGES = {
    "/ultra/course": "courses.html",
    "/ultra/courses/_2231_1/grades": "grades_2231.html",
    "/ultra/courses/_2244_1/grades": "grades_2244.html",
}


def _source(url: str) -> Source:
    return Source("blackboard", url, min_interval=0.0, jitter=0.0, timeout_ms=5000, attempts=2)


async def _read_all(
    runner: BrowserRunner, url: str, jar: Jar, shots: Shots, login: Login | None = None
) -> tuple[Any, Any]:
    async with runner.session(_source(url), jar, shots, login=login) as s:
        courses = await browser.read_courses(s)
        grades = [await browser.read_grades(s, str(c["id"])) for c in courses]
    return courses, grades


async def test_reads_courses_grades_and_due_dates_by_their_headings(runner: BrowserRunner) -> None:
    with serve(Site(FIXTURES, PAGES)) as url:
        courses, grades = await _read_all(runner, url, Jar(), Shots())
    assert [(c["id"], c["name"], c["code"]) for c in courses] == [
        ("_2231_1", "MATH 201 Linear Algebra", "MATH-201-002-202615"),
        ("_2244_1", "ENGL 103 Composition and Rhetoric III", "ENGL-103-011-202615"),
    ]
    (math_score, math_letter, math), (engl_score, _, engl) = grades
    assert (math_score, math_letter) == (88.4, "B+") and engl_score == 93.0
    ps9, quiz, reading = math
    assert ps9.id == "_9101_1" and ps9.state == "unsubmitted" and ps9.score is None
    assert ps9.due_at == datetime(2026, 12, 5, 4, 59, tzinfo=UTC)  # 11:59 pm in Philadelphia
    assert (quiz.state, quiz.score, quiz.points) == ("graded", 17.0, 20.0)
    assert reading.state == "submitted"
    (proposal,) = engl  # its columns are in another order: read by heading, not position
    assert (proposal.name, proposal.state) == ("Research Proposal", "submitted")
    assert proposal.due_at == datetime(2026, 12, 4, 4, 59, tzinfo=UTC)


async def test_the_owners_login_is_filled_once_and_the_session_cookie_kept(runner: BrowserRunner) -> None:
    site = Site(FIXTURES, PAGES, login_page="login.html")
    jar = Jar()
    with serve(site) as url:
        courses, _ = await _read_all(runner, url, jar, Shots(), Login("owner", "correct horse"))
        assert len(courses) == 2 and site.logins == 1
        again, _ = await _read_all(runner, url, jar, Shots(), Login("owner", "correct horse"))
    assert len(again) == 2 and site.logins == 1  # the saved cookie skipped the login
    assert "loopback-ok" in jar.saved[-1]


@pytest.mark.parametrize(
    ("site", "login", "reason"),
    [
        (Site(FIXTURES, PAGES, login_page="login.html"), None, "login"),
        (Site(FIXTURES, PAGES, login_page="login.html"), Login("owner", "wrong"), "login"),
        (
            Site(FIXTURES, PAGES, login_page="login.html", after_login="mfa.html"),
            Login("owner", "correct horse"),
            "mfa",
        ),
        (Site(FIXTURES, {**PAGES, "/ultra/course": "captcha.html"}), None, "captcha"),
        (Site(FIXTURES, {**PAGES, "/ultra/course": "courses_changed.html"}), None, "layout_changed"),
    ],
    ids=["no-login-stored", "password-refused", "duo-prompt", "captcha", "changed-layout"],
)
async def test_a_page_only_the_owner_can_pass_stops_the_run_with_a_snapshot_never_an_empty_list(
    runner: BrowserRunner, site: Site, login: Login | None, reason: str
) -> None:
    jar, shots = Jar(), Shots()
    with serve(site) as url, pytest.raises(NeedsAttention) as caught:
        await _read_all(runner, url, jar, shots, login)
    assert caught.value.reason == reason
    assert len(shots.kept) == 1 and shots.kept[0][1] == reason
    assert shots.kept[0][2].startswith(b"\x89PNG") and "<html" in shots.kept[0][3]
    assert jar.saved == []  # a stopped run keeps the old cookies
    if login is not None and login.password == "wrong":
        assert "refused" in caught.value.message and "wrong" not in caught.value.message


ANNOUNCED = {
    **PAGES,
    "/ultra/courses/_2231_1/announcements": "announcements_2231.html",
    "/ultra/courses/_2244_1/announcements": "announcements_2244.html",
}


async def test_announcements_are_read_as_a_person_sees_them_and_none_only_when_the_page_says_so(
    runner: BrowserRunner,
) -> None:
    with serve(Site(FIXTURES, ANNOUNCED)) as url:
        async with runner.session(_source(url), Jar(), Shots()) as s:
            math = await browser.read_announcements(s, "_2231_1")
            engl = await browser.read_announcements(s, "_2244_1")
    review, audit = math
    assert (review.id, review.title, review.author) == ("_701_1", "Midterm 2 review session", "Dr. Alvarez")
    assert review.posted_at == datetime(2026, 12, 1, 14, 59, tzinfo=UTC)
    assert "Korman 245" in review.body and "eigenvalues" in review.body
    assert audit.posted_at == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # 11:00 am in Philadelphia
    assert "grade-audit@drexel-registrar.example" in audit.body  # visible text: read, as untrusted content
    assert "password" not in audit.body  # text the page hides is not read at all
    assert engl == []  # "There are no announcements in this course yet."


async def test_an_announcements_page_that_changed_stops_the_run(runner: BrowserRunner) -> None:
    """Neither the list nor the "no announcements" line: the page changed, never "nothing posted"."""
    shots = Shots()
    site = Site(FIXTURES, {**ANNOUNCED, "/ultra/courses/_2231_1/announcements": "announcements_changed.html"})
    with serve(site) as url, pytest.raises(NeedsAttention) as caught:
        async with runner.session(_source(url), Jar(), shots) as s:
            await browser.read_announcements(s, "_2231_1")
    assert caught.value.reason == "layout_changed" and "announcements" in caught.value.message
    assert [k[1] for k in shots.kept] == ["layout_changed"]
