"""X's weighted post length (twitter-text configuration v3), checked before anything is posted.

Code points in the ranges below count 1, every other one (CJK, emoji...) counts 2; a URL counts 23
whatever its length (X wraps it in a t.co link); the limit is 280. Text is NFC-normalised first, as
X does. An emoji sequence joined by U+200D counts each of its parts here, where X counts it as one
emoji: this check can only over-count, so it never lets an over-long post through.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_WEIGHTED = 280
URL_WEIGHT = 23
_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"]+")


class PostTooLong(ValueError):
    """The text is over X's weighted limit; nothing was sent."""


@dataclass(frozen=True)
class Length:
    weighted: int
    limit: int = MAX_WEIGHTED

    @property
    def ok(self) -> bool:
        return self.weighted <= self.limit


def _weight(ch: str) -> int:
    cp = ord(ch)
    return 1 if any(lo <= cp <= hi for lo, hi in _LIGHT) else 2


def weighted_length(text: str) -> Length:
    """The weighted length X counts for ``text``."""
    normal = unicodedata.normalize("NFC", text)
    total, pos = 0, 0
    for m in _URL.finditer(normal):
        total += sum(_weight(c) for c in normal[pos : m.start()]) + URL_WEIGHT
        pos = m.end()
    total += sum(_weight(c) for c in normal[pos:])
    return Length(total)


def check_post(text: str) -> Length:
    """``text``'s length, or :class:`PostTooLong` with a message the owner can act on."""
    if not text.strip():
        raise PostTooLong("the post is empty")
    length = weighted_length(text)
    if not length.ok:
        over = length.weighted - length.limit
        raise PostTooLong(
            f"the post is {length.weighted} of X's {length.limit} weighted characters ({over} too many; "
            f"links count {URL_WEIGHT}, CJK characters and emoji count 2): shorten it"
        )
    return length
