"""Untrusted HTML (email bodies, model output) made safe to show inside a console page.

Three passes, the last one authoritative:

1. ``nh3`` with an allow-list of harmless formatting tags and a few attributes. Scripts, styles,
   templates, frames, objects, forms and SVG/MathML go with their content; every event handler,
   ``style``, ``class``, ``id``, ``srcset`` and ``hidden`` attribute goes; relative URLs (which would
   point at the console itself) go; ``href`` keeps only http(s)/mailto and ``src`` only inline
   ``data:image/...`` pictures.
2. A rewrite of the clean markup: each external link opens in a new tab and shows its real host
   next to it (IDNA form, so look-alike letters show up as ``xn--``); each remaining remote image
   (none survive pass 1, but the rule is kept here too) becomes a visible "image blocked" note;
   invisible and direction-changing characters are removed from the text.
3. ``nh3`` again, with the same allow-list plus only the classes and ``target`` that pass 2 adds.

Hidden-text tricks stop working as a side effect: with no ``style``/``class``/``hidden`` attribute,
text an email hid from the reader is shown like the rest.
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser
from urllib.parse import urlsplit

import nh3
from markupsafe import Markup

TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt", "em",
        "hr", "i", "img", "ins", "li", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub",
        "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
# Gone with everything inside them (never shown as text either).
DROPPED = frozenset(
    {
        "script", "style", "template", "iframe", "frame", "frameset", "object", "embed", "noscript",
        "svg", "math", "textarea", "select", "title", "head", "applet", "noembed", "noframes",
    }
)  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}
LINK_REL = "noopener noreferrer nofollow"
IMAGE_DATA = re.compile(r"^data:image/(png|gif|jpeg|webp);base64,[A-Za-z0-9+/=\s]+$", re.IGNORECASE)
LINK_SCHEMES = ("http", "https", "mailto")
# Zero-width and bidirectional-control characters: used to hide words from filters or to make
# text read differently from what it is. U+200D (zero-width joiner) stays: emoji sequences use it.
INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def _link_ok(value: str) -> bool:
    scheme = urlsplit(value.strip()).scheme.lower()
    return scheme in LINK_SCHEMES


def _filter(tag: str, attr: str, value: str) -> str | None:
    if attr == "href":
        return value if _link_ok(value) else None
    if attr == "src":
        return value if tag == "img" and IMAGE_DATA.match(value.strip()) else None
    return value


_FIRST = nh3.Cleaner(
    tags=set(TAGS),
    clean_content_tags=set(DROPPED),
    attributes={k: set(v) for k, v in ATTRIBUTES.items()},
    attribute_filter=_filter,
    strip_comments=True,
    link_rel=LINK_REL,
    url_schemes={"http", "https", "mailto", "data"},
    url_relative="deny",
)
_FINAL = nh3.Cleaner(
    tags=set(TAGS),
    clean_content_tags=set(DROPPED),
    attributes={k: set(v) for k, v in ATTRIBUTES.items()},
    attribute_filter=_filter,
    strip_comments=True,
    link_rel=LINK_REL,
    url_schemes={"http", "https", "mailto", "data"},
    url_relative="deny",
    tag_attribute_values={"a": {"target": {"_blank"}}},
    allowed_classes={"a": {"external"}, "span": {"link-host", "blocked-image"}},
)


def display_host(url: str) -> str | None:
    """The host a link really goes to, in ASCII (IDNA) form; None if it has none (mailto:)."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return "invalid address"
    if not host:
        return None
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host.encode("ascii", "backslashreplace").decode("ascii")


class _Rewriter(HTMLParser):
    """Re-serialises pass 1's output (already well-formed) with link hosts and blocked images."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._host_after: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "img":
            src = values.get("src", "")
            if IMAGE_DATA.match(src.strip()):
                self.out.append(f'<img src="{escape(src)}" alt="{escape(values.get("alt", ""))}">')
            else:
                alt = values.get("alt", "").strip()
                note = f"[remote image blocked: {alt}]" if alt else "[remote image blocked]"
                self.out.append(f'<span class="blocked-image">{escape(note)}</span>')
            return
        if tag == "a":
            href = values.get("href", "")
            host = display_host(href) if href else None
            self._host_after.append(host)
            parts = [f'href="{escape(href)}"'] if href else []
            if "title" in values:
                parts.append(f'title="{escape(values["title"])}"')
            if host:
                parts += ['class="external"', 'target="_blank"']
            self.out.append(f"<a {' '.join(parts)}>" if parts else "<a>")
            return
        kept = "".join(f' {k}="{escape(v)}"' for k, v in values.items())
        self.out.append(f"<{tag}{kept}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("img", "br", "hr"):
            return
        self.out.append(f"</{tag}>")
        if tag == "a" and self._host_after:
            host = self._host_after.pop()
            if host:
                self.out.append(f' <span class="link-host">({escape(host)})</span>')

    def handle_data(self, data: str) -> None:
        self.out.append(escape(INVISIBLE.sub("", data), quote=False))


def sanitize_html(html: str) -> Markup:
    """Untrusted HTML -> markup that is safe to put in a page (see the module docstring)."""
    first = _FIRST.clean(INVISIBLE.sub("", html))
    rewriter = _Rewriter()
    rewriter.feed(first)
    rewriter.close()
    return Markup(_FINAL.clean("".join(rewriter.out)))  # noqa: S704 - the output of the final nh3 pass


def plain_text(html: str) -> str:
    """The visible text only (no markup at all), for previews; escape it when rendering."""
    from html import unescape

    return INVISIBLE.sub("", unescape(nh3.clean(html, tags=set(), clean_content_tags=set(DROPPED))))
