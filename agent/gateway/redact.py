"""Secret scanning and redaction for tool results, arguments, logs and approval cards.

Two kinds of match:

* **Registered secrets** (vault values, canaries): exact match of the raw value and of its
  standard base64, URL-safe base64 (with and without padding), hex (either case) and URL-encoded
  forms. Encoded forms are matched as whole strings; a secret base64-encoded in the middle of a
  longer base64 blob (misaligned) is not found.
* **Detectors**: API key prefixes (``sk-``, ``ghp_``/``gho_``/…/``github_pat_``, ``xox[abposr]-``,
  ``AKIA``/``ASIA``, ``aegk_``), vendor tokens Aegis holds (bank-link ``access-``/``public-``/``link-``/
  ``processor-`` tokens, Google ``ya29.`` access and ``1//`` refresh tokens, ``GOCSPX-`` client
  secrets), ``Bearer`` credentials, JWTs, PEM private keys, card numbers (Luhn-valid, a real
  issuer prefix and length, and a card's grouping), one-time codes next to an OTP phrase, and
  password-reset / magic / verification links. Integrations add their own token formats
  (``extra``). With ``generic=True`` (error text) long hex and high-entropy base64 runs count too.

Every match is replaced by ``⟦secret:N⟧``; N is stable per distinct value within one
:class:`SecretScanner`, so the same secret always gets the same handle. The scanner keeps only
hashes of matched values, never the values.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["Finding", "SecretScanner", "card_number_ok", "luhn_ok"]

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
        "bank_link_token",
        re.compile(r"\b(?:access|public|link|processor)-(?:sandbox|development|production)-[A-Za-z0-9-]{8,}"),
        0,
    ),
    ("google_token", re.compile(r"\bya29\.[A-Za-z0-9_.-]{16,}|(?<![\w/])1//0[A-Za-z0-9_-]{20,}"), 0),
    ("google_client_secret", re.compile(r"\bGOCSPX-[A-Za-z0-9_-]{16,}"), 0),
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
_HEX = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{32,}(?![0-9A-Za-z])")
_B64 = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{40,}={0,2}(?![A-Za-z0-9+/_=-])")
# (first digits, lengths) of card issuers: Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay, Maestro.
_ISSUERS: tuple[tuple[tuple[int, int], frozenset[int]], ...] = (
    ((4, 4), frozenset({13, 16, 19})),
    ((51, 55), frozenset({16})),
    ((2221, 2720), frozenset({16})),
    ((34, 34), frozenset({15})),
    ((37, 37), frozenset({15})),
    ((6011, 6011), frozenset(range(16, 20))),
    ((644, 649), frozenset(range(16, 20))),
    ((65, 65), frozenset(range(16, 20))),
    ((300, 305), frozenset(range(14, 20))),
    ((36, 36), frozenset(range(14, 20))),
    ((38, 39), frozenset(range(16, 20))),
    ((3528, 3589), frozenset(range(16, 20))),
    ((62, 62), frozenset(range(16, 20))),
    ((50, 50), frozenset(range(12, 20))),
    ((56, 58), frozenset(range(12, 20))),
    ((67, 67), frozenset(range(12, 20))),
)
# How card numbers are written when grouped: 4-4-4-4(-1..3), 4-4-4-1..4 (13-15 digits), Amex 4-6-5, Diners 4-6-4.
_CARD_GROUPS = re.compile(r"4,4,4,[1-4]|4,4,4,4,[1-3]|4,6,[45]")


def _scoped(pattern: re.Pattern[str]) -> str:
    """``pattern`` as one alternative of a larger regex: its flags scoped to it, its groups unnumbered."""
    body = pattern.pattern.removeprefix("(?i)")
    return f"(?i:{body})" if body != pattern.pattern or pattern.flags & re.IGNORECASE else f"(?:{body})"


# Every pattern _spans runs, as one alternation: a text it finds nothing in has no span (any match of one
# alternative is a match of the alternation), so _spans can answer such a text in one pass.
_ANY_DETECTOR = "|".join(_scoped(p) for p in (*(d[1] for d in _DETECTORS), _URL, _CARD))


def _issuer_ok(digits: str) -> bool:
    for (low, high), lengths in _ISSUERS:
        width = len(str(low))
        if low <= int(digits[:width]) <= high and len(digits) in lengths:
            return True
    return False


def card_number_ok(text: str) -> bool:
    """``text`` (digits, maybe grouped by spaces or hyphens) is written and numbered like a card."""
    groups = re.split(r"[ -]", text)
    if len(groups) > 1:
        seps = set(re.findall(r"[ -]", text))
        if len(seps) != 1 or not _CARD_GROUPS.fullmatch(",".join(str(len(g)) for g in groups)):
            return False
    digits = "".join(groups)
    return 13 <= len(digits) <= 19 and digits.isdigit() and _issuer_ok(digits) and luhn_ok(digits)


def _entropy(text: str) -> float:
    counts = {c: text.count(c) for c in set(text)}
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _generic_secret(run: str, *, hex_run: bool) -> bool:
    """A long hex run, or a base64 run mixing cases and digits with a key's entropy."""
    if hex_run:
        return any(c.isdigit() for c in run) and any(c.isalpha() for c in run)
    body = run.rstrip("=")
    classes = sum((any(c.islower() for c in body), any(c.isupper() for c in body), any(c.isdigit() for c in body)))
    return len(body) >= 40 and classes == 3 and _entropy(body) >= 4.0


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

    def __init__(self, secrets: Iterable[str] = (), *, extra: Iterable[tuple[str, str]] = ()) -> None:
        """``extra``: (kind, regex) token formats an integration declares, matched like the built-in ones."""
        self._values: set[str] = set()
        self._registered: re.Pattern[str] | None = None
        self._extra = tuple((kind, re.compile(rx), 0) for kind, rx in extra)
        self._detectors = _DETECTORS + self._extra
        self._base = "|".join([_ANY_DETECTOR, *(_scoped(p) for _, p, _ in self._extra)])
        self._any = re.compile(self._base)
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
        self._any = re.compile(f"{alternation}|{self._base}")

    def _handle(self, secret: str) -> int:
        key = hashlib.sha256(secret.encode("utf-8")).hexdigest()
        if key not in self._handles:
            self._handles[key] = len(self._handles) + 1
        return self._handles[key]

    def _spans(self, text: str, *, generic: bool = False) -> list[tuple[int, int, str]]:
        spans: list[tuple[int, int, str]] = []
        if generic:
            for kind, pattern in (("hex_secret", _HEX), ("base64_secret", _B64)):
                runs = pattern.finditer(text)
                spans += [(m.start(), m.end(), kind) for m in runs if _generic_secret(m[0], hex_run=pattern is _HEX)]
        if self._any.search(text) is None:  # the common case: nothing that could be a secret
            return self._merge(spans)
        if self._registered is not None:
            spans += [(m.start(), m.end(), "registered") for m in self._registered.finditer(text)]
        for kind, pattern, group in self._detectors:
            spans += [(m.start(group), m.end(group), kind) for m in pattern.finditer(text)]
        for m in _URL.finditer(text):
            url = m.group(0)
            if _LINK_WORDS.search(url) and _LINK_TOKEN.search(url):
                spans.append((m.start(), m.end(), "secret_link"))
        spans += [(m.start(), m.end(), "card_number") for m in _CARD.finditer(text) if card_number_ok(m[0])]
        return self._merge(spans)

    @staticmethod
    def _merge(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
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

    def redact(self, text: str, *, path: str = "$", generic: bool = False) -> tuple[str, list[Finding]]:
        """Replace every match with ``⟦secret:N⟧``; return the new text and the findings.

        ``generic`` also treats long hex and high-entropy base64 runs as secrets (for error text,
        where no legitimate value of that shape is expected).
        """
        spans = self._spans(text, generic=generic)
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
