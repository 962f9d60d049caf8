"""The checks every draft passes before it reaches the owner, and again after each edit:

- ``length``: the network's own counting (its ``measure`` tool: one network weighs characters,
  another counts them), against its limit;
- ``near_duplicate``: no post of the last 60 days and no other draft says nearly the same (word
  3-shingles, Jaccard similarity at or above :data:`THRESHOLD`); the detail names which;
- ``links``: every link, in any form a reader's client makes clickable (a scheme, ``www.``, a bare
  host with a path, ``mailto:``...), goes to a host the owner approved (or a subdomain of one);
- ``hidden``: no zero-width, bidi-control or tag characters.

A draft with a failing check is ``held``: it cannot be published until it is edited.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from agent.content.ports import DraftCheck
from agent.gateway.hidden import HIDDEN_CHARACTERS, hidden_content
from agent.gateway.urls import links_in

__all__ = [
    "THRESHOLD",
    "Call",
    "PastText",
    "check_hidden",
    "check_length",
    "check_links",
    "check_near_duplicate",
    "failing",
    "host_allowed",
    "link_host",
    "run_checks",
    "similarity",
]

THRESHOLD = 0.6
SHINGLE = 3
_WORD = re.compile(r"[\w']+", re.UNICODE)

Call = Callable[[str, dict[str, Any]], Awaitable[Any]]  # a READ tool through the gateway


@dataclass(frozen=True)
class PastText:
    """A post or another draft a new draft must not repeat; ``what`` is how the owner knows it."""

    text: str
    what: str  # "your post of 2026-11-20", "your draft for 2026-12-02"


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = [w.casefold() for w in _WORD.findall(text)]
    if len(words) < SHINGLE:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' word 3-shingles (case-folded), 0..1."""
    x, y = _shingles(a), _shingles(b)
    if not x or not y:
        return 0.0
    return len(x & y) / len(x | y)


def check_near_duplicate(text: str, past: Iterable[PastText]) -> DraftCheck:
    best, like = 0.0, None
    for item in past:
        score = similarity(text, item.text)
        if score > best:
            best, like = score, item
    if like is not None and best >= THRESHOLD:
        return DraftCheck("near_duplicate", False, f"{round(best * 100)}% like {like.what}")
    return DraftCheck("near_duplicate", True, "not like any post of the last 60 days or another draft")


def link_host(link: str) -> str | None:
    """The host a link opens, or None for a link that opens no web host (``mailto:``, ``data:``...)."""
    low = link.strip().lower()
    if "://" not in low:
        if re.match(r"^[a-z][a-z0-9+.-]*:(?!\d)", low) and not low.startswith("www."):
            return None  # mailto:, tel:, javascript:, data:...
        low = "//" + low
    try:
        host = urlsplit(low).hostname
    except ValueError:
        return None
    return host.rstrip(".") if host else None


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    host = host.lower().rstrip(".")
    for a in allowed:
        a = a.strip().lower().rstrip(".")
        if a and (host == a or host.endswith("." + a)):
            return True
    return False


def check_links(text: str, allowed: Sequence[str]) -> DraftCheck:
    bad: list[str] = []
    for link in links_in(text):
        host = link_host(link)
        if host is None or not host_allowed(host, allowed):
            bad.append(host or link[:60])
    if bad:
        names = ", ".join(dict.fromkeys(bad))
        return DraftCheck("links", False, f"{names}: not among the hosts you approved for posts")
    found = len(links_in(text))
    return DraftCheck("links", True, f"{found} link{'s' if found != 1 else ''}, all to hosts you approved")


def check_hidden(text: str) -> DraftCheck:
    kinds = hidden_content(text)
    if HIDDEN_CHARACTERS in kinds:
        marks = sorted({f"U+{ord(c):04X}" for c in text if c in _hidden_set(text)})
        return DraftCheck("hidden", False, f"hidden characters: {', '.join(marks[:5])}")
    return DraftCheck("hidden", True, "no hidden characters")


def _hidden_set(text: str) -> set[str]:
    return {c for c in text if hidden_content(c)}


async def check_length(text: str, measure: str, call: Call) -> tuple[DraftCheck, int | None]:
    """The network's own count against its limit (and the limit, when the network said it)."""
    try:
        out = await call(measure, {"text": text})
    except Exception as exc:  # noqa: BLE001 - an unmeasured draft is held, never passed
        return DraftCheck("length", False, f"could not be measured: {str(exc)[:120]}"), None
    length = out.get("length") if isinstance(out, dict) else None
    limit = out.get("limit") if isinstance(out, dict) else None
    if not isinstance(length, int) or not isinstance(limit, int) or isinstance(length, bool):
        return DraftCheck("length", False, "could not be measured: the network's answer had no length"), None
    return DraftCheck("length", length <= limit, f"{length} of {limit}"), limit


async def run_checks(
    text: str, *, measure: str, call: Call, past: Sequence[PastText], allowed: Sequence[str]
) -> tuple[tuple[DraftCheck, ...], int | None]:
    length, limit = await check_length(text, measure, call)
    return (length, check_near_duplicate(text, past), check_links(text, allowed), check_hidden(text)), limit


def failing(checks: Iterable[DraftCheck]) -> list[DraftCheck]:
    return [c for c in checks if not c.ok]
