"""ActivityWatch client: the aw-server REST API on this machine (``http://127.0.0.1:5600/api/0/``).

aw-server has no authentication; its only protection is that it listens on loopback, so this client
refuses any base URL that is not a loopback address. The base URL is the default unless the vault
holds ``activitywatch-url`` (for a non-default port). Calls used:

- ``GET /api/0/buckets/`` (the trailing slash matters: without it aw-server answers a 308): a map of
  bucket id to ``{id, created, name, type, client, hostname, last_updated}``;
- ``POST /api/0/query/`` with ``{"timeperiods": ["<start>/<end>", ...], "query": ["stmt;", ...]}``:
  one list of events ``{id, timestamp, duration, data}`` per time period.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict

from tools._http import RetryPolicy, status_error
from tools.base import BaseIntegration
from tools.credentials import CredentialProvider
from tools.errors import IntegrationError, InvalidRequest, UpstreamError

DEFAULT_URL: Final = "http://127.0.0.1:5600"
URL_SETTING: Final = "activitywatch-url"

# Window time while the owner was not away: the window watcher's events cut to the afk watcher's
# "not-afk" periods.
ACTIVE_WINDOW_QUERY: Final = (
    'window = query_bucket(find_bucket("aw-watcher-window_"));',
    'afk = query_bucket(find_bucket("aw-watcher-afk_"));',
    'afk = filter_keyvals(afk, "status", ["not-afk"]);',
    "events = filter_period_intersect(window, afk);",
    "RETURN = events;",
)


class Bucket(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    type: str = ""
    client: str = ""
    hostname: str = ""
    last_updated: datetime | None = None


class Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    timestamp: datetime
    duration: float = 0.0
    data: dict[str, Any] = {}

    @property
    def app(self) -> str:
        return str(self.data.get("app") or "unknown")

    @property
    def title(self) -> str:
        return str(self.data.get("title") or "")


def loopback_url(url: str) -> str:
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    try:
        loop = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loop = False
    if parts.scheme not in ("http", "https") or not loop:
        raise InvalidRequest(
            "ActivityWatch must be reached on this machine (a loopback URL)", integration="activitywatch"
        )
    return f"{parts.scheme}://{parts.netloc}"


class ActivityWatchClient(BaseIntegration):
    name = "activitywatch"

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: CredentialProvider,
        *,
        base_url: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(http, credentials, retry=retry)
        self._fixed = None if base_url is None else loopback_url(base_url)

    async def base_url(self) -> str:
        if self._fixed is not None:
            return self._fixed
        try:
            return loopback_url(await self.get_credential(URL_SETTING))
        except InvalidRequest:
            raise
        except IntegrationError:
            return DEFAULT_URL

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        url = f"{await self.base_url()}/api/0{path}"
        response = await self._send(method, url, json=body, idempotent=True)
        if response.status_code < 400:
            return response.json()
        try:
            message = str(response.json().get("message") or "error")[:300]
        except (ValueError, AttributeError):
            message = response.reason_phrase or "error"
        raise status_error(response, f"activitywatch {response.status_code}: {message}", integration=self.name)

    async def health_check(self) -> bool:
        return await self._healthy(self.buckets)

    async def buckets(self) -> list[Bucket]:
        try:
            raw = await self._call("GET", "/buckets/")
        except UpstreamError as exc:
            raise UpstreamError(
                f"ActivityWatch is not answering on this machine ({exc.message})", integration=self.name
            ) from None
        if not isinstance(raw, dict):
            raise InvalidRequest("aw-server answered /buckets/ with something else", integration=self.name)
        return [Bucket.model_validate({**v, "id": k}) for k, v in raw.items() if isinstance(v, dict)]

    async def query(self, periods: Sequence[tuple[datetime, datetime]], lines: Sequence[str]) -> list[list[Event]]:
        """Run a query over each period; one list of events per period, in order."""
        body = {"timeperiods": [f"{a.isoformat()}/{b.isoformat()}" for a, b in periods], "query": list(lines)}
        raw = await self._call("POST", "/query/", body)
        if not isinstance(raw, list) or len(raw) != len(periods):
            raise InvalidRequest("aw-server answered a query with something else", integration=self.name)
        return [[Event.model_validate(e) for e in part if isinstance(e, dict)] for part in raw]
