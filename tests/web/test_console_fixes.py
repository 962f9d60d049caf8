"""Bugs found when the console was tried as a new user would."""

from __future__ import annotations

import pytest

from tests.web.conftest import Console, cookie_header

pytestmark = pytest.mark.anyio


async def test_a_failed_login_keeps_the_email_but_never_the_secrets(console: Console) -> None:
    r = await console.http.post(
        "/auth/login", data={"email": console.email, "passphrase": "wrong-passphrase-1", "code": "123456"}
    )
    assert r.status_code == 401 and "Invalid credentials." in r.text
    assert f'value="{console.email}"' in r.text
    assert "wrong-passphrase-1" not in r.text and "123456" not in r.text
    # The passphrase field gets the focus, since the email is already there.
    assert 'autocomplete="current-password" required autofocus' in r.text


async def test_the_google_notice_says_where_and_how(console: Console) -> None:
    cookies = await console.browser_login()
    page = (await console.http.get("/integrations", headers=cookie_header(cookies))).text
    assert 'id="setup-gmail"' in page
    assert f"{console.url}/static/oauth-return.html" in page
    for step in (
        "Gmail API",
        "OAuth client ID",
        "google_client_secret",
        "AEGIS_GOOGLE_CLIENT_ID",
        "AEGIS_GOOGLE_REDIRECT_URI",
    ):
        assert step in page
