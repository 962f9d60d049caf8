"""A deep link (a phone notification opening an approval) survives the login in between."""

from __future__ import annotations

import pytest

from tests.web.conftest import Console
from web.routes.auth import safe_next

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/approvals/abc123", "/approvals/abc123"),
        ("/jobs?job=sync_emails", "/jobs?job=sync_emails"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("approvals", "/"),
        ("/login", "/"),
        ("/auth/logout", "/"),
        ("/x\r\nSet-Cookie: a=b", "/"),
        ("/" + "a" * 600, "/"),
    ],
)
def test_only_local_paths_are_followed_after_login(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


async def test_a_deep_link_returns_to_its_page_after_logging_in(console: Console) -> None:
    r = await console.http.get("/approvals/abc123", headers={"Accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fapprovals%2Fabc123"
    page = await console.http.get(r.headers["location"])
    assert 'name="next" value="/approvals/abc123"' in page.text
    body = {
        "email": console.email,
        "passphrase": console.passphrase,
        "code": console.fresh_code(),
        "next": "/approvals/abc123",
    }
    done = await console.http.post("/auth/login", data=body)
    assert done.status_code == 303 and done.headers["location"] == "/approvals/abc123"
    evil = {**body, "code": console.fresh_code(), "next": "//evil.example/"}
    assert (await console.http.post("/auth/login", data=evil)).headers["location"] == "/"
