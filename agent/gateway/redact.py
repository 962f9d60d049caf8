"""Secret scanning and redaction for tool results, arguments, logs and approval cards.

Two kinds of match:

* **Registered secrets** (vault values, canaries): exact match of the raw value and of its
  standard base64, URL-safe base64 (with and without padding), hex (either case) and URL-encoded
  forms. Encoded forms are matched as whole strings; a secret base64-encoded in the middle of a
  longer base64 blob (misaligned) is not found.
* **Detectors**: API key prefixes (``sk-``, ``ghp_``/``gho_``/…/``github_pat_``, ``xox[abposr]-``,
  ``AKIA``/``ASIA``, ``aegk_``), ``Bearer`` credentials, JWTs, PEM private keys, Luhn-valid card
  numbers, one-time codes next to an OTP phrase, and password-reset / magic / verification links.

Every match is replaced by ``⟦secret:N⟧``; N is stable per distinct value within one
:class:`SecretScanner`, so the same secret always gets the same handle. The scanner keeps only
hashes of matched values, never the values.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["Finding", "SecretScanner", "luhn_ok"]

_MIN_SECRET = 6

_DETECTORS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    # (kind, pattern, group holding the secret)
    (
        "pem_private_key",
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----|[\s\S]*)"),
        0,
    ),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), 0),
    ("bearer", re.compile(r"(?i)\bbearer\s+([A-Za-z0-9._~+/-]{8,}=*)"), 1),
    ("api_key", re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), 0),
    ("github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), 0),
    ("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), 0),
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), 0),
    ("broker_key", re.compile(r"\baegk_[A-Za-z0-9]+\.[A-Za-z0-9]+"), 0),
    (
        "otp",
        re.compile(
            r"(?i)\b(?:code|otp|passcode|pin|one[- ]time (?:password|code)|token)\b[^\d\n]{0,24}?"
            r"(?:is|:|=|-)?\s*[\"'“]?(\d{4,8}|\d{3}[ -]\d{3})\b"
        ),
        1,
    ),
    (
        "otp",
        re.compile(r"(?i)\b(\d{4,8}|\d{3}[ -]\d{3})\s+is\s+your\b[^\n]{0,40}?\b(?:code|otp|passcode|pin|password)\b"),
        1,
    ),
)
_URL = re.compile(r"https?://[^\s<>\"'`)\]]+", re.IGNORECASE)
_LINK_WORDS = re.compile(
    r"(?i)(reset|recover|magic|passwordless|verif|confirm|activate|one[-_]?time|login|log-in|signin|sign-in|"
    r"auth|unlock|invite)"
)
_LINK_TOKEN = re.compile(
    r"(?i)(?:[?&#;](?:token|code|key|sig|signature|otp|hash|auth|t|k|oobcode|ticket)=[^&#\s]{6,})"
    r"|(?:/[A-Za-z0-9_-]{20,})"
)
_CARD = re.compile(r"(?<![\d+])(?:[2-6]\d{3})(?:[ -]?\d){9,15}(?!\d)")


def _scoped(pattern: re.Pattern[str]) -> str:
    """``pattern`` as one alternative of a larger regex: its flags scoped to it, its groups unnumbered."""
    body = pattern.pattern.removeprefix("(?i)")
    return f"(?i:{body})" if body != pattern.pattern or pattern.flags & re.IGNORECASE else f"(?:{body})"


# Every pattern _spans runs, as one alternation: a text it finds nothing in has no span (any match of one
# alternative is a match of the alternation), so _spans can answer such a text in one pass.
_ANY_DETECTOR = "|".join(_scoped(p) for p in (*(d[1] for d in _DETECTORS), _URL, _CARD))


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _forms(value: str) -> set[str]:
    raw = value.encode("utf-8")
    std = base64.b64encode(raw).decode("ascii")
    url = base64.urlsafe_b64encode(raw).decode("ascii")
    return {
        value,
        std,
        std.rstrip("="),
        url,
        url.rstrip("="),
        raw.hex(),
        raw.hex().upper(),
        quote(value, safe=""),
        quote_plus(value, safe=""),
    }


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # "registered" or a detector name
    path: str  # JSON path of the value ("$" for plain text)
    start: int
    end: int
    handle: int  # the N in ⟦secret:N⟧


class SecretScanner:
    """Finds and redacts secrets. Register vault values and canaries with :meth:`register`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._registered: re.Pattern[str] | None = None
        self._any = re.compile(_ANY_DETECTOR)
        self._handles: dict[str, int] = {}
        for s in secrets:
            self.register(s)

    def register(self, value: str) -> None:
        if len(value) < _MIN_SECRET or value in self._values:
            return
        self._values.add(value)
        forms = {f for v in self._values for f in _forms(v) if len(f) >= _MIN_SECRET}
        alternation = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
        self._registered = re.compile(alternation)
        self._any = re.compile(f"{alternation}|{_ANY_DETECTOR}")

    def _handle(self, secret: str) -> int:
        key = hashlib.sha256(secret.encode("utf-8")).hexdigest()
        if key not in self._handles:
            self._handles[key] = len(self._handles) + 1
        return self._handles[key]

    def _spans(self, text: str) -> list[tuple[int, int, str]]:
        if self._any.search(text) is None:  # the common case: nothing that could be a secret
            return []
        spans: list[tuple[int, int, str]] = []
        if self._registered is not None:
            spans += [(m.start(), m.end(), "registered") for m in self._registered.finditer(text)]
        for kind, pattern, group in _DETECTORS:
            spans += [(m.start(group), m.end(group), kind) for m in pattern.finditer(text)]
        for m in _URL.finditer(text):
            url = m.group(0)
            if _LINK_WORDS.search(url) and _LINK_TOKEN.search(url):
                spans.append((m.start(), m.end(), "secret_link"))
        for m in _CARD.finditer(text):
            digits = re.sub(r"\D", "", m.group(0))
            if 13 <= len(digits) <= 19 and luhn_ok(digits):
                spans.append((m.start(), m.end(), "card_number"))
        # Merge overlaps: earliest start first, longest first; a covered span is dropped.
        spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
        merged: list[tuple[int, int, str]] = []
        for start, end, kind in spans:
            if merged and start < merged[-1][1]:
                ps, pe, pk = merged[-1]
                merged[-1] = (ps, max(pe, end), pk)
            else:
                merged.append((start, end, kind))
        return merged

    def redact(self, text: str, *, path: str = "$") -> tuple[str, list[Finding]]:
        """Replace every match with ``⟦secret:N⟧``; return the new text and the findings."""
        spans = self._spans(text)
        if not spans:
            return text, []
        out: list[str] = []
        findings: list[Finding] = []
        pos = 0
        for start, end, kind in spans:
            handle = self._handle(text[start:end])
            out += [text[pos:start], f"⟦secret:{handle}⟧"]
            findings.append(Finding(kind, path, start, end, handle))
            pos = end
        out.append(text[pos:])
        return "".join(out), findings

    def redact_value(self, value: Any, *, path: str = "$") -> tuple[Any, list[Finding]]:
        """Redact a JSON-like value recursively (dict keys too); non-JSON leaves become text."""
        if isinstance(value, str):
            return self.redact(value, path=path)
        if value is None or isinstance(value, (bool, int, float)):
            return value, []
        findings: list[Finding] = []
        if isinstance(value, dict):
            out: dict[Any, Any] = {}
            for k, v in value.items():
                key, fk = self.redact(k, path=f"{path}.<key>") if isinstance(k, str) else (k, [])
                new, fv = self.redact_value(v, path=f"{path}.{k}")
                out[key] = new
                findings += fk + fv
            return out, findings
        if isinstance(value, (list, tuple)):
            items: list[Any] = []
            for i, v in enumerate(value):
                new, f = self.redact_value(v, path=f"{path}[{i}]")
                items.append(new)
                findings += f
            return items, findings
        return self.redact(repr(value), path=path)

    def scan(self, value: Any) -> list[Finding]:
        """Findings in a JSON-like value (nothing is changed)."""
        return self.redact_value(value)[1]
