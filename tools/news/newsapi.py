"""NewsAPI (newsapi.org) over httpx: ``/v2/top-headlines`` and ``/v2/everything``.

The key goes in the ``X-Api-Key`` header (never the query string, which proxies and logs keep). A
success is ``{"status": "ok", "totalResults", "articles": [...]}``; an error is
``{"status": "error", "code", "message"}`` with HTTP 400, 401, 429 or 500, mapped to the error tree
by its ``code``. ``content`` is cut by NewsAPI to about 200 characters, so it is only a summary.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import httpx

from tools._http import parse_retry_after, scrub
from tools.base import BaseIntegration
from tools.errors import AuthExpired, IntegrationError, InvalidRequest, RateLimited, UpstreamError
from tools.news.models import Article

BASE: Final = "https://newsapi.org"
CREDENTIAL: Final = "newsapi-key"
CATEGORIES: Final = frozenset({"business", "entertainment", "general", "health", "science", "sports", "technology"})
_AUTH = frozenset({"apiKeyInvalid", "apiKeyMissing", "apiKeyDisabled"})
_LIMIT = frozenset({"rateLimited", "apiKeyExhausted"})
_BAD = frozenset({"parameterInvalid", "parametersMissing", "sourcesTooMany", "sourceDoesNotExist"})


def _published(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def articles_of(body: dict[str, Any]) -> list[Article]:
    out = []
    for a in body.get("articles") or []:
        if not a.get("url") or not a.get("title") or a.get("title") == "[Removed]":
            continue
        source = (a.get("source") or {}).get("name") or "NewsAPI"
        summary = a.get("description") or a.get("content") or ""
        out.append(
            Article(
                url=a["url"],
                title=a["title"].strip(),
                source=str(source),
                origin="newsapi",
                published_at=_published(a.get("publishedAt")),
                summary=str(summary)[:1000],
                author=a.get("author"),
            )
        )
    return out


class NewsApiClient(BaseIntegration):
    name = "news"

    async def _get(self, path: str, params: dict[str, Any]) -> list[Article]:
        key = await self.get_credential(CREDENTIAL)
        response = await self._send("GET", f"{BASE}{path}", headers={"X-Api-Key": key}, params=params)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and body.get("status") == "ok":
            return articles_of(body)
        raise self._error(response, body if isinstance(body, dict) else {}, key)

    def _error(self, response: httpx.Response, body: dict[str, Any], key: str) -> IntegrationError:
        code = str(body.get("code") or "") or None
        message = scrub(f"NewsAPI {response.status_code} {code or ''}: {body.get('message', '')}"[:300], [key])
        status = response.status_code
        kw: dict[str, Any] = {"integration": self.name, "status": status, "code": code}
        if code in _AUTH or status == 401:
            if code is None:
                kw["code"] = "apiKeyInvalid"
            return AuthExpired(message, **kw)
        if code in _LIMIT or status == 429:
            return RateLimited(message, retry_after=parse_retry_after(response.headers.get("Retry-After")), **kw)
        if code in _BAD or 400 <= status < 500:
            return InvalidRequest(message, **kw)
        return UpstreamError(message, **kw)

    async def top_headlines(
        self, *, country: str | None = None, category: str | None = None, q: str | None = None, page_size: int = 20
    ) -> list[Article]:
        if category is not None and category not in CATEGORIES:
            raise InvalidRequest(f"unknown NewsAPI category {category!r}", integration=self.name)
        params = {"country": country, "category": category, "q": q, "pageSize": min(page_size, 100)}
        params = {k: v for k, v in params.items() if v is not None}
        if not {"country", "category", "q"} & params.keys():
            raise InvalidRequest("top headlines need a country, a category or a query", integration=self.name)
        return await self._get("/v2/top-headlines", params)

    async def everything(
        self, q: str, *, language: str = "en", sort_by: str = "publishedAt", page_size: int = 20
    ) -> list[Article]:
        if not q.strip() or len(q) > 500:
            raise InvalidRequest("a NewsAPI query is 1 to 500 characters", integration=self.name)
        params = {"q": q, "language": language, "sortBy": sort_by, "pageSize": min(page_size, 100)}
        return await self._get("/v2/everything", params)

    async def health_check(self) -> bool:
        return await self._healthy(lambda: self.top_headlines(country="us", page_size=1))
