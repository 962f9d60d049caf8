"""The owner's news settings: topics, RSS/Atom feeds, iCalendar feeds, article sites, NewsAPI use.

The hosts of the feeds, the calendars and the article sites (with ``newsapi.org`` when NewsAPI is
used) are the egress allow-list of every fetch the integration makes: nothing else is fetched.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from tools.news.newsapi import BASE

_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _https(url: str) -> str:
    url = url.strip()
    if not url.startswith("https://") or " " in url:
        raise ValueError(f"{url[:80]!r} is not an https:// address")
    if not _HOST.match(host_of(url)):
        raise ValueError(f"{url[:80]!r} does not name a host")
    return url


def _host(value: str) -> str:
    value = value.strip().lower().removeprefix("https://").split("/", 1)[0]
    if not _HOST.match(value):
        raise ValueError(f"{value[:80]!r} is not a host name")
    return value


def host_of(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0].lower()


Url = Annotated[str, StringConstraints(max_length=500), AfterValidator(_https)]
Host = Annotated[str, StringConstraints(max_length=253), AfterValidator(_host)]
Topic = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=60)]


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    topics: tuple[Topic, ...] = Field((), max_length=10)
    feeds: tuple[Url, ...] = Field((), max_length=30)
    calendars: tuple[Url, ...] = Field((), max_length=20)
    sites: tuple[Host, ...] = Field((), max_length=30)
    country: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")] = "us"
    use_newsapi: bool = True

    def hosts(self) -> set[str]:
        """The allow-list: every configured source's host."""
        out = {host_of(u) for u in (*self.feeds, *self.calendars)} | set(self.sites)
        if self.use_newsapi:
            out.add(host_of(BASE))
        return out

    def article_hosts(self) -> set[str]:
        """Sites whose article pages may be fetched for their text: the feeds' hosts and ``sites``."""
        return {host_of(u) for u in self.feeds} | set(self.sites)
