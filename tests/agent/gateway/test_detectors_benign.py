"""Every detector against values an assistant handles all day: none of them is a secret."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest

from agent.gateway.context import atoms
from agent.gateway.policy import Eval, ToolCall, r3_secrets
from agent.gateway.redact import SecretScanner, card_number_ok, luhn_ok
from tests.agent.gateway._fixtures import make_ctx

BENIGN = [
    # dates and times
    "2026-11-03",
    "2026-12-02",
    "2026-11-03T09:30:00Z",
    "03/11/2026",
    "Nov 3, 2026",
    "20261103",
    # amounts
    "1234.56",
    "$12,345.67",
    "-89.10",
    "0.00",
    "1000000",
    "USD 4,500.00",
    # ids
    "lPNjeW1nR6CDn5okmGQ6hEpMo4lLNoSrzqDje",  # a Plaid transaction id
    "BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp",  # a Plaid account id
    "18c2f1a9b3d4e5f6",  # a Gmail message id
    "3f2504e0-4f89-41d3-9a0c-0305e82c3301",  # a UUID
    "ORD-2026-000123",
    "INV 40012 55231",
    "978-0-13-468599-1",  # an ISBN
    # phone numbers
    "+15551234567",
    "+1 555 123 4567",
    "(555) 123-4567",
    "+44 20 7946 0958",
    "+49 30 901820",
    # tracking numbers
    "1Z999AA10123456784",  # UPS
    "123456789012",  # FedEx 12 digits
    "612345678901234",  # FedEx 15 digits
    "9400111899223100000000",  # USPS 22 digits
    "9205 5000 0000 0000 0000 00",
    "420941039400111899223100000000",
    # words near numbers
    "Meeting room 4012, floor 3",
    "Flight LH 400 departs 2026-11-03 at 10:15",
]


@pytest.mark.parametrize("value", BENIGN)
def test_no_detector_fires_on_a_benign_value(value: str) -> None:
    assert SecretScanner().scan(value) == []
    assert SecretScanner().scan({"a": value, "b": value}) == []


def _iso_days(start: date, n: int) -> list[str]:
    return [(start + timedelta(days=i)).isoformat() for i in range(n)]


def test_no_pair_of_dates_in_two_years_is_a_card_number() -> None:
    days = _iso_days(date(2025, 1, 1), 730)
    # every date against the next 120 days: the spending_by_category ranges, joined as R3 joins them
    joined = [a + b for i, a in enumerate(days) for b in days[i + 1 : i + 121]]
    assert len(joined) > 80_000
    assert not [j for j in joined if card_number_ok(j)]
    assert not [j for j in joined[:5000] if SecretScanner().scan(j)]


def test_the_known_date_pair_passes_r3() -> None:
    # "2026-11-03" + "2026-12-02": the joined digits pass the Luhn check, yet they are not a card
    assert luhn_ok("".join(atoms(["2026-11-03", "2026-12-02"])).replace("-", ""))
    call = ToolCall("c1", "plaid.spending_by_category", {"start": "2026-11-03", "end": "2026-12-02"})
    ev = Eval(call, make_ctx(), strict=False)
    assert r3_secrets(ev) is None
    card = ToolCall("c2", "plaid.spending_by_category", {"start": "4111 1111", "end": "1111 1111"})
    hit = r3_secrets(Eval(card, make_ctx(), strict=False))
    assert hit is not None and "card_number" in hit.reason  # a card split over two arguments is still found


def test_amount_pairs_and_phone_pairs_are_not_cards() -> None:
    amounts = [f"{x / 100:.2f}" for x in range(10_000, 2_000_000, 7919)]
    phones = [f"+1555{n:07d}" for n in range(0, 10_000_000, 98_317)]
    for a, b in pairwise(amounts + phones):
        assert SecretScanner().scan(a + b) == [], a + b


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("card_number", "4111 1111 1111 1111"),
        ("card_number", "4111111111111111"),
        ("card_number", "3782 822463 10005"),  # Amex 4-6-5
        ("card_number", "5555-5555-5555-4444"),
        ("card_number", "6011111111111117"),
        ("bank_link_token", "access-sandbox-8ab976e6-64bc-4b38-98f7-731e7a349970"),
        ("bank_link_token", "public-production-8ab976e6-64bc-4b38-98f7-731e7a349970"),
        ("bank_link_token", "link-development-8ab976e6-64bc-4b38-98f7-731e7a349970"),
        ("google_token", "ya29.a0AfH6SMBx3kq9Zt1Uv2Wx3Yz4Ab5Cd6Ef7Gh8"),
        ("google_token", "1//0gLq2Zk9sXwYtUvAbCdEfGhIjKlMnOp"),
        ("google_client_secret", "GOCSPX-AbCdEfGhIjKlMnOpQrStUvWx"),
    ],
)
def test_real_secrets_still_fire(kind: str, value: str) -> None:
    findings = SecretScanner().scan(f"error: {value} was rejected")
    assert [f.kind for f in findings] == [kind]


def test_generic_runs_count_only_in_error_text() -> None:
    hex_secret = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    b64_secret = "Zm9vYmFyQmF6UXV4MTIzNDU2Nzg5MEFCQ0RFRkdISUpLTE1O"
    text = f"invalid client secret {hex_secret}; key {b64_secret}"
    out, findings = SecretScanner().redact(text, generic=True)
    assert {f.kind for f in findings} == {"hex_secret", "base64_secret"}
    assert hex_secret not in out and b64_secret not in out
    assert SecretScanner().scan(text) == []  # not in ordinary content
    for value in BENIGN:
        assert SecretScanner().redact(value, generic=True)[1] == [], value


def test_an_integration_declares_its_own_token_format() -> None:
    scanner = SecretScanner(extra=[("acme_token", r"\bacme_live_[A-Za-z0-9]{12,}")])
    out, findings = scanner.redact("token acme_live_AbCdEf123456789 expired")
    assert [f.kind for f in findings] == ["acme_token"]
    assert "acme_live_" not in out
