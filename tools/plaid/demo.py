"""A stateful in-memory Plaid sandbox for the demo profile and for tests of ``mcp_servers``.

``demo_transport()`` returns an ``httpx.MockTransport`` answering the endpoints
:class:`~tools.plaid.client.PlaidClient` calls on ``https://sandbox.plaid.com``, with bodies shaped
like Plaid's (2020-09-14) including its error bodies. The Item has two accounts and 60 transactions
over two months; ``/transactions/sync`` pages them (``page_size`` caps each page, so a first sync takes
several pages). Knobs for tests: :meth:`DemoPlaid.post_pending` (pending rows post: ``removed`` +
``added``), :meth:`DemoPlaid.mutate_during_next_pagination`, :meth:`DemoPlaid.require_login`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import httpx

from tools.plaid.demo_data import ledger

DEMO_CLIENT_ID: Final = "5f9c0d2e8a1b4c0012ab34cd"
DEMO_SECRET: Final = "demo0sandbox0secret0not0real0000"  # noqa: S105 - public demo value
DEMO_ACCESS_TOKEN: Final = "access-sandbox-8ab976e6-64bc-4b38-98f7-731e7a349970"  # noqa: S105 - public demo value
DEMO_NOW: Final = datetime(2026, 11, 14, 12, 0, tzinfo=UTC)
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ACCOUNT = {"checking": ledger.CHECKING, "credit": ledger.CREDIT}


def demo_credentials() -> dict[str, str]:
    """What a ``StaticCredentials`` needs for :class:`PlaidClient` against the demo sandbox."""
    return {"plaid-client-id": DEMO_CLIENT_ID, "plaid-secret": DEMO_SECRET}


def _plaid_id(seed: str) -> str:
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    chars = []
    for _ in range(37):
        number, rest = divmod(number, 62)
        chars.append(_ALPHABET[rest])
    return "".join(chars)


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def build_transaction(
    index: int, row: tuple[str, str, str, str, bool], shift: timedelta = timedelta(0), tag: str = "txn"
) -> dict[str, Any]:
    """One ledger row as Plaid's ``Transaction`` object, its date moved by ``shift`` (its id is not:
    the same purchase keeps its id whatever day the demo runs on)."""
    ledger_day, account, name, amount, pending = row
    day = (date.fromisoformat(ledger_day) + shift).isoformat()
    merchant, website, channel, primary, detailed = ledger.MERCHANTS[name]
    in_store = channel == "in store"
    location = dict.fromkeys(("address", "city", "region", "postal_code", "country", "lat", "lon", "store_number"))
    if in_store:
        location |= {"city": "New York", "region": "NY", "country": "US"}
    entity = _plaid_id(f"entity:{merchant}")[:22] if merchant else None
    counterparties = (
        [
            {
                "name": merchant,
                "type": "merchant",
                "entity_id": entity,
                "logo_url": None,
                "website": website,
                "confidence_level": "VERY_HIGH",
            }
        ]
        if merchant
        else []
    )
    return {
        "account_id": _ACCOUNT[account],
        "account_owner": None,
        "amount": float(amount),
        "authorized_date": (date.fromisoformat(day) - timedelta(days=1 if account == "credit" else 0)).isoformat(),
        "authorized_datetime": None,
        "category": None,
        "category_id": None,
        "check_number": None,
        "counterparties": counterparties,
        "date": day,
        "datetime": None,
        "iso_currency_code": "USD",
        "location": location,
        "logo_url": None,
        "merchant_entity_id": entity,
        "merchant_name": merchant,
        "name": name,
        "payment_channel": channel,
        "payment_meta": dict.fromkeys(
            (
                "by_order_of",
                "payee",
                "payer",
                "payment_method",
                "payment_processor",
                "ppd_id",
                "reason",
                "reference_number",
            )
        ),
        "pending": pending,
        "pending_transaction_id": None,
        "personal_finance_category": {"primary": primary, "detailed": detailed, "confidence_level": "VERY_HIGH"},
        "personal_finance_category_icon_url": f"https://plaid-category-icons.plaid.com/PFC_{primary}.png",
        "transaction_code": None,
        "transaction_id": _plaid_id(f"{tag}:{index}:{ledger_day}:{name}:{amount}"),
        "transaction_type": "place" if in_store else "digital" if channel == "online" else "special",
        "unofficial_currency_code": None,
        "website": website,
    }


class DemoPlaid:
    """One sandbox Item's state. ``calls`` records every path requested, for assertions."""

    def __init__(self, *, page_size: int = 25, now: datetime = DEMO_NOW, today: date | None = None) -> None:
        """``today``: the demo profile's real date. The ledger moves so its newest day is yesterday
        and today, and it reaches 90 days back (the recurring payments of its first month, once more,
        a month earlier). A sync cursor from an earlier day gets every transaction again as modified
        (their dates moved), so a store synced yesterday looks alive today."""
        self.page_size = page_size
        days = 0 if today is None else (today - ledger.ANCHOR_DAY).days
        self.shift_days = days
        shift = timedelta(days=days)
        self.now = now + shift
        self.calls: list[str] = []
        self.transactions: dict[str, dict[str, Any]] = {}
        self.events: list[tuple[str, dict[str, Any]]] = []
        rows = [(i, row, "txn") for i, row in enumerate(ledger.ROWS)]
        if today is not None:
            rows = [(i, row, "early") for i, row in enumerate(ledger.earlier_month())] + rows
        for i, row, tag in rows:
            tx = build_transaction(i, row, shift, tag)
            self.transactions[tx["transaction_id"]] = tx
            self.events.append(("added", tx))
        self._public_tokens: set[str] = set()
        self.removed = 0  # /item/remove calls that succeeded
        self._counter = 0
        self._mutate_next = False
        self._login_required = False

    # ---- knobs for tests -------------------------------------------------------------------

    def issue_public_token(self) -> str:
        """What Plaid's side of Link does when a user finishes it: a one-time public token."""
        token = f"public-sandbox-{self._uuid('public')}"
        self._public_tokens.add(token)
        return token

    def post_pending(self) -> list[str]:
        """Every pending transaction posts: Plaid removes the pending row and adds a posted one."""
        posted = []
        for tx in [t for t in self.transactions.values() if t["pending"]]:
            del self.transactions[tx["transaction_id"]]
            self.events.append(("removed", {"transaction_id": tx["transaction_id"], "account_id": tx["account_id"]}))
            new = dict(
                tx,
                pending=False,
                pending_transaction_id=tx["transaction_id"],
                transaction_id=_plaid_id(f"posted:{tx['transaction_id']}"),
                date=(date.fromisoformat(tx["date"]) + timedelta(days=1)).isoformat(),
            )
            self.transactions[new["transaction_id"]] = new
            self.events.append(("added", new))
            posted.append(new["transaction_id"])
        return posted

    def mutate_during_next_pagination(self) -> None:
        """The next ``/transactions/sync`` call that continues a pagination fails with a mutation error."""
        self._mutate_next = True

    def require_login(self, required: bool = True) -> None:
        self._login_required = required

    # ---- helpers ---------------------------------------------------------------------------

    def _request_id(self) -> str:
        self._counter += 1
        return _plaid_id(f"request:{self._counter}")[:15]

    def _uuid(self, kind: str) -> str:
        self._counter += 1
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"aegis-demo:{kind}:{self._counter}"))

    def _error(self, status: int, kind: str, code: str, message: str, display: str | None = None) -> httpx.Response:
        body = {
            "display_message": display,
            "documentation_url": f"https://plaid.com/docs/errors/#{code.lower()}",
            "error_code": code,
            "error_message": message,
            "error_type": kind,
            "request_id": self._request_id(),
            "suggested_action": None,
        }
        return httpx.Response(status, json=body)

    def _accounts(self, realtime: bool = False) -> list[dict[str, Any]]:
        out = []
        for spec in ledger.ACCOUNTS:
            rows = [t for t in self.transactions.values() if t["account_id"] == spec["account_id"]]
            posted = sum((Decimal(str(t["amount"])) for t in rows if not t["pending"]), Decimal(0))
            pending = sum((Decimal(str(t["amount"])) for t in rows if t["pending"]), Decimal(0))
            if spec["type"] == "credit":
                current = spec["opening_balance"] + posted
                available = spec["limit"] - current - pending
            else:
                current = spec["opening_balance"] - posted
                available = current - pending
            balances = {
                "available": _money(available),
                "current": _money(current),
                "iso_currency_code": "USD",
                "limit": _money(spec["limit"]) if spec["limit"] else None,
                "unofficial_currency_code": None,
                "last_updated_datetime": self.now.isoformat().replace("+00:00", "Z") if realtime else None,
            }
            out.append(
                {k: spec[k] for k in ("account_id", "mask", "name", "official_name", "type", "subtype")}
                | {"balances": balances, "persistent_account_id": None}
            )
        return out

    def _item(self) -> dict[str, Any]:
        return {
            "item_id": ledger.ITEM_ID,
            "institution_id": ledger.INSTITUTION_ID,
            "institution_name": ledger.INSTITUTION_NAME,
            "webhook": None,
            "error": None,
            "available_products": ["assets", "balance", "identity", "investments", "liabilities"],
            "billed_products": ["transactions"],
            "products": ["transactions"],
            "consented_products": ["transactions"],
            "consent_expiration_time": None,
            "update_type": "background",
        }

    # ---- HTTP ------------------------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request.url.path)
        if request.method != "POST" or request.url.host != "sandbox.plaid.com":
            return self._error(404, "INVALID_REQUEST", "UNKNOWN_ROUTE", "the requested route does not exist")
        try:
            body = json.loads(request.content)
        except ValueError:
            return self._error(400, "INVALID_REQUEST", "INVALID_BODY", "body could not be parsed as JSON")
        if body.get("client_id") != DEMO_CLIENT_ID or body.get("secret") != DEMO_SECRET:
            return self._error(400, "INVALID_INPUT", "INVALID_API_KEYS", "invalid client_id or secret provided")
        route = request.url.path
        if route in ("/transactions/sync", "/accounts/get", "/accounts/balance/get", "/item/remove"):
            if body.get("access_token") != DEMO_ACCESS_TOKEN:
                return self._error(
                    400,
                    "INVALID_INPUT",
                    "INVALID_ACCESS_TOKEN",
                    "provided access token is in an invalid format. expected format: access-<environment>-<identifier>",
                )
            if self._login_required:
                return self._error(
                    400,
                    "ITEM_ERROR",
                    "ITEM_LOGIN_REQUIRED",
                    "the login details of this item have changed (credentials, MFA, or required user action) "
                    "and a user login is required to update this information.",
                    "To keep your account connected, please sign in again.",
                )
        match route:
            case "/institutions/get_by_id":
                return self._ok(
                    {
                        "institution": {
                            "institution_id": ledger.INSTITUTION_ID,
                            "name": ledger.INSTITUTION_NAME,
                            "products": ["assets", "auth", "balance", "transactions", "identity"],
                            "country_codes": ["US"],
                            "oauth": False,
                            "routing_numbers": [],
                        }
                    }
                )
            case "/link/token/create":
                missing = [f for f in ("client_name", "language", "country_codes", "user") if not body.get(f)]
                if missing or not body["user"].get("client_user_id"):
                    return self._error(
                        400,
                        "INVALID_REQUEST",
                        "MISSING_FIELDS",
                        f"the following required fields are missing: {', '.join(missing) or 'user.client_user_id'}",
                    )
                expiration = (self.now + timedelta(hours=4)).isoformat().replace("+00:00", "Z")
                return self._ok({"link_token": f"link-sandbox-{self._uuid('link')}", "expiration": expiration})
            case "/sandbox/public_token/create":
                return self._ok({"public_token": self.issue_public_token()})
            case "/item/public_token/exchange":
                if body.get("public_token") not in self._public_tokens:
                    return self._error(
                        400,
                        "INVALID_INPUT",
                        "INVALID_PUBLIC_TOKEN",
                        "provided public token is expired. Public tokens expire 30 minutes after creation",
                    )
                self._public_tokens.discard(body["public_token"])
                return self._ok({"access_token": DEMO_ACCESS_TOKEN, "item_id": ledger.ITEM_ID})
            case "/item/remove":
                self.removed += 1
                return self._ok({})
            case "/accounts/get":
                return self._ok({"accounts": self._accounts(), "item": self._item()})
            case "/accounts/balance/get":
                return self._ok({"accounts": self._accounts(realtime=True), "item": self._item()})
            case "/transactions/sync":
                return self._sync(body)
        return self._error(404, "INVALID_REQUEST", "UNKNOWN_ROUTE", "the requested route does not exist")

    def _ok(self, body: dict[str, Any]) -> httpx.Response:
        return httpx.Response(200, json={**body, "request_id": self._request_id()})

    def _sync(self, body: dict[str, Any]) -> httpx.Response:
        cursor = body.get("cursor") or ""
        stale = False
        try:
            parts = base64.b64decode(cursor).decode().split(":") if cursor else []
            offset = int(parts[3] if parts and parts[0] == "demo-v2" else parts[-1]) if parts else 0
            if parts and (parts[0] != "demo-v2" or int(parts[2]) != self.shift_days):
                stale, offset = True, 0  # issued on another day: every date moved, send them all again
            elif parts and parts[-1] == "moved":
                stale = True  # the rest of such a replay
        except (ValueError, IndexError):
            return self._error(400, "INVALID_REQUEST", "INVALID_FIELD", "cursor is not valid")
        if self._mutate_next and 0 < offset < len(self.events):
            self._mutate_next = False
            return self._error(
                400,
                "TRANSACTIONS_ERROR",
                "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION",
                "Underlying transaction data changed since last page was fetched. "
                "Please restart pagination from last update.",
            )
        size = min(int(body.get("count", 100)), self.page_size)
        page = self.events[offset : offset + size]
        end = offset + len(page)
        out: dict[str, Any] = {"added": [], "modified": [], "removed": []}
        for kind, payload in page:
            out["modified" if stale else kind].append(payload)
        replay = ":moved" if stale and end < len(self.events) else ""
        state = f"demo-v2:{ledger.ITEM_ID}:{self.shift_days}:{end}{replay}"
        next_cursor = base64.b64encode(state.encode()).decode()
        return self._ok(
            out
            | {
                "accounts": self._accounts(),
                "next_cursor": next_cursor,
                "has_more": end < len(self.events),
                "transactions_update_status": "HISTORICAL_UPDATE_COMPLETE",
            }
        )


def demo_transport(sandbox: DemoPlaid | None = None) -> httpx.MockTransport:
    """A transport serving ``sandbox`` (a fresh one when omitted)."""
    return httpx.MockTransport((sandbox or DemoPlaid()).handler)
