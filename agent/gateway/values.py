"""Typed values in text: numbers, dates, times and durations, for provenance through computation.

A value the owner typed keeps the owner's provenance when a call carries it in another form
(``10.0`` for "10.00", ``2025-01-11`` for "January 11th 2025") or computed from it (the end of an
event "for one hour" from its start). Numbers are standalone numbers only: the 13 of "June 13" is a
day of a date and the 15 of "12:15" a time, so a short id in a call never matches them by chance.

:func:`extract` reads the typed values of one (normalised) text; :func:`derives` says whether a
call's scalar can be obtained from a set of them; :func:`derives_amount` also allows one sum,
difference, product or percentage of two numbers (money the owner asked to compute).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

__all__ = ["TypedValues", "derives", "derives_amount", "extract", "is_number"]

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        )
    )
    for m in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ORD = r"(?:st|nd|rd|th)?"
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_MONTH_DAY = re.compile(rf"\b({_MONTH})\.? (\d{{1,2}}){_ORD}\b(?:,? (\d{{4}})\b)?")
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}}){_ORD} (?:of )?({_MONTH})\b(?:,? (\d{{4}})\b)?")
_TIME = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?::\d{2})?(?![\d:])")
_WORD_NUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "an": 1, "a": 1}
_DURATION = re.compile(r"\b(\d+(?:\.\d+)?|one|two|three|four|five|six|seven|eight|an?)[- ](hours?|minutes?|mins?)\b")
# A standalone number: not glued to letters, ids, paths, times or other digits.
_NUMBER = re.compile(r"(?<![\w.:/@#-])[$€£]?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w:/@-]|\.\d)")
_SCALAR_NUMBER = re.compile(r"^[$€£]?-?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?$")
_SCALAR_DATETIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ t](\d{2}):(\d{2})(?::\d{2})?)?$")
_SCALAR_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_DAY_BOUNDS = frozenset({(0, 0), (23, 59)})


@dataclass(frozen=True, slots=True)
class TypedValues:
    numbers: frozenset[Decimal] = frozenset()
    dates: frozenset[tuple[int | None, int, int]] = frozenset()  # (year or None when not given, month, day)
    times: frozenset[tuple[int, int]] = frozenset()
    durations: frozenset[int] = frozenset()  # minutes

    def __or__(self, other: TypedValues) -> TypedValues:
        return TypedValues(
            self.numbers | other.numbers,
            self.dates | other.dates,
            self.times | other.times,
            self.durations | other.durations,
        )


@dataclass
class _Found:
    numbers: set[Decimal] = field(default_factory=set)
    dates: set[tuple[int | None, int, int]] = field(default_factory=set)
    times: set[tuple[int, int]] = field(default_factory=set)
    durations: set[int] = field(default_factory=set)


def _decimal(whole: str, frac: str | None) -> Decimal | None:
    try:
        return Decimal(whole.replace(",", "") + (frac or ""))
    except InvalidOperation:
        return None


def _valid(y: int | None, m: int, d: int) -> bool:
    try:
        date(y or 2000, m, d)
    except ValueError:
        return False
    return True


def extract(text: str) -> TypedValues:
    """The typed values of a normalised (case-folded) text. Dates, times and durations are read
    first and blanked, so their digits are never also read as standalone numbers."""
    f = _Found()
    spans: list[tuple[int, int]] = []
    for m in _ISO_DATE.finditer(text):
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
        if _valid(y, mo, d):
            f.dates.add((y, mo, d))
        spans.append(m.span())
    for m in _MONTH_DAY.finditer(text):
        mo, d, yr = _MONTHS[m[1]], int(m[2]), int(m[3]) if m[3] else None
        if _valid(yr, mo, d):
            f.dates.add((yr, mo, d))
            spans.append(m.span())
    for m in _DAY_MONTH.finditer(text):
        d, mo, yr = int(m[1]), _MONTHS[m[2]], int(m[3]) if m[3] else None
        if _valid(yr, mo, d):
            f.dates.add((yr, mo, d))
            spans.append(m.span())
    for m in _TIME.finditer(text):
        h, mi = int(m[1]), int(m[2])
        if h < 24 and mi < 60:
            f.times.add((h, mi))
        spans.append(m.span())
    for m in _DURATION.finditer(text):
        n = _WORD_NUM.get(m[1])
        amount = float(n if n is not None else m[1])
        f.durations.add(int(amount * (60 if m[2].startswith("hour") else 1)))
        spans.append((m.start(1), m.end(1)))
    blanked = list(text)
    for a, b in spans:
        blanked[a:b] = " " * (b - a)
    for m in _NUMBER.finditer("".join(blanked)):
        num = _decimal(m[1], m[2])
        if num is not None:
            f.numbers.add(num)
    return TypedValues(frozenset(f.numbers), frozenset(f.dates), frozenset(f.times), frozenset(f.durations))


def is_number(value: str) -> bool:
    return _SCALAR_NUMBER.match(value) is not None


def _number(value: str) -> Decimal | None:
    m = _SCALAR_NUMBER.match(value)
    if m is None:
        return None
    n = _decimal(m[1], m[2])
    return -n if n is not None and value.lstrip("$€£").startswith("-") else n


def _times(tv: TypedValues) -> set[tuple[int, int]]:
    """Times the values give: typed ones, each plus a typed duration, and a whole day's bounds."""
    out = set(tv.times) | set(_DAY_BOUNDS)
    for h, m in tv.times:
        for d in tv.durations:
            total = h * 60 + m + d
            out.add((total // 60 % 24, total % 60))
    return out


def derives(value: str, tv: TypedValues) -> bool | None:
    """Whether a call's scalar (normalised) follows from the typed values; None when it is not a
    number, date, date-time or time (then only a verbatim match can say where it came from)."""
    n = _number(value)
    if n is not None:
        return n in tv.numbers
    m = _SCALAR_DATETIME.match(value)
    if m is not None:
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
        day_ok = (y, mo, d) in tv.dates or (None, mo, d) in tv.dates
        if m[4] is None:
            return day_ok
        return day_ok and (int(m[4]), int(m[5])) in _times(tv)
    t = _SCALAR_TIME.match(value)
    if t is not None:
        return (int(t[1]), int(t[2])) in _times(tv)
    return None


def derives_amount(value: str, tv: TypedValues, typed: TypedValues | None = None) -> bool:
    """A money value: typed, or one sum, difference, product or percentage of two numbers ``tv``
    holds; or, given the numbers the owner ``typed``, such a step with a typed number then one more
    typed number added or taken away (an added 19.5% of what was paid, plus a fee of 5.29)."""
    n = _number(value)
    if n is None:
        return False
    if n in tv.numbers:
        return True
    nums = sorted(tv.numbers)
    cent = Decimal("0.01")
    for i, a in enumerate(nums):
        for b in nums[i:]:
            if any(abs(c - n) < cent for c in _steps(a, b)):
                return True
    owner = sorted(typed.numbers) if typed is not None else []
    for a in nums:
        for b in owner:
            for first in (*_steps(a, b), *_steps(b, a)):
                if any(abs(first + c - n) < cent or abs(first - c - n) < cent for c in owner):
                    return True
    return False


def _steps(a: Decimal, b: Decimal) -> tuple[Decimal, ...]:
    return (a + b, abs(a - b), a * b, a * b / 100, a * (100 + b) / 100, b * (100 + a) / 100)
