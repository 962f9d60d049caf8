"""Charles Schwab through schwab-py's asyncio client, its OAuth token read and written through the vault.

:meth:`SchwabClient._session` reads the token JSON (schwab-py's format, ``{"creation_timestamp",
"token": {...}}``) from the broker and builds the client with ``client_from_access_functions``; when
authlib refreshes the 30-minute access token, the write function queues the new JSON and it goes
back to the vault before the call returns (never a file). The refresh token lives about 7 days from
``creation_timestamp`` and cannot be extended: :meth:`refresh_expires_at` says when, and a refused
refresh is :class:`~tools.errors.AuthExpired` (the owner reconnects in the console).

Reads are retried on 429 and 5xx (``Retry-After`` honoured, three attempts); placing and cancelling
an order never are: the service checks Schwab's orders before it would try again. A 401 or 403 on
an order call while reads work is :class:`TradingNotEnabled` (the Schwab app is read-only).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol

import httpx2
from authlib.common.errors import AuthlibBaseError
from schwab.auth import client_from_access_functions
from schwab.client import AsyncClient
from schwab.utils import Utils

from tools.credentials import CredentialProvider, from_one_line, one_line
from tools.errors import AuthExpired, IntegrationError, InvalidRequest, NotFound, RateLimited, UpstreamError
from tools.schwab.models import Account, AccountNumber, Order, Quote, Transaction

APP_KEY: Final = "schwab-app-key"
APP_SECRET: Final = "schwab-app-secret"  # noqa: S105 - a vault name, not a secret
TOKEN: Final = "schwab-oauth"  # noqa: S105 - a vault name, not a secret
REFRESH_LIFETIME: Final = dt.timedelta(days=7)
READ_ATTEMPTS: Final = 3
MAX_WAIT: Final = 30.0
NAME: Final = "schwab"

Sleep = Callable[[float], Awaitable[None]]
Call = Callable[[AsyncClient], Awaitable[httpx2.Response]]


class TokenStore(Protocol):
    async def ready(self) -> None:
        """Raise an :class:`IntegrationError` unless a following :meth:`put` can succeed."""
        ...

    async def put(self, name: str, value: str) -> None:
        """Store (or replace) a vault secret; raise an :class:`IntegrationError` on refusal."""
        ...


class TradingNotEnabled(IntegrationError):
    """Schwab refused an order call for this app: it is approved for reads only (the owner asks Schwab)."""


class OrderRejected(InvalidRequest):
    """Schwab answered the order with a 400: ``message`` is Schwab's reason, shown as it is."""


def wrap_token(token: dict[str, Any], created: float) -> str:
    """A bare OAuth token (what the console's login receives) in schwab-py's stored format."""
    return json.dumps({"creation_timestamp": int(created), "token": token})


def _reason(response: httpx2.Response) -> str:
    try:
        doc = response.json()
    except ValueError:
        return response.text[:300] or f"HTTP {response.status_code}"
    if isinstance(doc, dict):
        errors = doc.get("errors")
        parts = [str(doc["message"])] if doc.get("message") else []
        if isinstance(errors, list):
            parts += [str(e.get("detail") or e.get("title") or e) if isinstance(e, dict) else str(e) for e in errors]
        if parts:
            return "; ".join(parts)[:300]
    return f"HTTP {response.status_code}"


def _retry_after(response: httpx2.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None


class SchwabClient:
    def __init__(
        self,
        credentials: CredentialProvider,
        secrets: TokenStore,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = credentials
        self._secrets = secrets
        self._transport = transport
        self._sleep = sleep
        self._clock = clock
        self._client: AsyncClient | None = None
        self._created: float | None = None
        self._pending: str | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"SchwabClient(connected={self._client is not None})"

    # ---- the session and its token ------------------------------------------------------------

    async def _session(self) -> AsyncClient:
        if self._client is not None:
            return self._client
        try:
            stored = json.loads(from_one_line(await self._credentials.get(TOKEN)))
            key, secret = await self._credentials.get(APP_KEY), await self._credentials.get(APP_SECRET)
        except ValueError:
            raise AuthExpired(
                "the stored Schwab token is not JSON", integration=NAME, code="token_unreadable"
            ) from None
        if not isinstance(stored, dict) or "creation_timestamp" not in stored:
            raise AuthExpired("the stored Schwab token has no creation time", integration=NAME, code="token_unreadable")
        self._created = float(stored["creation_timestamp"])
        client = client_from_access_functions(key, secret, lambda: stored, self._written, asyncio=True)
        if self._transport is not None:
            # schwab-py builds the session itself; send it through the shared client instead.
            client.session._transport = self._transport
        self._client = client
        return client

    def _written(self, token: dict[str, Any], *_args: Any, **_kwargs: Any) -> None:
        """schwab-py's (synchronous) write function: queue the refreshed token for the vault."""
        self._pending = json.dumps(token)

    async def _flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        try:
            await self._secrets.put(TOKEN, one_line(pending))  # a JSON bundle: the vault keeps one line
        except IntegrationError:
            self._pending = pending  # try again after the next call; the session holds the token meanwhile
            raise
        self._credentials.invalidate(TOKEN)

    async def refresh_expires_at(self) -> dt.datetime | None:
        """When the refresh token stops working (``creation_timestamp`` + 7 days); None when not connected."""
        try:
            stored = json.loads(from_one_line(await self._credentials.get(TOKEN)))
        except (IntegrationError, ValueError):
            return None
        created = stored.get("creation_timestamp") if isinstance(stored, dict) else None
        if not isinstance(created, (int, float)):
            return None
        return dt.datetime.fromtimestamp(created, tz=dt.UTC) + REFRESH_LIFETIME

    @property
    def transport(self) -> httpx2.AsyncBaseTransport | None:
        return self._transport

    async def app_keys(self) -> tuple[str, str]:
        """The Schwab app's key and secret from the vault (for the login)."""
        return await self._credentials.get(APP_KEY), await self._credentials.get(APP_SECRET)

    async def ready_to_store(self) -> None:
        """Raise unless a new token can be stored now (checked before a single-use code is spent)."""
        await self._secrets.ready()

    async def store_token(self, token_json: str) -> dt.datetime | None:
        """Store a new login's token (schwab-py's format) in the vault and start over with it;
        returns when its refresh token ends."""
        await self._secrets.put(TOKEN, one_line(token_json))
        self.forget()
        return await self.refresh_expires_at()

    def forget(self) -> None:
        """Drop the session (after a reconnect, the next call reads the new token)."""
        self._client = None
        self._credentials.invalidate(TOKEN)

    # ---- one call ------------------------------------------------------------------------------

    async def _send(self, call: Call) -> httpx2.Response:
        async with self._lock:  # one refresh at a time: schwab-py's token is per session
            client = await self._session()
            try:
                return await call(client)
            except AuthlibBaseError as exc:
                self.forget()
                code = getattr(exc, "error", None) or "refresh_failed"
                raise AuthExpired("Schwab refused the refresh token", integration=NAME, code=str(code)) from None
            except httpx2.TransportError as exc:
                raise UpstreamError(f"Schwab unreachable: {type(exc).__name__}", integration=NAME) from None
            finally:
                await self._flush()

    async def _read(self, call: Call) -> Any:
        for attempt in range(1, READ_ATTEMPTS + 1):
            response = await self._send(call)
            status = response.status_code
            if (status == 429 or status >= 500) and attempt < READ_ATTEMPTS:
                await self._sleep(min(MAX_WAIT, _retry_after(response) or 2.0**attempt))
                continue
            self._check(response, trading=False)
            return response.json() if response.content else None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _write(self, call: Call) -> httpx2.Response:
        response = await self._send(call)
        self._check(response, trading=True)
        return response

    def _check(self, response: httpx2.Response, *, trading: bool) -> None:
        status = response.status_code
        if status < 400:
            return
        reason = _reason(response)
        if trading and status in (401, 403):
            raise TradingNotEnabled(
                f"Schwab refused the order call ({status}: {reason}); the Schwab app may not be approved for trading",
                integration=NAME,
                status=status,
                code="trading_not_enabled",
            )
        if status == 401:
            raise AuthExpired(reason, integration=NAME, status=status, code="unauthorized")
        if status == 404:
            raise NotFound(reason, integration=NAME, status=status)
        if status == 429:
            raise RateLimited(reason, retry_after=_retry_after(response), integration=NAME, status=status)
        if status >= 500:
            raise UpstreamError(reason, integration=NAME, status=status)
        if trading:
            raise OrderRejected(reason, integration=NAME, status=status, code="rejected")
        raise InvalidRequest(reason, integration=NAME, status=status)

    # ---- reads ---------------------------------------------------------------------------------

    async def account_numbers(self) -> list[AccountNumber]:
        doc = await self._read(lambda c: c.get_account_numbers())
        return [AccountNumber.model_validate(a) for a in doc or []]

    async def accounts(self) -> list[Account]:
        doc = await self._read(lambda c: c.get_accounts(fields=[c.Account.Fields.POSITIONS]))
        return [Account.model_validate(a) for a in doc or []]

    async def quotes(self, symbols: list[str]) -> dict[str, Quote]:
        if not symbols:
            return {}
        doc = await self._read(lambda c: c.get_quotes(symbols))
        out: dict[str, Quote] = {}
        for symbol, body in (doc or {}).items():
            if isinstance(body, dict) and "quote" in body:
                out[symbol] = Quote.model_validate({"symbol": symbol, **body})
        return out

    async def orders(self, account_hash: str, since: dt.datetime, until: dt.datetime) -> list[Order]:
        doc = await self._read(
            lambda c: c.get_orders_for_account(account_hash, from_entered_datetime=since, to_entered_datetime=until)
        )
        return [Order.model_validate(o) for o in doc or []]

    async def order(self, account_hash: str, order_id: int) -> Order:
        return Order.model_validate(await self._read(lambda c: c.get_order(order_id, account_hash)))

    async def transactions(self, account_hash: str, start: dt.date, end: dt.date) -> list[Transaction]:
        doc = await self._read(lambda c: c.get_transactions(account_hash, start_date=start, end_date=end))
        return [Transaction.model_validate(t) for t in doc or []]

    # ---- orders (never retried here) -----------------------------------------------------------

    async def preview_order(self, account_hash: str, spec: dict[str, Any]) -> dict[str, Any]:
        response = await self._write(lambda c: c.preview_order(account_hash, spec))
        doc = response.json() if response.content else {}
        return doc if isinstance(doc, dict) else {"response": doc}

    async def place_order(self, account_hash: str, spec: dict[str, Any]) -> int:
        client = await self._session()
        response = await self._write(lambda c: c.place_order(account_hash, spec))
        order_id = Utils(client, account_hash).extract_order_id(response)
        if order_id is None:
            raise UpstreamError("Schwab accepted the order without saying its id", integration=NAME)
        return int(order_id)

    async def cancel_order(self, account_hash: str, order_id: int) -> None:
        await self._write(lambda c: c.cancel_order(order_id, account_hash))
