"""Content a reader would not see but a model reads: flagged on the source it came from.

Hidden characters (zero-width, bidi controls, tags) and hidden HTML: ``display:none``,
``visibility:hidden``, zero or near-zero font sizes, zero opacity, white or transparent text,
zero-size or off-screen boxes, the ``hidden`` attribute, and HTML comments holding text.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from agent.gateway.urls import string_values

__all__ = ["HIDDEN_CHARACTERS", "HIDDEN_HTML", "hidden_content"]

HIDDEN_HTML = "hidden_html"
HIDDEN_CHARACTERS = "hidden_characters"

_STYLE = re.compile(r"""(?is)\bstyle\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_HIDING_CSS = re.compile(
    r"(?ix)"
    r"display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)|opacity\s*:\s*0(?:\.0*)?\s*(?:;|$|!)"
    r"|font-size\s*:\s*(?:0|0?\.\d+)\s*(?:px|pt|em|rem|%)?\s*(?:;|$|!)"
    r"|(?<![-\w])color\s*:\s*(?:\#fff(?:fff)?\b|white\b|transparent\b|rgba?\(\s*255\s*,\s*255\s*,\s*255)"
    r"|(?<![-\w])(?:max-)?(?:width|height)\s*:\s*0(?:px)?\s*(?:;|$|!)"
    r"|(?:left|top|text-indent)\s*:\s*-\d{3,}"
    r"|clip\s*:\s*rect\(\s*0"
)
_HIDDEN_ATTR = re.compile(r"(?is)<[a-z][^>]*\s(?:hidden|aria-hidden\s*=\s*[\"']?true)[\s/>=]")
_FONT_TAG = re.compile(r"(?is)<font[^>]*\b(?:size\s*=\s*[\"']?0|color\s*=\s*[\"']?(?:#fff(?:fff)?|white))")
_COMMENT = re.compile(r"(?s)<!--(.*?)-->")
_WORDS = re.compile(r"[A-Za-z]{3,}(?:\s+[A-Za-z]{2,}){2,}")


def _hidden_char(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat in ("Cf", "Co") or 0xE0000 <= ord(ch) <= 0xE007F


def hidden_content(content: Any) -> tuple[str, ...]:
    """Which kinds of hidden content ``content`` (text or a JSON-like value) carries."""
    text = "\n".join(string_values(content, keys=True))
    kinds: list[str] = []
    styles = (m.group(1) or m.group(2) or "" for m in _STYLE.finditer(text))
    if (
        any(_HIDING_CSS.search(s) for s in styles)
        or _HIDDEN_ATTR.search(text)
        or _FONT_TAG.search(text)
        or any(_WORDS.search(m.group(1)) for m in _COMMENT.finditer(text))
    ):
        kinds.append(HIDDEN_HTML)
    if any(_hidden_char(ch) for ch in text):
        kinds.append(HIDDEN_CHARACTERS)
    return tuple(kinds)
