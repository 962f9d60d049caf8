"""Console sessions: one refresh-token family per login, rotated on every use (RFC 9700 reuse detection)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage.models import ConsoleSessionRow, RefreshTokenRow
from web.auth.tokens import TokenKeys, new_refresh_token
from web.config import ConsoleConfig

LAST_SEEN_EVERY = 60  # seconds: last_seen_at is refreshed at most this often


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    session_id: str
    access_token: str
    access_expires_in: int
    refresh_token: str
    refresh_expires_in: int
    csrf_token: str

    def body(self) -> dict[str, object]:
        """The JSON an API client receives."""
        return {
            "token_type": "Bearer",
            "access_token": self.access_token,
            "expires_in": self.access_expires_in,
            "refresh_token": self.refresh_token,
            "refresh_expires_in": self.refresh_expires_in,
            "session_id": self.session_id,
        }


@dataclass(frozen=True, slots=True)
class RotateOutcome:
    tokens: IssuedTokens | None
    reason: str  # ok, unknown, reused, expired, revoked
    session_id: str | None = None


def _dt(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


@dataclass(frozen=True, slots=True)
class SessionCheck:
    refused: str | None  # None when the session may be used, else why not
    stale: bool = False  # last_seen_at is due to be moved on


class Sessions:
    def __init__(self, keys: TokenKeys, config: ConsoleConfig) -> None:
        self._keys = keys
        self._config = config

    def _issue(self, session: AsyncSession, sid: str, now: float) -> IssuedTokens:
        access, _claims = self._keys.issue_access(sid, int(now), self._config.access_ttl)
        refresh = new_refresh_token()
        session.add(
            RefreshTokenRow(
                token_hash=self._keys.refresh_hash(refresh),
                session_id=sid,
                issued_at=_dt(now),
                expires_at=_dt(now + self._config.refresh_ttl),
            )
        )
        return IssuedTokens(
            session_id=sid,
            access_token=access,
            access_expires_in=self._config.access_ttl,
            refresh_token=refresh,
            refresh_expires_in=self._config.refresh_ttl,
            csrf_token=self._keys.csrf_token(sid),
        )

    async def create(
        self, session: AsyncSession, *, ip: str | None, user_agent: str | None, now: float
    ) -> IssuedTokens:
        sid = str(uuid.uuid4())
        session.add(
            ConsoleSessionRow(
                id=sid, created_at=_dt(now), last_seen_at=_dt(now), ip=ip, user_agent=(user_agent or "")[:256] or None
            )
        )
        await session.flush()
        return self._issue(session, sid, now)

    async def rotate(self, session: AsyncSession, refresh_token: str, now: float) -> RotateOutcome:
        """Swap a refresh token for a new pair. A token already used means theft: the family is revoked."""
        digest = self._keys.refresh_hash(refresh_token)
        row = await session.get(RefreshTokenRow, digest, with_for_update=True, populate_existing=True)
        if row is None:
            return RotateOutcome(None, "unknown")
        family = await session.get(ConsoleSessionRow, row.session_id, with_for_update=True, populate_existing=True)
        if family is None:
            return RotateOutcome(None, "unknown")
        if row.used_at is not None:
            await self.revoke(session, family.id, "refresh_reuse", now)
            return RotateOutcome(None, "reused", family.id)
        if family.revoked_at is not None:
            return RotateOutcome(None, "revoked", family.id)
        if _dt(now) >= row.expires_at or _dt(now) >= family.created_at + timedelta(
            seconds=self._config.session_max_age
        ):
            return RotateOutcome(None, "expired", family.id)
        tokens = self._issue(session, family.id, now)
        row.used_at = _dt(now)
        row.replaced_by = self._keys.refresh_hash(tokens.refresh_token)
        family.last_seen_at = _dt(now)
        return RotateOutcome(tokens, "ok", family.id)

    async def session_of(self, session: AsyncSession, refresh_token: str) -> str | None:
        row = await session.get(RefreshTokenRow, self._keys.refresh_hash(refresh_token))
        return None if row is None else row.session_id

    def check_active(self, session: Session, sid: str, now: float) -> SessionCheck:
        """Whether the session may be used. ``stale`` asks the caller to :meth:`touch` it.
        Sync: it runs inside the audit log's group commit, next to the access row it decides."""
        row = session.get(ConsoleSessionRow, sid)
        if row is None:
            return SessionCheck("unknown_session")
        if row.revoked_at is not None:
            return SessionCheck("session_revoked")
        if _dt(now) >= row.created_at + timedelta(seconds=self._config.session_max_age):
            return SessionCheck("session_expired")
        return SessionCheck(None, stale=(_dt(now) - row.last_seen_at).total_seconds() >= LAST_SEEN_EVERY)

    def touch(self, session: Session, sid: str, now: float) -> None:
        """Move last_seen_at on (at most every LAST_SEEN_EVERY seconds, as ``check_active`` asks)."""
        session.execute(update(ConsoleSessionRow).where(ConsoleSessionRow.id == sid).values(last_seen_at=_dt(now)))

    async def revoke(self, session: AsyncSession, sid: str, reason: str, now: float) -> bool:
        result = await session.execute(
            update(ConsoleSessionRow)
            .where(ConsoleSessionRow.id == sid, ConsoleSessionRow.revoked_at.is_(None))
            .values(revoked_at=_dt(now), revoke_reason=reason)
        )
        return bool(getattr(result, "rowcount", 0))

    async def revoke_all(self, session: AsyncSession, reason: str, now: float, *, keep: str | None = None) -> int:
        q = update(ConsoleSessionRow).where(ConsoleSessionRow.revoked_at.is_(None))
        if keep is not None:
            q = q.where(ConsoleSessionRow.id != keep)
        result = await session.execute(q.values(revoked_at=_dt(now), revoke_reason=reason))
        return int(getattr(result, "rowcount", 0))

    async def list_active(self, session: AsyncSession, now: float) -> list[ConsoleSessionRow]:
        oldest = _dt(now - self._config.session_max_age)
        idle = _dt(now - self._config.refresh_ttl)
        q = (
            select(ConsoleSessionRow)
            .where(
                ConsoleSessionRow.revoked_at.is_(None),
                ConsoleSessionRow.created_at > oldest,
                ConsoleSessionRow.last_seen_at > idle,
            )
            .order_by(ConsoleSessionRow.last_seen_at.desc())
        )
        return list((await session.scalars(q)).all())
