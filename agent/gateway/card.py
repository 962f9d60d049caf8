"""Approval-card data: what the owner must see to decide, built from gateway data only.

Every argument is shown in full, canonicalised and never truncated:

* invisible, format (zero-width, bidi) and control characters become ``⟨U+200B⟩``;
* runs of 4+ spaces/tabs become ``⟦… 412 spaces …⟧`` and runs of 3+ line breaks
  ``⟦… 40 line breaks …⟧`` (their true length, so a payload cannot hide after whitespace);
* multi-line values are line-numbered;
* URLs are split into scheme / host (punycode, with the Unicode form if different) / port /
  path / each query parameter / fragment;
* each argument carries a provenance chip (typed by you / from your contacts / from plan /
  from untrusted: <channel> <item> from <principal> / written by the assistant, drawing on: <items>).

The console renders this structure; the model's prose is never part of it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from agent.gateway.context import ArgProvenance, ContextLabel, Origin
from agent.gateway.labels import Conf
from agent.gateway.policy import Decision, ToolCall
from agent.gateway.redact import SecretScanner
from agent.gateway.urls import string_values, urls_in
from tools.egress import UrlRejected, canonical_host

__all__ = [
    "ApprovalCard",
    "CardArg",
    "UrlParts",
    "build_card",
    "headline_for",
    "preview_facts",
    "split_url",
    "visible",
]

_VISIBLE_WS = frozenset(" \n")
_SPACE_RUN = re.compile(r"[ \t]{4,}")
_NL_RUN = re.compile(r"(?:\r?\n){3,}")


def _hidden(ch: str) -> bool:
    if ch in _VISIBLE_WS:
        return False
    cat = unicodedata.category(ch)
    # Cf: format (ZWSP, ZWJ, bidi overrides and isolates, tags); Cc: controls; Co/Cn: private/unassigned;
    # Z* other than a plain space: NBSP, thin spaces, line/paragraph separators.
    return cat in ("Cf", "Cc", "Co", "Cn", "Zl", "Zp") or (cat == "Zs" and ch != " ") or _is_variation(ch)


def _is_variation(ch: str) -> bool:
    o = ord(ch)
    return 0xFE00 <= o <= 0xFE0F or 0xE0100 <= o <= 0xE01EF or o == 0x3164 or o == 0x115F or o == 0x1160


def visible(text: str) -> tuple[str, bool, bool]:
    """Make hidden characters and long whitespace visible.

    Returns ``(rendered, had_hidden_chars, had_long_whitespace)``.
    """
    hidden = False
    long_ws = False

    def spaces(m: re.Match[str]) -> str:
        nonlocal long_ws
        long_ws = True
        run = m.group(0)
        tabs = run.count("\t")
        parts = [f"{len(run) - tabs} spaces"] + ([f"{tabs} tabs"] if tabs else [])
        return f"⟦… {', '.join(parts)} …⟧"

    def newlines(m: re.Match[str]) -> str:
        nonlocal long_ws
        long_ws = True
        return f"\n⟦… {m.group(0).count(chr(10))} line breaks …⟧\n"

    text = text.replace("\r\n", "\n")
    text = _NL_RUN.sub(newlines, text)
    text = _SPACE_RUN.sub(spaces, text)
    out: list[str] = []
    for ch in text:
        if ch == "\t":  # shown, as whitespace is; a long run of them is long whitespace
            out.append("⟨TAB⟩")
        elif _hidden(ch):
            out.append(f"⟨U+{ord(ch):04X}⟩")
            hidden = True
        else:
            out.append(ch)
    return "".join(out), hidden, long_ws


@dataclass(frozen=True, slots=True)
class UrlParts:
    raw: str
    scheme: str
    host: str  # punycode (ASCII)
    host_unicode: str | None  # the Unicode form when it differs (look-alike warning)
    port: int | None
    path: str
    params: tuple[tuple[str, str], ...]
    fragment: str


def split_url(url: str) -> UrlParts:
    try:
        p = urlsplit(url if "://" in url else "https://" + url)
        port = p.port
    except ValueError:
        return UrlParts(url, "", "", None, None, visible(url)[0], (), "")
    hostname = p.hostname or ""
    try:
        ascii_host = canonical_host(hostname) if hostname else ""
    except UrlRejected:
        ascii_host = hostname.encode("ascii", "backslashreplace").decode("ascii")
    unicode_host = hostname if hostname and hostname != ascii_host else None
    params = tuple((visible(k)[0], visible(v)[0]) for k, v in parse_qsl(p.query, keep_blank_values=True))
    return UrlParts(url, p.scheme, ascii_host, unicode_host, port, visible(p.path)[0], params, visible(p.fragment)[0])


@dataclass(frozen=True, slots=True)
class CardArg:
    name: str
    lines: tuple[str, ...]  # the full canonical value, visible, one entry per line, numbered by the UI
    chip: str
    untrusted: bool
    hidden_chars: bool
    long_whitespace: bool
    urls: tuple[UrlParts, ...]


@dataclass(frozen=True, slots=True)
class ApprovalCard:
    headline: str
    tool: str
    pin: str
    args: tuple[CardArg, ...]
    rules: tuple[tuple[str, str], ...]  # (rule id, plain reason)
    data_leaving: tuple[str, ...]
    context_sources: tuple[str, ...]
    step_up_required: bool
    original_request: str | None
    source_flags: tuple[str, ...] = ()  # hidden HTML or characters in a source; a source claiming to be you
    facts: tuple[tuple[str, str], ...] = ()  # what the tool's preview said (latest quote, estimated notional...)
    facts_from: str = ""  # the preview tool that said it
    owner_directed: bool = False  # you named both what leaves and who receives it: listed, not a warning

    @property
    def red_flags(self) -> tuple[str, ...]:
        """Machine-readable warnings, used by the card-aware test approver."""
        flags: list[str] = []
        if any(a.untrusted for a in self.args):
            flags.append("untrusted_argument")
        if any(a.hidden_chars for a in self.args):
            flags.append("hidden_characters")
        if any(a.long_whitespace for a in self.args):
            flags.append("long_whitespace")
        if self.data_leaving and not self.owner_directed:
            flags.append("data_leaving")
        if any(r.startswith(("R5", "R10")) or (r.startswith("R8") and not self.owner_directed) for r, _ in self.rules):
            flags.append("flow")
        flags += [f for f in self.source_flags if f not in flags]
        return tuple(flags)


def _canonical_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2)


def _card_arg(name: str, value: Any, prov: ArgProvenance | None, scanner: SecretScanner, *, kept: bool) -> CardArg:
    text, _ = scanner.redact(_canonical_text(value))
    rendered, hidden, long_ws = visible(text)
    if not isinstance(value, str):  # the JSON's own indentation is not the value's whitespace
        leaves = [visible(leaf) for leaf in string_values(value, keys=True)]
        hidden, long_ws = any(h for _, h, _ in leaves), any(w for _, _, w in leaves)
    urls = tuple(split_url(u) for u in urls_in(text))
    chip = prov.chip if prov is not None else "unknown"
    # Untrusted: the value itself came from (or could only have come from) untrusted content, or
    # untrusted content proposed the same value. A value the assistant wrote is not, merely
    # because untrusted content is in the context: its chip names what it draws on.
    # Data the owner keeps (a note in their own calendar or drive) may quote what was read: it keeps
    # its label, and its chip still names the source.
    untrusted = prov is not None and (prov.contested or (prov.origin is Origin.UNTRUSTED_ITEM and not kept))
    return CardArg(name, tuple(rendered.split("\n")), chip, untrusted, hidden, long_ws, urls)


def build_card(
    call: ToolCall,
    decision: Decision,
    context: ContextLabel,
    scanner: SecretScanner,
    *,
    headline: str,
    pin: str = "",
    original_request: str | None = None,
) -> ApprovalCard:
    args = tuple(
        _card_arg(name, value, decision.provenance.get(name), scanner, kept=name in decision.kept)
        for name, value in sorted(call.args.items(), key=lambda kv: str(kv[0]))
    )
    # Public data (a listing, a public page) leaving discloses nothing: only private data is listed.
    leaving: tuple[str, ...] = ()
    if decision.data_label.conf > Conf.PUBLIC:
        leaving = tuple(s.describe() for s in decision.data_leaving)
        leaving = leaving or (f"{decision.data_label.conf.name.lower()} data",)
    ctx_sources = tuple(s.describe() for s in context.label.untrusted_sources())
    # The call was chosen after reading untrusted content (R9 holds it): the card lists those sources
    # under context_sources; that alone is not a red flag, the arguments' own provenance is.
    flags = {f for s in context.label.untrusted_sources() for f in s.flags}
    source_flags = tuple(sorted(flags))
    return ApprovalCard(
        headline=headline,
        tool=decision.tool or call.tool,
        pin=pin.removeprefix("sha256:")[:12],
        args=args,
        rules=tuple((h.rule, h.reason) for h in decision.hits),
        data_leaving=leaving,
        context_sources=ctx_sources,
        step_up_required=decision.step_up,
        original_request=scanner.redact(original_request)[0] if original_request else None,
        source_flags=source_flags,
        owner_directed=decision.owner_directed,
    )


def preview_facts(content: Any, scanner: SecretScanner, limit: int = 24) -> tuple[tuple[str, str], ...]:
    """A preview's answer as plain name/value lines: its scalar fields and lists of scalars, redacted
    and made visible like any argument (the owner reads them; nothing in them is an instruction)."""
    if not isinstance(content, Mapping):
        return ()
    out: list[tuple[str, str]] = []
    for key, value in content.items():
        if key == "sources" or isinstance(value, Mapping):
            continue
        if isinstance(value, list):
            if not all(isinstance(v, (str, int, float, bool)) for v in value):
                continue
            text = "; ".join(str(v) for v in value) or "none"
        elif value is None:
            text = "none"
        else:
            text = str(value)
        shown, _ = scanner.redact(text)
        out.append((str(key).replace("_", " "), visible(shown)[0][:300]))
    return tuple(out[:limit])


def headline_for(decision: Decision, tool_class: str, args: Mapping[str, Any]) -> str:
    money = next((v for k, v in args.items() if k in ("notional", "total", "amount")), None)
    if tool_class == "FINANCIAL":
        return f"FINANCIAL{f', {money}' if money is not None else ''}"
    return f"{tool_class} via {decision.tool}"
