"""URL helpers shared by the policy, the egress guard and the approval card.

* :func:`urls_in` finds URLs anywhere in a JSON-like value (message bodies included).
* :func:`url_carries_private` implements the "private data in URLs" rule (R5): a URL's host
  labels, path segments, query keys and values and fragment — raw, URL-decoded and, when they
  decode cleanly, base64/hex-decoded — must not carry text that occurs in private data.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "links_in",
    "short_private_tokens",
    "short_private_values",
    "string_values",
    "url_carries_private",
    "url_fragments",
    "urls_in",
]

_URL = re.compile(r"(?i)\b(?:https?|ftp|file|gopher|data|javascript)://[^\s<>\"'`]+|\bwww\.[^\s<>\"'`]+")
_TOKEN_SPLIT = re.compile(r"[^0-9a-z@+._-]+")
_FINE_SPLIT = re.compile(r"[^0-9a-z]+")
_WS = re.compile(r"\s+")


def urls_in(value: Any) -> list[str]:
    """Every URL-looking substring in the string leaves of a JSON-like value, in order."""
    out: list[str] = []
    if isinstance(value, str):
        out += [m.group(0).rstrip(".,;:!?)]}") for m in _URL.finditer(value)]
    elif isinstance(value, dict):
        for v in value.values():
            out += urls_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            out += urls_in(v)
    return out


# A host name a mail, chat or calendar client would make clickable without a scheme: labels and a
# top-level domain, then a path, port or query (``evil.example/login``), or a well-known TLD alone.
_BARE = re.compile(
    r"(?i)(?<![\w@.\-/])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,24}|xn--[a-z0-9-]{2,59}))"
    r"(?![\w@-])((?::\d{1,5})?(?:[/?#][^\s<>\"'`]*)?)"
)
_COMMON_TLDS = frozenset(
    re.split(
        r"\s+",
        "com net org io co ai app dev me info biz xyz ly gl to cc tv us uk de fr nl ru cn jp in br eu ch se no es it pl"
        " link site online top click live shop store page club tech cloud email example",
    )
)
_LINK_SCHEMES = re.compile(r"(?i)\b(?:mailto|tel|sms|data|javascript|ftp|file):[^\s<>\"'`]+")


def links_in(value: Any) -> list[str]:
    """Everything in the string leaves of a JSON-like value that a recipient's client could open:
    URLs with a scheme, ``www.`` hosts, bare host names with a path or port (``evil.example/login``)
    or with a well-known top-level domain, and ``mailto:``/``tel:``/``data:``-style links."""
    out: list[str] = []
    for text in string_values(value):
        out += urls_in(text)
        out += [m.group(0) for m in _LINK_SCHEMES.finditer(text) if not m.group(0).lower().startswith("ftp://")]
        for m in _BARE.finditer(text):
            host, tld, rest = m.group(1), m.group(2).lower(), m.group(3)
            if rest or tld in _COMMON_TLDS or tld.startswith("xn--"):
                out.append((host + rest).rstrip(".,;:!?)]}"))
    return list(dict.fromkeys(out))


def string_values(value: Any, *, keys: bool = False) -> list[str]:
    """Every string in a JSON-like value, in order; with ``keys``, a mapping's keys too."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        pairs = ((k, v) if keys else (v,) for k, v in value.items())
        return [t for pair in pairs for item in pair for t in string_values(item, keys=keys)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in string_values(v, keys=keys)]
    return []


def _b64(data: bytes, *, std: bool) -> str | None:
    try:
        raw = base64.b64decode(data) if std else base64.urlsafe_b64decode(data)
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _decodings(part: str) -> Iterator[str]:
    yield part
    once = unquote(part)
    yield once
    yield unquote(once)
    compact = once.strip()
    if len(compact) >= 8 and re.fullmatch(r"[A-Za-z0-9+/_-]+=*", compact):
        padded = (compact + "=" * (-len(compact) % 4)).encode("ascii")
        for decoded in (_b64(padded, std=True), _b64(padded, std=False)):
            if decoded is not None:
                yield decoded
    if len(compact) >= 8 and len(compact) % 2 == 0 and re.fullmatch(r"[0-9A-Fa-f]+", compact):
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            yield bytes.fromhex(compact).decode("utf-8")


def url_fragments(url: str) -> list[str]:
    """The data-carrying parts of a URL, decoded, normalised (case-folded, spaces collapsed)."""
    try:
        parts = urlsplit(url if "://" in url else "https://" + url)
    except ValueError:
        return [url.casefold()]
    raw: list[str] = []
    host = parts.hostname or ""
    labels = host.split(".")
    raw += labels[:-2]  # subdomain labels (DNS exfiltration); the registrable domain is the host
    raw += [seg for seg in parts.path.split("/") if seg]
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        raw += [k, v]
    if parts.fragment:
        raw.append(parts.fragment)
    if parts.username or parts.password:
        raw += [parts.username or "", parts.password or ""]
    out: list[str] = []
    for part in raw:
        for dec in _decodings(part):
            norm = _WS.sub(" ", dec).strip().casefold()
            if norm:
                out.append(norm)
                out += [t for t in _TOKEN_SPLIT.split(norm) if t]
                out += [t for t in _FINE_SPLIT.split(norm) if t]
    return list(dict.fromkeys(out))


def url_carries_private(
    url: str, private_values: Iterable[str], *, public_values: Iterable[str] = (), min_len: int = 6
) -> list[str]:
    """Fragments of ``url`` that occur in a private value (and in no public value).

    ``private_values`` may be whole texts (e.g. the normalised text of PRIVATE segments) or
    single values (a phone number, an account id). ``public_values`` are texts the owner typed
    or public pages the link came from; a fragment found there is not a leak.
    """
    private = [_WS.sub(" ", p).strip().casefold() for p in private_values if p]
    public = [_WS.sub(" ", p).strip().casefold() for p in public_values if p]
    leaks: list[str] = []
    frags = url_fragments(url)
    for frag in frags:
        if len(frag) < min_len or any(frag in p for p in public):
            continue
        if any(frag in p for p in private):
            leaks.append(frag)
    # Short private values (a PIN, a phone number) wholly inside a fragment.
    leaks += [
        value
        for value in private
        if min_len <= len(value) <= 64 and any(value in f for f in frags) and not any(value in p for p in public)
    ]
    return sorted(set(leaks))


def text_carries_private(
    text: str, private_values: Iterable[str], *, public_values: Iterable[str] = (), min_len: int = 6
) -> list[str]:
    """Fragments of a plain argument value that occur in a private value (and in no public value)."""
    private = [_WS.sub(" ", p).strip().casefold() for p in private_values if p]
    public = [_WS.sub(" ", p).strip().casefold() for p in public_values if p]
    norm = _WS.sub(" ", text).strip().casefold()
    words = [w for w in _TOKEN_SPLIT.split(norm) if w]
    frags = {norm, *(" ".join(words[i : i + n]) for n in (2, 3) for i in range(len(words) - n + 1))}
    return sorted(
        f for f in frags if len(f) >= min_len and any(f in p for p in private) and not any(f in p for p in public)
    )


_SHORT = re.compile(r"[0-9a-z]+(?:\.[0-9]+)?")


def short_private_values(url: str, private_texts: Iterable[str], public_texts: Iterable[str]) -> list[str]:
    """Values too short for :func:`url_carries_private` (a ticker, a share count, an amount) that a
    URL's path or query carries, that private texts state as a whole token, and that no public text
    (the owner's words, the page the link came from) states: provenance follows the value, not its
    length. One digit or letter says nothing and is skipped."""
    parts = urlsplit(url)
    tail = unquote(parts.path + " " + " ".join(v for _, v in parse_qsl(parts.query, keep_blank_values=True)))
    return short_private_tokens(tail, private_texts, public_texts)


def short_private_tokens(text: str, private_texts: Iterable[str], public_texts: Iterable[str]) -> list[str]:
    """The short values (2 to 5 characters) of ``text`` that only private texts state."""
    tokens = {t for t in _SHORT.findall(text.casefold()) if 2 <= len(t) < 6}
    if not tokens:
        return []
    private = [_WS.sub(" ", p).casefold() for p in private_texts if p]
    public = [_WS.sub(" ", p).casefold() for p in public_texts if p]
    return sorted(t for t in tokens if any(_whole(t, p) for p in private) and not any(_whole(t, p) for p in public))


def _whole(token: str, text: str) -> bool:
    return re.search(rf"(?<![0-9a-z.]){re.escape(token)}(?![0-9a-z]|\.[0-9])", text) is not None
