"""The owner's LinkedIn home feed, read in a headless browser: LinkedIn has no feed API for members
(API-NOTES §9), and the owner asked for it and accepts the risk.

Authentication is the owner's own session: the value of LinkedIn's ``li_at`` cookie, copied from a
browser where the owner is logged in, kept in the vault as ``linkedin-session``. Nothing else is
stored, and no password is ever typed by Aegis. The run is deliberately small: one page
(``/feed/``), a few scrolls with random pauses, at most ``cap`` posts.

The FIRST page LinkedIn puts in the way stops the run (:class:`NeedsAttention`): a security
checkpoint (``/checkpoint/...``), the login wall (``/authwall``, ``/login``, ``/uas/login``, a
password form) or a captcha. Nothing more is fetched. Everything read here is written by other
people: untrusted text.

Posts are read from ``div[data-urn]`` feed updates (``urn:li:activity:…``): the actor's name and
profile link, the commentary, and the relative age LinkedIn prints ("3h", "2d", "1w"). Promoted
posts are skipped.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

from tools.browser.pages import NeedsAttention, Reason, Target
from tools.browser.session import Session

NAME: Final = "linkedin"
SITE: Final = "https://www.linkedin.com"
FEED_PATH: Final = "/feed/"
SESSION_CREDENTIAL: Final = "linkedin-session"  # the owner's li_at cookie value
SESSION_COOKIE: Final = "li_at"
MAX_TEXT: Final = 3000
FEED = Target.of("the feed", role="main", name="Main Feed", css="main .scaffold-finite-scroll, main [data-urn]")
_URN = re.compile(r"^urn:li:(activity|ugcPost|share):[0-9]{6,25}$")
_AGE = re.compile(r"(\d+)\s*(mo|yr|y|w|d|h|m|s)\b", re.I)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "mo": 30 * 86400, "yr": 365 * 86400, "y": 365 * 86400}
_RANDOM = secrets.SystemRandom()
_CHALLENGE_PATHS: Final[tuple[tuple[str, Reason, str], ...]] = (
    ("/checkpoint/", "captcha", "LinkedIn asks for a security check (checkpoint)"),
    ("/authwall", "login", "LinkedIn shows its login wall: the saved session is no longer accepted"),
    ("/uas/login", "login", "LinkedIn asks to log in again: the saved session is no longer accepted"),
    ("/login", "login", "LinkedIn asks to log in again: the saved session is no longer accepted"),
)

_POSTS_JS = """(root) => [...root.querySelectorAll('[data-urn]')].map(el => {
  const pick = (sel) => el.querySelector(sel);
  const name = pick('.update-components-actor__name [aria-hidden="true"]')
    ?? pick('.update-components-actor__name') ?? pick('.update-components-actor__title');
  const link = pick('a.update-components-actor__meta-link[href]')
    ?? pick('.update-components-actor__container a[href]');
  const text = pick('.update-components-text') ?? pick('.feed-shared-update-v2__description');
  const sub = pick('.update-components-actor__sub-description');
  return {
    urn: el.getAttribute('data-urn'),
    author: name ? name.innerText.trim() : null,
    author_url: link ? link.getAttribute('href') : null,
    text: text ? text.innerText.trim() : '',
    age: sub ? sub.innerText.trim() : '',
  };
})"""


@dataclass(frozen=True)
class FeedPost:
    """One post of the owner's feed as the page showed it."""

    post_id: str  # urn:li:activity:…
    author: str
    author_url: str | None
    text: str
    posted_at: datetime | None  # from the relative age, on the run's clock

    @property
    def link(self) -> str:
        return f"{SITE}/feed/update/{self.post_id}/"


@dataclass(frozen=True)
class Pace:
    """How gently a run reads: at most ``cap`` posts, ``scrolls`` scrolls, each after a random pause."""

    cap: int = 15
    scrolls: int = 2
    pause: tuple[float, float] = (2.0, 5.0)  # seconds, uniform

    def wait(self) -> float:
        low, high = self.pause
        return low + _RANDOM.random() * max(0.0, high - low)


def session_cookies(value: str, site: str = SITE) -> list[dict[str, Any]]:
    """The owner's ``li_at`` as the one cookie the browser starts with (Playwright's cookie shape)."""
    clean = value.strip().strip('"')
    if clean.lower().startswith(f"{SESSION_COOKIE}="):
        clean = clean.split("=", 1)[1]
    if not re.fullmatch(r"[A-Za-z0-9_\-.~%+/=]{16,1024}", clean):
        raise ValueError("the LinkedIn session is not an li_at cookie value")
    parts = urlsplit(site)
    return [
        {
            "name": SESSION_COOKIE,
            "value": clean,
            "domain": parts.hostname or "",
            "path": "/",
            "secure": parts.scheme == "https",
            "httpOnly": True,
            "sameSite": "None" if parts.scheme == "https" else "Lax",
        }
    ]


def age_to_time(age: str, now: datetime) -> datetime | None:
    """``3h • Edited •`` -> now - 3 hours; ``now`` or words -> None (never a guess)."""
    m = _AGE.search(age)
    if m is None:
        return None
    return now - timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2).lower()])


def challenge(url: str) -> tuple[Reason, str] | None:
    """Whether LinkedIn sent the browser to a page only the owner can get past, by its address."""
    path = urlsplit(url).path
    for prefix, reason, detail in _CHALLENGE_PATHS:
        if path.startswith(prefix):
            return reason, detail
    return None


async def _stop_at_challenge(s: Session) -> None:
    found = challenge(s.page.url)
    if found is not None:
        raise NeedsAttention(found[0], found[1], integration=NAME)
    await s.check()  # a password form, an MFA prompt or a captcha on any page


def _post(raw: dict[str, Any], site: str, now: datetime) -> FeedPost | None:
    urn = str(raw.get("urn") or "")
    age = str(raw.get("age") or "")
    if not _URN.fullmatch(urn) or "promoted" in age.lower():
        return None
    href = raw.get("author_url")
    author_url = None
    if isinstance(href, str) and href:
        full = urljoin(site, href.split("?", 1)[0])
        author_url = full if urlsplit(full).netloc == urlsplit(site).netloc else None
    author = " ".join(str(raw.get("author") or "").split())[:200]
    return FeedPost(urn, author or "Someone", author_url, str(raw.get("text") or "")[:MAX_TEXT], age_to_time(age, now))


async def read_feed(
    s: Session, pace: Pace, *, now: datetime, pause: Callable[[float], Awaitable[None]], site: str = SITE
) -> list[FeedPost]:
    """The newest posts of the owner's feed, at most ``pace.cap``; stops at the first challenge."""
    await s.goto(FEED_PATH)
    await _stop_at_challenge(s)
    feed, _ = await s.find(FEED)
    found: dict[str, FeedPost] = {}
    for scroll in range(pace.scrolls + 1):
        for raw in await feed.evaluate(_POSTS_JS):
            post = _post(raw, site, now)
            if post is not None and post.post_id not in found:
                found[post.post_id] = post
        if len(found) >= pace.cap or scroll == pace.scrolls:
            break
        await s.page.mouse.wheel(0, 2400)
        await pause(pace.wait())  # a person's pause, and time for the next posts to load
        await _stop_at_challenge(s)
    return list(found.values())[: pace.cap]
