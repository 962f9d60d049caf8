"""Introspection (RFC 7662) and revocation of tokens and keys."""

from __future__ import annotations

from typing import Any

import jwt
from sqlalchemy import select, update

from broker.errors import NotFound
from broker.guard import RequestInfo, record, token_is_active
from broker.state import BrokerState
from broker.verify import VerificationError, verify_token
from storage.models import ApiKeyRow, IssuedTokenRow, PrincipalRow

INACTIVE: dict[str, Any] = {"active": False}


async def _visible(state: BrokerState, claims: dict[str, Any], viewer: str) -> bool:
    """A principal sees its own tokens, and tokens addressed to it (``aud`` = its name): a resource
    server checking what it was handed. Never another principal's token for somebody else."""
    if claims.get("sub") == viewer:
        return True
    async with state.db.transaction() as s:
        name = await s.scalar(select(PrincipalRow.name).where(PrincipalRow.id == viewer))
    return name is not None and claims.get("aud") == name


async def introspect(
    state: BrokerState, info: RequestInfo, token: str, *, caller: str, viewer: str | None = None
) -> dict[str, Any]:
    """``{"active": false}`` for every invalid, unknown, revoked or expired token, whatever the cause,
    and for a live token the caller may not see (``viewer``: the calling principal; None for the admin)."""
    claims: dict[str, Any] | None = None
    reason: str | None
    try:
        claims = verify_token(
            token,
            keys=state.keyset,
            issuer=state.config.issuer,
            audience=None,
            leeway=0,
            max_lifetime=state.config.max_ttl,
            now=state.now(),
        )
    except VerificationError as exc:
        reason = exc.code
    else:
        async with state.db.transaction() as s:
            reason = await token_is_active(s, claims, state.now())
        if reason is None and viewer is not None and not await _visible(state, claims, viewer):
            reason = "not_visible"
    details: dict[str, Any] = {"jti": claims["jti"]} if claims else {}
    await record(
        state,
        info,
        actor=caller,
        action="token.introspect",
        result="allow" if reason is None else "deny",
        reason=reason,
        details=details,
    )
    if reason is not None or claims is None:
        return dict(INACTIVE)
    return {"active": True, "token_type": "at+jwt", **claims}


def _claimed_aud(token: str) -> str:
    """The audience the token names (unverified; verify_token then checks it strictly)."""
    try:
        aud = jwt.decode(token, options={"verify_signature": False}).get("aud")
    except jwt.PyJWTError:
        return ""
    return aud if isinstance(aud, str) else ""


async def _cascade(session: Any, jti: str, now: Any, reason: str) -> int:
    """Revoke a token and every token derived from it (chains are at most 2 deep)."""
    frontier, count = [jti], 0
    while frontier:
        rows = (await session.scalars(select(IssuedTokenRow).where(IssuedTokenRow.jti.in_(frontier)))).all()
        for row in rows:
            if row.revoked_at is None:
                row.revoked_at, row.revoke_reason = now, reason
                count += 1
        frontier = list(
            (await session.scalars(select(IssuedTokenRow.jti).where(IssuedTokenRow.parent_jti.in_(frontier)))).all()
        )
    return count


async def revoke_token(state: BrokerState, info: RequestInfo, jti: str, reason: str) -> int:
    async with state.db.transaction() as s:
        row = await s.get(IssuedTokenRow, jti, with_for_update=True)
        if row is None:
            raise NotFound("unknown_token", "no token with that jti")
        count = await _cascade(s, jti, state.now_dt(), reason)
        await record(
            state,
            info,
            actor="admin",
            action="token.revoke",
            result="allow",
            reason=reason,
            session=s,
            details={"jti": jti, "revoked": count},
        )
    return count


async def revoke_key(state: BrokerState, info: RequestInfo, key_id: str, reason: str) -> int:
    now = state.now_dt()
    async with state.db.transaction() as s:
        key = await s.get(ApiKeyRow, key_id, with_for_update=True)
        if key is None:
            raise NotFound("unknown_key", "no API key with that id")
        key.revoked_at = key.revoked_at or now
        live = (
            await s.scalars(
                select(IssuedTokenRow.jti).where(
                    IssuedTokenRow.key_id == key_id,
                    IssuedTokenRow.revoked_at.is_(None),
                    IssuedTokenRow.expires_at > now,
                )
            )
        ).all()
        count = 0
        for jti in live:
            count += await _cascade(s, jti, now, reason)
        await s.execute(
            update(IssuedTokenRow)
            .where(IssuedTokenRow.key_id == key_id, IssuedTokenRow.revoked_at.is_(None))
            .values(revoked_at=now, revoke_reason=reason)
        )
        await record(
            state,
            info,
            actor="admin",
            action="key.revoke",
            result="allow",
            reason=reason,
            session=s,
            details={"key_id": key_id, "tokens_revoked": count},
        )
    return count
