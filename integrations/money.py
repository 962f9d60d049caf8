"""The owner's net worth across every money integration, from one snapshot a day.

A money integration declares ``net_worth: {tool, part}`` in its manifest: a READ tool taking
``start_date`` and ``end_date`` and answering ``{"connected": bool, "currency": "USD", "days": [...]}``,
each day ``{"date", "assets", "liabilities", "accounts": [{"account", "kind", "value"}]}`` (decimal
strings; an account named only by its last four digits; a day it knows nothing of is left out), and
the owner's words for its part ("Banks and cards"). An integration that is not connected answers
``connected: false`` and is no part of the owner's money.

The core never names a source: it asks every declaring integration for a range of days and sums the
parts into one :class:`Snapshot` per day, which the console, the briefing and the digest all read.
A source that cannot be read, or that has no figure for a day, is *missing* from that day: the day's
total is then unknown (``None``), never the sum of the others, which would look like a loss.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.manifest import View
from integrations.views import Chart, Item, Render, ViewData

CENT = Decimal("0.01")
WINDOW_DAYS = 90  # the days the chart shows, today included
VIEW_ID = "net_worth"


class SourceFailed(Exception):
    """A source's call failed (its reason, for the line that says so)."""


# (tool, arguments) -> its result; raises SourceFailed when the call fails.
Call = Callable[[str, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Source:
    integration: str
    title: str  # the integration's title, as the owner knows it
    part: str  # the owner's words for its part ("Banks and cards")
    tool: str


@dataclass(frozen=True)
class Account:
    name: str  # masked by the integration: "Checking ••••0000"
    kind: str  # asset | liability
    value: Decimal


@dataclass(frozen=True)
class Part:
    integration: str
    part: str
    assets: Decimal
    liabilities: Decimal
    accounts: tuple[Account, ...] = ()

    @property
    def net(self) -> Decimal:
        return self.assets - self.liabilities


@dataclass(frozen=True)
class Missing:
    integration: str
    part: str
    reason: str
    failed: bool  # True: it could not be read (asked again next time); False: it had no figure that day


@dataclass(frozen=True)
class Snapshot:
    day: date
    parts: tuple[Part, ...]
    missing: tuple[Missing, ...] = ()
    currency: str = "USD"

    @property
    def total(self) -> Decimal | None:
        """Assets less liabilities across every part; unknown when a part is missing."""
        if self.missing or not self.parts:
            return None
        return sum((p.net for p in self.parts), Decimal(0))

    @property
    def failures(self) -> int:
        return sum(m.failed for m in self.missing)

    def part(self, integration: str) -> Part | None:
        return next((p for p in self.parts if p.integration == integration), None)

    def to_json(self) -> str:
        return json.dumps(
            {
                "day": self.day.isoformat(),
                "currency": self.currency,
                "parts": [
                    {
                        "integration": p.integration,
                        "part": p.part,
                        "assets": str(p.assets),
                        "liabilities": str(p.liabilities),
                        "accounts": [[a.name, a.kind, str(a.value)] for a in p.accounts],
                    }
                    for p in self.parts
                ],
                "missing": [[m.integration, m.part, m.reason, m.failed] for m in self.missing],
            },
            separators=(",", ":"),
            sort_keys=True,
        )

    @staticmethod
    def from_json(text: str) -> Snapshot:
        d = json.loads(text)
        parts = tuple(
            Part(
                p["integration"],
                p["part"],
                Decimal(p["assets"]),
                Decimal(p["liabilities"]),
                tuple(Account(n, k, Decimal(v)) for n, k, v in p["accounts"]),
            )
            for p in d["parts"]
        )
        missing = tuple(Missing(i, part, reason, bool(failed)) for i, part, reason, failed in d["missing"])
        return Snapshot(date.fromisoformat(d["day"]), parts, missing, d["currency"])


def _money(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("an amount is not a number")
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise ValueError("an amount is not a number") from None
    if not out.is_finite():
        raise ValueError("an amount is not a number")
    return out.quantize(CENT)


def parse(source: Source, result: Any) -> tuple[dict[date, Part], str] | None:
    """A contribution as parts by day, and its currency; ``None`` when the source is not connected.
    Raises ValueError when the result does not have the contract's shape."""
    if not isinstance(result, Mapping):
        raise ValueError("the result is not an object")
    if result.get("connected") is False:
        return None
    days = result.get("days")
    if not isinstance(days, list):
        raise ValueError("the result has no list of days")
    out: dict[date, Part] = {}
    for d in days:
        if not isinstance(d, Mapping):
            raise ValueError("a day is not an object")
        raw = d.get("accounts") or []
        accounts = tuple(
            Account(str(a.get("account", ""))[:80], "liability" if a.get("kind") == "liability" else "asset",
                    _money(a.get("value")))
            for a in (raw if isinstance(raw, list) else [])
            if isinstance(a, Mapping)
        )  # fmt: skip
        out[date.fromisoformat(str(d.get("date")))] = Part(
            source.integration, source.part, _money(d.get("assets")), _money(d.get("liabilities", 0)), accounts
        )
    return out, str(result.get("currency") or "USD")[:8]


async def collect(sources: Sequence[Source], call: Call, start: date, end: date) -> dict[date, Snapshot]:
    """Every source asked once for ``start..end``; one snapshot per day that has a part or a failure."""
    known: dict[str, dict[date, Part]] = {}
    failed: dict[str, str] = {}
    currency = "USD"
    for s in sources:
        try:
            parsed = parse(s, await call(s.tool, {"start_date": start.isoformat(), "end_date": end.isoformat()}))
        except SourceFailed as exc:
            failed[s.integration] = " ".join(str(exc).split())[:200] or "unavailable"
            continue
        except ValueError as exc:
            failed[s.integration] = f"answered in an unexpected shape ({exc})"
            continue
        if parsed is not None:
            currency = currency if known else parsed[1]  # the first source's
            known[s.integration] = parsed[0]
    out: dict[date, Snapshot] = {}
    day = start
    while day <= end:
        parts = tuple(known[s.integration][day] for s in sources if day in known.get(s.integration, {}))
        missing = tuple(
            Missing(s.integration, s.part, f"unavailable ({failed[s.integration]})", True)
            if s.integration in failed
            else Missing(s.integration, s.part, "no figure for this day", False)
            for s in sources
            if s.integration in failed or (s.integration in known and day not in known[s.integration])
        )
        if parts or any(m.failed for m in missing):
            out[day] = Snapshot(day, parts, missing, currency)
        day += timedelta(days=1)
    return out


# --- what the console, the briefing and the digest show --------------------------------------


def amount(value: Decimal, *, signed: bool = False) -> str:
    return f"{value.quantize(CENT):{'+' if signed else ''},}"


def change(by_day: Mapping[date, Snapshot], day: date, days: int) -> Decimal | None:
    """The total's change since ``days`` days before ``day``; unknown when either total is."""
    now, then = by_day.get(day), by_day.get(day - timedelta(days=days))
    if now is None or then is None or now.total is None or then.total is None:
        return None
    return now.total - then.total


def view_data(
    snapshots: Sequence[Snapshot], sources: Sequence[Source], *, accounts: bool = False, chart: bool = True
) -> ViewData:
    """Figures (the latest total, its change since the day before and the week before), one item per
    part (and per account with ``accounts``), a line saying why a part is missing, and the chart of
    the total and each part over the days, one line each."""
    if not snapshots:
        return ViewData(empty=EMPTY)
    by_day = {s.day: s for s in snapshots}
    last = max(snapshots, key=lambda s: s.day)
    unit = last.currency
    figures: dict[str, str] = {}
    total = last.total
    figures[f"Net worth ({unit})"] = amount(total) if total is not None else "not known: a part is missing"
    for label, back in (("Since yesterday", 1), ("Since a week ago", 7)):
        delta = change(by_day, last.day, back)
        figures[label] = amount(delta, signed=True) if delta is not None else "not known"
    items: list[Item] = [Item(m.part, m.reason) for m in last.missing]
    for p in last.parts:
        detail = f"held {amount(p.assets)} · owed {amount(p.liabilities)}" if p.liabilities else ""
        items.append(Item(p.part, detail, amount=f"{amount(p.net)} {unit}"))
        if accounts:
            items += [
                Item(a.name, p.part + (" · owed" if a.kind == "liability" else ""), amount=f"{amount(a.value)} {unit}")
                for a in p.accounts
            ]
    shown = None
    if chart:
        days = sorted(by_day)
        named = [s for s in sources if any(x.part(s.integration) for x in snapshots)]
        series = [("Net worth", tuple(_float(by_day[d].total) for d in days))]
        series += [
            (s.part, tuple(_float(q.net if (q := by_day[d].part(s.integration)) else None) for d in days))
            for s in named
        ]
        shown = Chart("line", tuple(d.isoformat() for d in days), (), unit, tuple(series))
    return ViewData(tuple(items), figures, shown, EMPTY)


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


EMPTY = "No figures yet: connect a bank or a brokerage."


def _view(title: str, order: int) -> View:
    return View(id=VIEW_ID, title=title, tool="net_worth", render=Render(list="days", empty=EMPTY), order=order)


PANEL = _view("Net worth", 29)
MONEY = _view("Net worth over time", 5)
BRIEFING = _view("Net worth", 29)
DIGEST = _view("Net worth this week", 29)


def lines(snapshots: Sequence[Snapshot], sources: Sequence[Source]) -> tuple[list[str], dict[str, str]]:
    """The briefing's and the digest's lines and figures: the same as the console's, without the chart."""
    data = view_data(snapshots, sources, chart=False)
    return data.lines() or [data.empty], dict(data.figures)
