"""The owner's net worth across the money integrations: whatever installed integrations declare
(``net_worth`` in their manifests) is summed into one encrypted snapshot a day, filled in from each
one's own history; the console's panel, the briefing and the digest read the same snapshot. Two
made-up integrations stand in for a bank and a brokerage (the core never names a real one)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest
from sqlalchemy import func, select

from agent.job_wiring import GatewayCalls, HostIntegrations, ViewSections
from agent.jobs import IntegrationCheck, JobError, JobSkipped
from agent.jobs.networth import NetWorthBook, NetWorthStore, net_worth_handler
from integrations import Catalog, Manifest, money
from integrations.money import SourceFailed
from storage.crypto.errors import DecryptionFailed
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import DataKey, Keyring
from storage.db import Database
from storage.models.money import NetWorthSnapshotRow
from web.data import ConsoleData, ToolAccess, ToolResult
from web.panels import load_panel

pytestmark = pytest.mark.anyio
DAY = date(2026, 12, 3)
BANK_DAYS, BROKER_DAYS = 120, 10  # the bank's history reaches past the window; the broker's is short


def _manifest(name: str, part: str, tool_class: str = "READ") -> Manifest:
    return Manifest.model_validate(
        {
            "name": name,
            "title": f"{name.title()} (test)",
            "summary": "A made-up money integration.",
            "category": "finance",
            "identity": {"scopes": ("datakeys.read",), "data_domain": "finance"},
            "tools": {
                f"{name}.worth": {"scope": "finance.read", "entry": {"class": tool_class, "description": "W."}},
                f"{name}.status": {"scope": "finance.read", "entry": {"class": "READ", "description": "S."}},
            },
            "connect": {"kind": "none", "probe": f"{name}.status"},
            "net_worth": {"tool": f"{name}.worth", "part": part},
        }
    )


CATALOG = Catalog([_manifest("bank", "Banks and cards"), _manifest("broker", "Brokerage")])


def bank_day(d: date) -> dict[str, Any]:
    held = Decimal(3000) + (d - DAY).days  # a dollar less each day back
    accounts = [
        {"account": "Checking ••••0000", "kind": "asset", "value": str(held)},
        {"account": "Card ••••3333", "kind": "liability", "value": "410.25"},
    ]
    return {"date": d.isoformat(), "assets": str(held), "liabilities": "410.25", "accounts": accounts}


def broker_day(d: date) -> dict[str, Any]:
    return {"date": d.isoformat(), "assets": "52000.50", "liabilities": "0", "accounts": []}


@dataclass
class Money:
    """The integrations' tools: each answers its days within its history."""

    failing: set[str] = field(default_factory=set)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def answer(self, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((tool, args))
        if tool in self.failing:
            raise SourceFailed(f"{tool} failed: the server is down")
        start, end = date.fromisoformat(args["start_date"]), date.fromisoformat(args["end_date"])
        history, one = (BANK_DAYS, bank_day) if tool == "bank.worth" else (BROKER_DAYS, broker_day)
        first = max(start, DAY - timedelta(days=history - 1))
        days = [one(first + timedelta(days=n)) for n in range((end - first).days + 1)]
        return {"connected": True, "currency": "USD", "days": days}

    async def call(self, tool: str, args: dict[str, Any]) -> Any:
        return self.answer(tool, args)


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher(Keyring([DataKey(f"conversation.{p}.v1", os.urandom(32), "active") for p in ("enc", "idx")]))


@pytest.fixture
def book(db: Database, cipher: FieldCipher) -> NetWorthBook:
    return NetWorthBook(NetWorthStore(db, cipher), CATALOG.net_worth_sources())


async def _rows(db: Database) -> list[NetWorthSnapshotRow]:
    async with db.transaction() as s:
        return list((await s.scalars(select(NetWorthSnapshotRow).order_by(NetWorthSnapshotRow.day))).all())


def test_the_catalog_sums_whatever_installed_integrations_declare() -> None:
    assert [(s.integration, s.part, s.tool) for s in CATALOG.net_worth_sources()] == [
        ("bank", "Banks and cards", "bank.worth"),
        ("broker", "Brokerage", "broker.worth"),
    ]
    for views in (CATALOG.panels(), CATALOG.money(), CATALOG.briefing(), CATALOG.digest()):
        (placed,) = views
        assert placed.integration == "" and placed.view.id == money.VIEW_ID
        assert placed.merged is not None
        assert placed.merged.sources == (("bank", "bank.worth"), ("broker", "broker.worth"))
    assert Catalog([]).money() == [] and Catalog([]).net_worth_sources() == []
    with pytest.raises(ValueError, match="the net worth tool must be a READ tool"):
        _manifest("spender", "Cards", tool_class="SIDE_EFFECT")


async def test_the_day_sums_both_parts_and_the_window_is_filled_from_their_history(book: NetWorthBook) -> None:
    tools = Money()
    snapshots = await book.ensure(DAY, tools.call)
    assert len(snapshots) == money.WINDOW_DAYS and snapshots[-1].day == DAY
    today = snapshots[-1]
    assert today.total == Decimal("3000") - Decimal("410.25") + Decimal("52000.50")
    nets = [(p.integration, p.net) for p in today.parts]
    assert nets == [("bank", Decimal("2589.75")), ("broker", Decimal("52000.50"))]
    assert today.part("bank").accounts[1].name == "Card ••••3333"  # type: ignore[union-attr]
    # Each source was asked once for the whole window, not once per day.
    assert sorted(t for t, _ in tools.calls) == ["bank.worth", "broker.worth"]
    assert {a["start_date"] for _, a in tools.calls} == {(DAY - timedelta(days=89)).isoformat()}
    # Before the broker's history the bank's part is there but the day has no total (not a drop).
    early = snapshots[0]
    assert early.part("bank") is not None and early.part("broker") is None and early.total is None
    assert [m.reason for m in early.missing] == ["no figure for this day"]
    assert sum(s.total is not None for s in snapshots) == BROKER_DAYS


async def test_one_snapshot_a_day_however_often_it_is_recorded(db: Database, book: NetWorthBook) -> None:
    tools = Money()
    first = await book.ensure(DAY, tools.call)
    asked = len(tools.calls)
    again = await book.ensure(DAY, tools.call)  # the day is known: nothing is asked
    assert len(tools.calls) == asked and [s.to_json() for s in again] == [s.to_json() for s in first]
    await book.record(DAY, tools.call)
    await book.record(DAY, tools.call)
    async with db.transaction() as s:
        q = select(NetWorthSnapshotRow.day, func.count()).group_by(NetWorthSnapshotRow.day)
        per_day = (await s.execute(q)).all()
    assert len(per_day) == money.WINDOW_DAYS and {n for _, n in per_day} == {1}
    # The job's run history gets counts, never an amount.
    job = net_worth_handler(book, tools.call)
    ctx = cast(Any, type("Ctx", (), {"scheduled_for": datetime(2026, 12, 3, 23, 55, tzinfo=UTC), "timezone": UTC}))
    summary = await job(ctx)
    assert summary == {"day": "2026-12-03", "written": 1, "parts": 2, "missing": 0}
    with pytest.raises(JobSkipped):
        await net_worth_handler(NetWorthBook(book.store, []), tools.call)(ctx)


async def test_snapshots_are_encrypted_at_rest(db: Database, book: NetWorthBook, cipher: FieldCipher) -> None:
    await book.ensure(DAY, Money().call)
    rows = await _rows(db)
    raw = rows[-1].content
    assert rows[-1].day == "2026-12-03"
    for plain in (b"2589.75", b"52000.50", b"Checking", b"0000", b"Banks and cards", b"bank"):
        assert plain not in raw
    # Bound to its day: the same ciphertext under another day's row does not open.
    other = NetWorthStore(db, cipher)
    async with db.transaction() as s:
        (await s.get(NetWorthSnapshotRow, "2026-12-02")).content = raw  # type: ignore[union-attr]
    with pytest.raises(DecryptionFailed):
        await other.between(DAY - timedelta(days=1), DAY - timedelta(days=1))


async def test_a_failing_integration_is_missing_never_a_smaller_total(db: Database, book: NetWorthBook) -> None:
    tools = Money(failing={"broker.worth"})
    snapshots = await book.ensure(DAY, tools.call)
    today = snapshots[-1]
    assert today.day == DAY and today.total is None and today.part("bank") is not None
    assert [(m.part, m.failed) for m in today.missing] == [("Brokerage", True)]
    assert len(snapshots) == 1  # past days a source failed for are not written: asked again next time
    data = money.view_data(snapshots, book.sources)
    assert data.figures["Net worth (USD)"] == "not known: a part is missing"
    assert "2,589.75" not in data.figures.values()
    assert data.items[0].title == "Brokerage" and "unavailable (broker.worth failed" in data.items[0].detail
    # The next recording, with the broker back, heals today and fills the past.
    healed = await book.record(DAY, Money().call)
    assert healed.today is not None and healed.today.total == Decimal("54590.25")
    assert len(await _rows(db)) == money.WINDOW_DAYS
    # A later failure does not replace the complete figures of the day.
    await book.record(DAY, tools.call)
    assert (await book.store.between(DAY, DAY))[0].total == Decimal("54590.25")


@dataclass
class GatewayFake:
    """The job's gateway calls (agent.job_wiring.GatewayCalls.call) over the same tools."""

    catalog: Catalog
    money: Money
    sessions: list[str] = field(default_factory=list)

    async def call(self, tool: str, args: dict[str, Any], *, session: str) -> Any:
        self.sessions.append(session)
        try:
            return self.money.answer(tool, args)
        except SourceFailed as exc:
            raise JobError(str(exc)) from None


@dataclass
class ConsoleTools:
    """The console's reads (web.data.ToolAccess.read) over the same tools."""

    money: Money

    async def read(self, tool: str, args: dict[str, Any] | None = None) -> ToolResult:
        try:
            return ToolResult(True, self.money.answer(tool, dict(args or {})))
        except SourceFailed as exc:
            return ToolResult(False, error=str(exc))


class Up:
    async def check(self, name: str) -> IntegrationCheck:
        return IntegrationCheck(True)


@pytest.mark.parametrize("failing", [set(), {"broker.worth"}])
async def test_the_briefing_the_digest_and_the_page_give_the_same_figures(
    book: NetWorthBook, failing: set[str]
) -> None:
    tools = Money(failing=failing)
    calls = GatewayFake(CATALOG, tools)
    sections = ViewSections(cast(GatewayCalls, calls), cast(HostIntegrations, Up()), worth=book)
    (briefing,) = await sections.sections("daily", DAY, DAY)
    (digest,) = await sections.sections("weekly", DAY - timedelta(days=6), DAY)
    assert set(calls.sessions) == {"job:daily_briefing"}  # the digest read the stored day: nothing asked
    noon = datetime(2026, 12, 3, 12, tzinfo=UTC).timestamp()
    data = ConsoleData(catalog=CATALOG, tools=cast(ToolAccess, ConsoleTools(tools)), net_worth=book, clock=lambda: noon)
    page = await load_panel(data, CATALOG.money()[0])
    home = await load_panel(data, CATALOG.panels()[0])
    assert briefing.status == digest.status == page.state == home.state == "ok"
    assert dict(page.figures) == dict(home.figures) == briefing.facts == digest.facts
    worth = briefing.facts["Net worth (USD)"]
    if failing:
        assert worth.startswith("not known") and any("Brokerage: unavailable" in line for line in briefing.lines)
    else:
        assert worth == "54,590.25" and briefing.facts["Since yesterday"] == "+1.00"
        assert briefing.facts["Since a week ago"] == "+7.00" and digest.title == "Net worth this week"
        assert "Brokerage (52,000.50 USD)" in briefing.lines
    # The page draws the total and each part over the window; the money page lists the accounts too.
    chart = page.chart
    assert chart is not None and chart["kind"] == "line" and len(chart["labels"]) == (1 if failing else book.window)
    parts = ["Banks and cards"] if failing else ["Banks and cards", "Brokerage"]  # a missing part draws no line
    assert [name for name, _ in chart["lines"]] == ["Net worth", *parts]
    assert any(i.title == "Checking ••••0000" for i in page.data.items)  # type: ignore[union-attr]
    assert not any(i.title == "Checking ••••0000" for i in home.data.items)  # type: ignore[union-attr]


async def test_without_a_book_or_tools_the_panel_is_not_connected(book: NetWorthBook) -> None:
    assert (await load_panel(ConsoleData(catalog=CATALOG), CATALOG.panels()[0])).state == "not_connected"
    sections = ViewSections(cast(GatewayCalls, GatewayFake(CATALOG, Money())), cast(HostIntegrations, Up()))
    assert [s.status for s in await sections.sections("daily", DAY, DAY)] == ["unavailable"]


async def test_the_page_takes_the_day_on_the_owners_clock_like_the_briefing(book: NetWorthBook) -> None:
    from zoneinfo import ZoneInfo

    tools = Money()
    late_utc = datetime(2026, 12, 2, 22, tzinfo=UTC).timestamp()  # already 3 December, 07:00, in Tokyo
    data = ConsoleData(
        catalog=CATALOG,
        tools=cast(ToolAccess, ConsoleTools(tools)),
        net_worth=book,
        clock=lambda: late_utc,
        timezone=ZoneInfo("Asia/Tokyo"),
    )
    page = await load_panel(data, CATALOG.panels()[0])
    assert page.chart is not None and page.chart["labels"][-1] == DAY.isoformat()
    assert {a["end_date"] for _, a in tools.calls} == {DAY.isoformat()}
