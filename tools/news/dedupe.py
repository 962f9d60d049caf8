"""Duplicates across sources: the same link (normalised) or a near-identical title is one story.

A link is normalised by lower-casing the host, dropping ``www.``, the fragment, tracking parameters
(``utm_*``, ``fbclid``...) and a trailing slash, sorting the rest of the query and treating ``http``
as ``https``. A title is compared without case, punctuation or a trailing " - Publisher" and counts
as the same when the two read at least 90 % alike.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from difflib import SequenceMatcher
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tools.news.models import Article, Story

_TRACKING = re.compile(r"^(utm_[a-z]+|fbclid|gclid|dclid|mc_[a-z]+|ocid|cmpid|ref|ref_src|smid|taid|at_[a-z]+)$")
_SUFFIX = re.compile(r"\s+[-|–—]\s+[^-|–—]{2,40}$")
_NOT_WORD = re.compile(r"[^\w\s]")
_SPACE = re.compile(r"\s+")
SIMILAR = 0.9


def normalize_url(url: str) -> str:
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    port = f":{parts.port}" if parts.port and parts.port not in (80, 443) else ""
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k.lower()))
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https", host + port, path, urlencode(query), ""))


def title_key(title: str) -> str:
    text = unicodedata.normalize("NFKC", title).casefold()
    text = _SUFFIX.sub("", text)
    return _SPACE.sub(" ", _NOT_WORD.sub(" ", text)).strip()


def same_title(a: str, b: str) -> bool:
    if not a or not b:
        return False
    return a == b or SequenceMatcher(None, a, b, autojunk=False).ratio() >= SIMILAR


def merge(articles: Iterable[Article]) -> list[Story]:
    """Group ``articles`` into stories, in the order they came (the first of a group leads it)."""
    stories: list[Story] = []
    by_url: dict[str, Story] = {}
    keys: list[tuple[str, Story]] = []
    for article in articles:
        url, key = normalize_url(article.url), title_key(article.title)
        story = by_url.get(url) or next((s for k, s in keys if same_title(k, key)), None)
        if story is None:
            story = Story(article)
            stories.append(story)
            keys.append((key, story))
        else:
            story.others.append(article)
        by_url.setdefault(url, story)
    return stories
