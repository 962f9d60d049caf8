"""What recurring work needs from the rest of Aegis, as Protocols the lead wires at the composition
root, with small in-memory implementations for tests and for integrations that do not exist yet."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

# --- outcomes a job handler can signal ------------------------------------------------------


class JobError(Exception):
    """A job failed for a reason worth showing the owner. The message must hold no secrets; it is
    recorded in the run history as is (clipped). Any other exception is recorded by type only."""


class JobSkipped(Exception):
    """The job chose not to run (integration missing, owner idle...). Recorded with the reason."""


def not_connected(name: str, detail: str = "") -> str:
    return f"integration not connected: {name}" + (f" ({detail})" if detail else "")


# --- integrations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntegrationCheck:
    connected: bool
    reason: str = ""  # why not, in a few words (shown in the run history)


class IntegrationStatus(Protocol):
    """Is an integration (``mail``, ``finance``, ``calendar``...) connected right now? The lead wires
    this to the MCP host (server up and credentials present)."""

    async def check(self, name: str) -> IntegrationCheck: ...


@dataclass
class StaticIntegrations:
    """Integrations connected by configuration (tests, or before the MCP host is wired)."""

    connected: set[str] = field(default_factory=set)

    async def check(self, name: str) -> IntegrationCheck:
        return IntegrationCheck(name in self.connected)


# --- owner activity ---------------------------------------------------------------------------


class OwnerActivity(Protocol):
    """When the owner last used Aegis (console sign-in or chat). ``None``: never seen."""

    async def last_seen(self) -> datetime | None: ...


@dataclass
class FixedActivity:
    seen: datetime | None = None

    async def last_seen(self) -> datetime | None:
        return self.seen


# --- notifications ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Notification:
    """``body`` may hold personal data (a briefing): the implementation must keep it encrypted."""

    kind: str  # "briefing" | "digest" | "job_failed"
    title: str
    body: str
    ref: str | None = None  # a briefing id or a run id


class Notifier(Protocol):
    async def notify(self, note: Notification) -> None: ...


class NotificationFeed(Notifier, Protocol):
    """A notifier the console can list (newest first, with the time each was sent)."""

    async def recent(self, limit: int = 20) -> list[tuple[datetime, Notification]]: ...


@dataclass
class MemoryNotifier:
    sent: list[Notification] = field(default_factory=list)
    at: list[datetime] = field(default_factory=list)

    async def notify(self, note: Notification) -> None:
        self.sent.append(note)
        self.at.append(datetime.now(UTC))

    async def recent(self, limit: int = 20) -> list[tuple[datetime, Notification]]:
        return list(zip(reversed(self.at[-limit:]), reversed(self.sent[-limit:]), strict=True))


# --- sync through the gateway --------------------------------------------------------------


class SyncRunner(Protocol):
    """Calls an integration's MCP sync tool through the gateway (audited like chat), authenticated
    by a job-scoped token. Returns the tool's small result (counts)."""

    async def sync(self, integration: str, job_token: str, job_id: str) -> dict[str, Any]: ...


class TokenSource(Protocol):
    """Hands out job-scoped tokens (see :class:`agent.jobs.tokens.JobTokens`)."""

    async def for_job(self, job_id: str, integration: str) -> str: ...


ParentToken = Callable[[], Awaitable[str]]


def small_summary(result: Mapping[str, Any], *, limit: int = 20) -> dict[str, Any]:
    """Keep only numbers and booleans under short keys: a sync result may carry text we must not
    copy into the (unencrypted) run history."""
    out: dict[str, Any] = {}
    for k, v in result.items():
        if len(out) >= limit:
            break
        if isinstance(k, str) and len(k) <= 40 and isinstance(v, (bool, int, float)):
            out[k] = v
    return out
