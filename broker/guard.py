"""Request context, audit records and authentication checks shared by every broker route.

Every allow and every deny writes one audit row. If the row cannot be written the request fails
with 503: nothing is granted that was not recorded.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.errors import BrokerError, Forbidden, TooManyRequests, Unauthorized, Unavailable
from broker.scopes import check_ceiling
from broker.state import BrokerState
from broker.verify import VerificationError, require_scopes
from storage.audit import AuditError, AuditEvent, Sensitive
from storage.models import ApiKeyRow, IssuedTokenRow, PrincipalRow

ADMIN = "admin"
log = structlog.get_logger("aegis.broker")


@dataclass(frozen=True, slots=True)
class RequestInfo:
    ip: str
    user_agent: str | None
    trace_id: str


@dataclass(frozen=True, slots=True)
class FloodContext:
    info: RequestInfo
    actor: str
    action: str
    reason: str
    details: dict[str, Any]


async def write_flood_row(state: BrokerState, kind: str, source: str, count: int, first: bool, ctx: Any) -> None:
    """A FloodTrace row: the first refusal of its window as it came, or the window's summary."""
    assert isinstance(ctx, FloodContext)
    details = {**ctx.details, "aggregated": True}
    if not first:
        details.update(count=count, summary=True)
    await record(state, ctx.info, actor=ctx.actor, action=ctx.action, result="deny", reason=ctx.reason, details=details)


def from_request(info: RequestInfo, event: AuditEvent) -> AuditEvent:
    """``event`` with the address, user agent and trace id of the request ``info`` describes."""
    event.source_ip, event.user_agent, event.trace_id = info.ip, info.user_agent, info.trace_id
    return event


async def record(
    state: BrokerState,
    info: RequestInfo,
    *,
    actor: str,
    action: str,
    result: str,
    resource: str | Sensitive | None = None,
    reason: str | None = None,
    details: Mapping[str, Any] | None = None,
    session: AsyncSession | None = None,
) -> None:
    """Append one audit row, in ``session`` when given (same transaction as the action)."""
    event = from_request(
        info,
        AuditEvent(
            actor=actor, action=action, result=result, resource=resource, reason=reason, details=dict(details or {})
        ),
    )
    if state.unsealed is None:  # no chain key: kept, and written as a keyed row at unseal
        state.pending_audit.add(event)
        return
    audit = state.unsealed.audit
    try:
        if session is not None:
            await audit.append(session, event)
        else:
            async with state.db.transaction() as s:
                await audit.append(s, event)
    except AuditError as exc:
        log.error("audit write failed; refusing the request", action=action, cause=repr(exc.__cause__))
        raise Unavailable("audit_unavailable", "the audit log cannot be written; request refused") from exc


async def deny(
    state: BrokerState,
    info: RequestInfo,
    error: BrokerError,
    *,
    actor: str,
    action: str,
    resource: str | Sensitive | None = None,
    details: Mapping[str, Any] | None = None,
    reason: str | None = None,
) -> NoReturn:
    """Record the refusal (``reason``, else the error's code) and raise it. A 429 is recorded in
    aggregate (storage.flood_trace): a flood is not one row per request."""
    if isinstance(error, TooManyRequests) and state.flood is not None:
        context = FloodContext(info, actor, action, reason or error.code, dict(details or {}))
        await state.flood.note(action, info.ip, context)
        error.audited = True
        raise error
    await record(
        state,
        info,
        actor=actor,
        action=action,
        result="deny",
        resource=resource,
        reason=reason or error.code,
        details=details,
    )
    error.audited = True
    raise error


def _charged(state: BrokerState, info: RequestInfo, error: BrokerError) -> BrokerError:
    """A credential that failed counts against its address: past the budget, the answer is 429."""
    wait = state.ip_limiter.check(info.ip)
    return TooManyRequests("rate_limited", "too many requests", retry_after=wait) if wait else error


def limit_ip(state: BrokerState, info: RequestInfo) -> None:
    wait = state.ip_limiter.check(info.ip)
    if wait:
        raise TooManyRequests("rate_limited", "too many requests", retry_after=wait)


async def require_admin(state: BrokerState, info: RequestInfo, presented: str | None, action: str) -> None:
    if presented is not None and hmac.compare_digest(
        presented.encode("utf-8"), state.config.admin_token.encode("utf-8")
    ):
        return
    wait = state.fail_limiter.check(info.ip)
    error: BrokerError = (
        TooManyRequests("rate_limited", "too many failed attempts", retry_after=wait)
        if wait
        else Unauthorized("admin_auth_failed", "admin authentication required")
    )
    details = {"presented": Sensitive(presented)} if presented else {}
    await deny(state, info, error, actor="anonymous", action=action, details=details)


def bearer(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def token_is_active(session: AsyncSession, claims: Mapping[str, Any], now: int) -> str | None:
    """None if the token is live in the broker's records; otherwise the reason it is not."""
    row = await session.get(IssuedTokenRow, str(claims.get("jti")))
    if row is None:
        return "unknown_token"
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at.timestamp() <= now:
        return "expired"
    parent = row.parent_jti
    while parent is not None:
        p = await session.get(IssuedTokenRow, parent)
        if p is None or p.revoked_at is not None:
            return "parent_revoked"
        parent = p.parent_jti
    key = await session.get(ApiKeyRow, row.key_id)
    if key is None or key.revoked_at is not None:
        return "key_revoked"
    principal = await session.scalar(select(PrincipalRow).where(PrincipalRow.id == row.principal_id))
    if principal is None or principal.disabled:
        return "principal_disabled"
    # The ceiling is absolute: narrowing it also stops honouring live tokens that now exceed it.
    if check_ceiling(row.scope.split(), loads_list(principal.max_scopes)) or check_ceiling(
        [row.resource], loads_list(principal.max_resources)
    ):
        return "exceeds_ceiling"
    return None


async def require_token(
    state: BrokerState,
    info: RequestInfo,
    header: str | None,
    *,
    scopes: list[str],
    action: str,
    resource: str | None = None,
) -> dict[str, Any]:
    """Verify a broker-audience bearer token, check it is live and carries ``scopes``."""
    token = bearer(header)
    if token is None:
        await deny(
            state,
            info,
            _charged(state, info, Unauthorized("missing_token", "bearer token required")),
            actor="anonymous",
            action=action,
        )
    try:
        claims = state.verify_own_token(token)
    except VerificationError as exc:
        await deny(
            state,
            info,
            _charged(state, info, Unauthorized(f"token_{exc.code}", "invalid token")),
            actor="anonymous",
            action=action,
            resource=resource,
        )
    actor = f"principal:{claims['sub']}"
    wait = state.key_limiter.check(str(claims["client_id"]))
    if wait:
        await deny(
            state,
            info,
            TooManyRequests("rate_limited", "too many requests", retry_after=wait),
            actor=actor,
            action=action,
            resource=resource,
            details={"key_id": claims["client_id"]},
        )
    async with state.db.transaction() as s:
        reason = await token_is_active(s, claims, state.now())
    if reason is not None:
        await deny(
            state,
            info,
            Unauthorized(f"token_{reason}", "invalid token"),
            actor=actor,
            action=action,
            resource=resource,
            details={"jti": claims["jti"]},
        )
    try:
        require_scopes(claims, scopes)
    except VerificationError:
        await deny(
            state,
            info,
            Forbidden("insufficient_scope", "token lacks a required scope"),
            actor=actor,
            action=action,
            resource=resource,
            details={"jti": claims["jti"], "required": scopes},
        )
    return claims


def loads_list(raw: str | None) -> list[str] | None:
    return None if raw is None else list(json.loads(raw))


def dumps_list(items: list[str] | None) -> str | None:
    return None if items is None else json.dumps(sorted(items))
