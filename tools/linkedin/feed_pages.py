"""Pages shaped like LinkedIn's, for the demo profile and the loopback tests: the home feed (feed
updates in ``div[data-urn]`` with the actor's name, profile link, relative age and commentary), the
security checkpoint and the login wall. :mod:`tools.linkedin.feed` reads the first; the others are
where a run must stop.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class ShownPost:
    activity: int  # the urn:li:activity number
    author: str
    profile: str  # /in/<slug>
    headline: str
    age: str  # as LinkedIn prints it: "3h", "1d", "1w"
    text: str
    promoted: bool = False


DEMO_FEED: Final = (
    ShownPost(
        7401100000000000101,
        "Maya Chen",
        "/in/maya-chen-ml",
        "Staff ML Engineer",
        "2h",
        "We cut our retrieval eval time in half by logging the misses, not the hits. Small habit, big payoff.",
    ),
    ShownPost(
        7401100000000000097,
        "Drexel University College of Computing & Informatics",
        "/school/drexel-cci",
        "University",
        "5h",
        "Co-op info session Thursday at 4pm in the Innovation Hall atrium. Bring a resume and questions.",
    ),
    ShownPost(
        7401100000000000090,
        "Northwind Cloud",
        "/company/northwind-cloud",
        "Promoted",
        "Promoted",
        "Try Northwind Cloud free for 90 days.",
        promoted=True,
    ),
    ShownPost(
        7401100000000000084,
        "Sam Okafor",
        "/in/samokafor",
        "Product lead, self-hosted tools",
        "1d",
        "Self-hosting your assistant is less about servers and more about deciding what never leaves home.",
    ),
    ShownPost(
        7401100000000000071,
        "Priya Raman",
        "/in/priya-raman",
        "Security researcher",
        "3d",
        "Reminder: a prompt in a web page is just data. Treat every tool result like a stranger's email.",
    ),
)


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f"<body>{body}</body></html>"
    )


def _update(p: ShownPost) -> str:
    e = html.escape
    urn = f"urn:li:activity:{p.activity}"
    sub = "Promoted" if p.promoted else f"{e(p.age)} • "
    return (
        f'<div data-id="{urn}" class="feed-item"><div class="feed-shared-update-v2" data-urn="{urn}" role="article">'
        '<div class="update-components-actor"><div class="update-components-actor__container">'
        f'<a class="update-components-actor__meta-link" href="{e(p.profile)}?trk=feed">'
        '<span class="update-components-actor__title"><span class="update-components-actor__name">'
        f'<span aria-hidden="true">{e(p.author)}</span></span></span>'
        f'<span class="update-components-actor__description">{e(p.headline)}</span>'
        f'<span class="update-components-actor__sub-description"><span aria-hidden="true">{sub}</span></span>'
        "</a></div></div>"
        f'<div class="update-components-text"><span class="break-words"><span dir="ltr">{e(p.text)}</span>'
        "</span></div></div></div>"
    )


def feed_html(posts: Sequence[ShownPost]) -> str:
    updates = "".join(_update(p) for p in posts)
    return _page(
        "Feed | LinkedIn",
        '<header class="global-nav"><a href="/feed/">Home</a></header>'
        '<main id="main" aria-label="Main Feed" class="scaffold-layout__main">'
        '<h2 class="visually-hidden">Feed post</h2>'
        '<div class="scaffold-finite-scroll scaffold-finite-scroll--infinite">'
        f'<div class="scaffold-finite-scroll__content" data-finite-scroll-hotkey-context="FEED">{updates}</div>'
        "</div></main>",
    )


def checkpoint_html() -> str:
    return _page(
        "Security Verification | LinkedIn",
        '<main class="app__content"><h1>Let\'s do a quick security check</h1>'
        "<p>We noticed some unusual activity. Please verify that you're not a robot to continue.</p>"
        '<form method="post" action="/checkpoint/challenge/verify"><div id="captcha-internal"></div>'
        '<button type="submit">Verify</button></form></main>',
    )


def authwall_html() -> str:
    return _page(
        "LinkedIn Login, Sign in | LinkedIn",
        '<main class="app__content"><h1>Sign in</h1><form method="post" action="/checkpoint/lg/login-submit">'
        '<input id="username" name="session_key" type="text" autocomplete="username">'
        '<input id="password" name="session_password" type="password"><button type="submit">Sign in</button>'
        "</form></main>",
    )
