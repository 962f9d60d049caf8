"""The model's Markdown, rendered safely for the chat page.

* raw HTML in the text is never markup (markdown-it ``html=False`` escapes it);
* images are off: ``![x](https://tracker/...)`` stays text, so no remote image is ever fetched;
* links are inert: their text, then the real host (``[link to example.org]``), the full URL in the
  title, never an ``<a>`` (a link the model wrote could carry data out in its URL); bare URLs too;
* hidden characters are shown as ``⟨U+200B⟩`` (:func:`web.routes.chat_view.reveal_hidden`);
* headings start at level 3 (the page has its own h1 and h2);
* finally ``nh3`` keeps only the tags and classes this renderer emits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

from web.routes.chat_view import host_of, reveal_hidden, segments

TAGS = {"p", "br", "em", "strong", "code", "pre", "ul", "ol", "li", "blockquote", "hr", "span", "s"}
TAGS |= {"h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td"}
ATTRIBUTES = {"span": {"title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}  # classes: CLASSES
CLASSES = {"span": {"inert-link", "link-host"}}
TITLE = "A link from the assistant: not clickable. Copy it only if you trust {host}."


def _inert(url: str) -> str:
    host = host_of(url)
    return (
        f'<span class="inert-link" title="{escape(TITLE.format(host=host))}">{escape(url)}</span> '
        f'<span class="link-host">[link to {escape(host)}]</span>'
    )


def _text(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    if env.get("in_link"):
        return escape(tokens[idx].content)
    return "".join(
        _inert(s["text"]) if s["kind"] == "link" else escape(s["text"]) for s in segments(tokens[idx].content)
    )


def _link_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    href = str(tokens[idx].attrGet("href") or "")
    env["in_link"] = href
    return f'<span class="inert-link" title="{escape(href)}">'


def _link_close(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    href = str(env.pop("in_link", "") or "")
    return f'</span> <span class="link-host">[link to {escape(host_of(href))}]</span>'


def _heading(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    level = min(6, int(token.tag[1]) + 2)
    return f"<h{level}>" if token.nesting == 1 else f"</h{level}>\n"


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table").enable("strikethrough").disable("image")
    md.add_render_rule("text", _text)
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("link_close", _link_close)
    md.add_render_rule("heading_open", _heading)
    md.add_render_rule("heading_close", _heading)
    return md


_MEMORY_CITE = re.compile(r"\[memory:([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\]")


_CITE_MARK = re.compile(r"AEGISMEMCITE([0-9a-f]{32})END")


def _uuid(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"


class ChatMarkdown:
    """One parser per console (built by :class:`web.state.Console`), not a module-level singleton."""

    def __init__(self) -> None:
        self._md = _build()

    def render(self, text: str) -> Markup:
        env: dict[str, Any] = {}
        text = _MEMORY_CITE.sub(lambda m: f"AEGISMEMCITE{m[1].lower().replace('-', '')}END", text)
        html = self._md.render(reveal_hidden(text), env)
        clean = nh3.clean(
            html, tags=TAGS, attributes=ATTRIBUTES, allowed_classes=CLASSES, url_schemes=set(), link_rel=None
        )
        # A memory citation ``[memory:ID]`` becomes a link to that memory's page on this console: the
        # id is a UUID (checked by the pattern), so nothing else can become a link this way.
        clean = _CITE_MARK.sub(lambda m: f'<a class="memory-cite" href="/memory/{_uuid(m[1])}">[memory]</a>', clean)
        return Markup(clean)  # noqa: S704 - nh3 output, from markup this module generated over escaped text
