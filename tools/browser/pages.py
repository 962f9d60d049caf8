"""Finding things on a page, and recognising the pages a run must stop at.

A :class:`Target` is an ordered list of ways to find one element: by ARIA role and accessible name
first, then by visible text, CSS last. The first way that finds a visible element wins; when none
does, the page is not the one we know (:class:`NeedsAttention` ``layout_changed``), never "nothing
there".

:func:`blocker` recognises a login form, a multi-factor prompt and a captcha, in that order of
precedence (a captcha on a login page is a captcha).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from playwright.async_api import Locator, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from tools.errors import IntegrationError

Reason = Literal["login", "mfa", "captcha", "layout_changed", "unreachable"]
Role = Literal["button", "cell", "heading", "link", "list", "listitem", "row", "table", "textbox", "main", "region"]

CAPTCHA_CSS = (
    "iframe[src*='recaptcha'], iframe[src*='hcaptcha'], iframe[src*='challenges.cloudflare.com'], "
    ".g-recaptcha, .h-captcha, .cf-turnstile"
)
MFA_CSS = "input[autocomplete='one-time-code'], input[name*='otp' i], input[name*='mfa' i], input[name*='totp' i]"
MFA_TEXT = ("verification code", "two-step", "two-factor", "authenticator app", "duo push")
CAPTCHA_TEXT = ("i'm not a robot", "verify you are human", "are you a robot")


class NeedsAttention(IntegrationError):
    """The page is one only the owner can get past (log in, approve MFA, solve a captcha), or not the
    page we know (the site changed). The run stops; the integration shows this reason."""

    def __init__(self, reason: Reason, message: str, *, integration: str | None = None) -> None:
        super().__init__(message, integration=integration, code=reason)
        self.reason: Reason = reason


@dataclass(frozen=True)
class Way:
    kind: Literal["role", "text", "css"]
    value: str
    name: str | None = None  # role: the accessible name


@dataclass(frozen=True)
class Target:
    """What to find, described for the owner (``what``) and as ordered ways to find it."""

    what: str
    ways: tuple[Way, ...]

    @classmethod
    def of(
        cls,
        what: str,
        *,
        role: Role | None = None,
        name: str | None = None,
        text: str | None = None,
        css: str | None = None,
    ) -> Target:
        ways = []
        if role is not None:
            ways.append(Way("role", role, name))
        if text is not None:
            ways.append(Way("text", text))
        if css is not None:
            ways.append(Way("css", css))
        if not ways:
            raise ValueError("a target needs at least one way to find it")
        return cls(what, tuple(ways))


def _locator(page: Page, way: Way) -> Locator:
    if way.kind == "role":
        return page.get_by_role(way.value, name=way.name)  # type: ignore[arg-type]
    if way.kind == "text":
        return page.get_by_text(way.value)
    return page.locator(way.value)


async def find(
    page: Page, target: Target, *, timeout_ms: float = 3000, source: str | None = None
) -> tuple[Locator, Way]:
    """The first way that shows a visible element (each waited for up to ``timeout_ms``, split)."""
    share = max(200.0, timeout_ms / len(target.ways))
    for way in target.ways:
        locator = _locator(page, way).first
        try:
            await locator.wait_for(state="visible", timeout=share)
        except PlaywrightTimeout:
            continue  # not this way: try the next one
        return locator, way
    raise NeedsAttention("layout_changed", f"{target.what} is not on the page any more", integration=source)


async def blocker(page: Page) -> tuple[Reason, str] | None:
    """Why the owner must step in on this page, or None."""
    text = (await page.locator("body").inner_text(timeout=2000)).lower() if await page.locator("body").count() else ""
    if await page.locator(CAPTCHA_CSS).count() or any(t in text for t in CAPTCHA_TEXT):
        return "captcha", "the site asks to prove a human is there (captcha)"
    if await page.locator(MFA_CSS).count() or any(t in text for t in MFA_TEXT):
        return "mfa", "the site asks for a second factor (MFA)"
    if await page.locator("input[type='password']").count():
        return "login", "the site asks to log in again"
    return None


@dataclass(frozen=True)
class Login:
    """The owner's login for a source (from the vault); ``repr`` never shows the password."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Login(username={self.username!r}, password=[REDACTED])"


USER_CSS = (
    "input[autocomplete='username'], input[type='email'], input[name*='user' i], input[id*='user' i], "
    "input[name*='login' i], input[name*='email' i]"
)


async def fill_login(page: Page, login: Login, *, timeout_ms: float = 15_000) -> None:
    """Fill the page's login form with the owner's username and password and submit it once."""
    user = page.locator(USER_CSS).first
    password = page.locator("input[type='password']").first
    if await user.count():
        await user.fill(login.username, timeout=timeout_ms)
    await password.fill(login.password, timeout=timeout_ms)
    try:
        async with page.expect_navigation(wait_until="domcontentloaded", timeout=timeout_ms):
            await password.press("Enter")
    except PlaywrightTimeout:
        raise NeedsAttention("login", "the login form did not go anywhere") from None
