"""Every fetch of the news integration, through the egress guard.

For each URL, in order: the guard's URL and allow-list check (``https`` on 443, the host one of the
owner's configured sources: NewsAPI, the feeds, the iCalendar feeds and the article sites);
``robots.txt`` of the host (fetched once per run through this same path; a 4xx means no rules, a
5xx or an unreachable file means "disallow everything", as RFC 9309 says); the per-host pace (at
least ``interval`` seconds between two requests to one host, at most ``per_host`` requests per run);
then the request with bounded retries honouring ``Retry-After``. In production the client's
transport is :class:`tools.egress.GuardedTransport`: it resolves the host, refuses private
and reserved addresses, connects only to the address it checked and re-checks the connected peer.
Redirects are followed by hand, each hop checked again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from urllib.robotparser import RobotFileParser

import httpx

from tools._http import USER_AGENT, RetryPolicy, status_error
from tools.base import BaseIntegration
from tools.credentials import StaticCredentials
from tools.egress import EgressError, EgressGuard, Resolver, system_resolver
from tools.errors import IntegrationError, UpstreamError

ALLOWLIST = "news-sources"
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/xml",
    "text/xml",
    "text/calendar",
    "text/html",
    "text/plain",
    "application/json",
)
MAX_HOPS = 3


class Refused(IntegrationError):
    """The egress guard, ``robots.txt`` or the per-host limit refused the fetch."""


def guard_for(hosts: Iterable[str] = (), *, resolver: Resolver = system_resolver) -> EgressGuard:
    """The guard the production client's transport shares with :class:`Crawler`."""
    return EgressGuard({ALLOWLIST: tuple(hosts)}, resolver=resolver, content_types=FEED_TYPES, max_bytes=5_000_000)


@dataclass
class Pacer:
    """The per-host rate limit: a minimum interval between requests to a host and a cap per run."""

    interval: float = 1.0
    per_host: int = 40
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _last: dict[str, float] = field(default_factory=dict)
    _count: dict[str, int] = field(default_factory=dict)

    def reset(self) -> None:
        self._count.clear()

    async def wait(self, host: str) -> None:
        n = self._count.get(host, 0)
        if n >= self.per_host:
            raise Refused(f"rate limit: at most {self.per_host} requests to {host} per run", integration="news")
        self._count[host] = n + 1
        if host in self._last:
            due = self._last[host] + self.interval - self.clock()
            if due > 0:
                await self.sleep(due)
        self._last[host] = self.clock()


@dataclass(frozen=True)
class Fetched:
    url: str
    content_type: str
    content: bytes


class Crawler(BaseIntegration):
    name = "news"

    def __init__(
        self, http: httpx.AsyncClient, guard: EgressGuard, pacer: Pacer, *, retry: RetryPolicy | None = None
    ) -> None:
        super().__init__(http, StaticCredentials({}), retry=retry)  # public pages: no credential
        self._guard = guard
        self._pacer = pacer
        self._robots: dict[str, RobotFileParser | bool] = {}

    def begin(self, hosts: Iterable[str]) -> None:
        """Start a run: allow exactly ``hosts`` (the owner's sources), forget robots rules and counts."""
        self._guard.allowlists = {**self._guard.allowlists, ALLOWLIST: tuple(sorted(set(hosts)))}
        self._robots.clear()
        self._pacer.reset()

    def allowed(self, url: str) -> bool:
        try:
            self._guard.check_url(url, ALLOWLIST)
        except EgressError:
            return False
        return True

    async def get(self, url: str, *, robots: bool = True, headers: dict[str, str] | None = None) -> Fetched:
        """GET ``url`` with every check; raises :class:`Refused` or the error tree."""
        current = url
        for _ in range(MAX_HOPS + 1):
            try:
                host = self._guard.check_url(current, ALLOWLIST).host
            except EgressError as exc:
                raise Refused(f"egress refused: {exc}", integration=self.name) from None
            if robots and not await self._robots_allow(host, current):
                raise Refused(f"robots.txt of {host} disallows this page", integration=self.name)
            await self._pacer.wait(host)
            try:
                response = await self._send("GET", current, headers=headers)
            except EgressError as exc:
                raise Refused(f"egress refused: {exc}", integration=self.name) from None
            except OSError as exc:  # the guard's resolution failed (no such host, no network)
                raise UpstreamError(f"{host} is unreachable: {type(exc).__name__}", integration=self.name) from None
            if response.is_redirect and response.headers.get("location"):
                current = str(httpx.URL(current).join(response.headers["location"]))
                continue
            if not response.is_success:
                raise status_error(response, f"{host} answered {response.status_code}", integration=self.name)
            ctype = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            return Fetched(current, ctype, response.content)
        raise Refused(f"more than {MAX_HOPS} redirects from {url}", integration=self.name)

    async def _robots_allow(self, host: str, url: str) -> bool:
        if host not in self._robots:
            self._robots[host] = await self._read_robots(host)
        rules = self._robots[host]
        return rules if isinstance(rules, bool) else rules.can_fetch(USER_AGENT, url)

    async def _read_robots(self, host: str) -> RobotFileParser | bool:
        """The host's rules; True: no rules (a 4xx), False: everything disallowed (unreachable)."""
        try:
            found = await self.get(f"https://{host}/robots.txt", robots=False)
        except Refused:
            return False
        except IntegrationError as exc:
            return exc.status is not None and 400 <= exc.status < 500 and exc.status != 429
        rules = RobotFileParser()
        rules.parse(found.content.decode("utf-8", errors="replace").splitlines())
        return rules

    async def health_check(self) -> bool:
        return True
