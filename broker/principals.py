"""Principals and their API keys (admin operations)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from broker.apikeys import generate_api_key, hash_api_key
from broker.errors import BadRequest, Conflict, Forbidden, NotFound
from broker.guard import ADMIN, RequestInfo, deny, dumps_list, loads_list, record
from broker.scopes import ScopeError, check_ceiling, validate_audience, validate_resource, validate_scopes
from broker.state import BrokerState
from storage.models import ApiKeyRow, PrincipalRow


@dataclass(frozen=True)
class KeyRequest:
    principal: str
    description: str | None = None
    max_scopes: list[str] | None = None
    max_resources: list[str] | None = None
    scopes: list[str] | None = None
    resources: list[str] | None = None
    expires_in_days: int = 90


def _clean(scopes: list[str] | None, resources: list[str] | None) -> tuple[list[str] | None, list[str] | None]:
    """Validate a ceiling; ``None`` is unconstrained and ``[]`` denies everything."""
    try:
        s = None if scopes is None else (validate_scopes(scopes) if scopes else [])
        r = None if resources is None else sorted({validate_resource(x) for x in resources})
    except ScopeError as exc:
        raise BadRequest("invalid_request", str(exc)) from None
    return s, r


def principal_view(p: PrincipalRow) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "max_scopes": loads_list(p.max_scopes),
        "max_resources": loads_list(p.max_resources),
        "may_act_for": loads_list(p.may_act_for) or [],
        "disabled": p.disabled,
        "created_at": p.created_at.isoformat(),
    }


def key_view(k: ApiKeyRow) -> dict[str, Any]:
    """Key metadata only: the key and its hash never leave the broker."""
    return {
        "key_id": k.key_id,
        "scopes": loads_list(k.allowed_scopes),
        "resources": loads_list(k.allowed_resources),
        "expires_at": k.expires_at.isoformat() if k.expires_at else None,
        "revoked": k.revoked_at is not None,
        "locked": k.locked_until is not None,
        "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
        "created_at": k.created_at.isoformat(),
    }


async def create_key(state: BrokerState, info: RequestInfo, req: KeyRequest) -> dict[str, Any]:
    """Create the principal if needed, then a key within its ceiling. The key is returned once."""
    action = "key.create"
    if not 1 <= req.expires_in_days <= state.config.key_max_days:
        await deny(
            state,
            info,
            BadRequest("invalid_expiry", f"expires_in_days must be 1-{state.config.key_max_days}"),
            actor=ADMIN,
            action=action,
        )
    try:
        if not req.scopes:
            # Deny by default: a key names what it may mint; a key that names nothing grants nothing.
            raise BadRequest("scopes_required", "a key must name the scopes it may mint")
        max_scopes, max_resources = _clean(req.max_scopes, req.max_resources)
        scopes, resources = _clean(req.scopes, req.resources)
    except BadRequest as exc:
        await deny(state, info, exc, actor=ADMIN, action=action)
    full_key, key_id = generate_api_key()
    async with state.db.transaction() as s:
        principal = await s.scalar(select(PrincipalRow).where(PrincipalRow.name == req.principal))
        if principal is None:
            principal = PrincipalRow(
                id=str(uuid.uuid4()),
                name=req.principal,
                description=req.description,
                max_scopes=dumps_list(max_scopes),
                max_resources=dumps_list(max_resources),
                disabled=False,
                created_at=state.now_dt(),
            )
            s.add(principal)
            await s.flush()
        elif principal.disabled:
            raise Conflict("principal_disabled", "that principal is disabled")
        ceiling_s, ceiling_r = loads_list(principal.max_scopes), loads_list(principal.max_resources)
        if check_ceiling(scopes or [], ceiling_s):
            raise Forbidden("scope_exceeds_principal_ceiling", "key scopes exceed the principal's ceiling")
        if check_ceiling(resources or [], ceiling_r):
            raise Forbidden("resource_exceeds_principal_ceiling", "key resources exceed the principal's ceiling")
        expires = state.now_dt() + timedelta(days=req.expires_in_days)
        s.add(
            ApiKeyRow(
                key_id=key_id,
                principal_id=principal.id,
                key_hash=hash_api_key(state.keys().pepper, full_key),
                allowed_scopes=dumps_list(scopes),
                allowed_resources=dumps_list(resources),
                expires_at=expires,
                failed_attempts=0,
                created_at=state.now_dt(),
            )
        )
        await record(
            state,
            info,
            actor=ADMIN,
            action=action,
            result="allow",
            resource=f"principal:{req.principal}",
            session=s,
            details={"key_id": key_id, "scopes": scopes, "resources": resources},
        )
        out = principal_view(principal)
    return {"principal": out, "key_id": key_id, "api_key": full_key, "expires_at": expires.isoformat()}


async def list_principals(state: BrokerState, info: RequestInfo) -> list[dict[str, Any]]:
    async with state.db.transaction() as s:
        rows = (await s.scalars(select(PrincipalRow).order_by(PrincipalRow.name))).all()
        await record(state, info, actor=ADMIN, action="principal.list", result="allow", session=s)
    return [principal_view(p) for p in rows]


async def _get(s: Any, ident: str) -> PrincipalRow:
    p = await s.get(PrincipalRow, ident) or await s.scalar(select(PrincipalRow).where(PrincipalRow.name == ident))
    if p is None:
        raise NotFound("unknown_principal", "no such principal")
    assert isinstance(p, PrincipalRow)
    return p


async def principal_detail(state: BrokerState, info: RequestInfo, ident: str) -> dict[str, Any]:
    async with state.db.transaction() as s:
        p = await _get(s, ident)
        keys = (await s.scalars(select(ApiKeyRow).where(ApiKeyRow.principal_id == p.id))).all()
        await record(
            state,
            info,
            actor=ADMIN,
            action="principal.read",
            result="allow",
            resource=f"principal:{p.name}",
            session=s,
        )
        return {**principal_view(p), "keys": [key_view(k) for k in keys]}


async def set_policy(
    state: BrokerState,
    info: RequestInfo,
    ident: str,
    max_scopes: list[str] | None,
    max_resources: list[str] | None,
    may_act_for: list[str] | None = None,
) -> dict[str, Any]:
    """Replace the ceilings; ``may_act_for`` (the audiences its tokens may be exchanged for) is
    replaced when given and left as it is when ``None``."""
    try:
        scopes, resources = _clean(max_scopes, max_resources)
        audiences = None if may_act_for is None else sorted({validate_audience(a) for a in may_act_for})
    except ScopeError as exc:
        await deny(state, info, BadRequest("invalid_request", str(exc)), actor=ADMIN, action="principal.policy")
    except BadRequest as exc:
        await deny(state, info, exc, actor=ADMIN, action="principal.policy")
    async with state.db.transaction() as s:
        p = await _get(s, ident)
        before = {"max_scopes": loads_list(p.max_scopes), "max_resources": loads_list(p.max_resources)}
        after: dict[str, Any] = {"max_scopes": scopes, "max_resources": resources}
        if audiences is not None:
            before["may_act_for"], after["may_act_for"] = loads_list(p.may_act_for) or [], audiences
            p.may_act_for = dumps_list(audiences)
        p.max_scopes, p.max_resources = dumps_list(scopes), dumps_list(resources)
        await record(
            state,
            info,
            actor=ADMIN,
            action="principal.policy",
            result="allow",
            resource=f"principal:{p.name}",
            session=s,
            details={"before": before, "after": after},
        )
        return principal_view(p)


async def disable(state: BrokerState, info: RequestInfo, ident: str) -> dict[str, Any]:
    async with state.db.transaction() as s:
        p = await _get(s, ident)
        p.disabled, p.disabled_at = True, p.disabled_at or state.now_dt()
        await record(
            state,
            info,
            actor=ADMIN,
            action="principal.disable",
            result="allow",
            resource=f"principal:{p.name}",
            session=s,
        )
        return principal_view(p)


async def ceiling_resources(state: BrokerState, principal_id: str) -> list[str] | None:
    """The principal's resource ceiling (None: unconstrained)."""
    async with state.db.transaction() as s:
        p = await s.get(PrincipalRow, principal_id)
    return [] if p is None else loads_list(p.max_resources)


async def name_and_id(state: BrokerState, ident: str) -> set[str]:
    """The name and the id of the principal ``ident`` names (either); just ``ident`` if none does."""
    async with state.db.transaction() as s:
        row = await s.scalar(select(PrincipalRow).where((PrincipalRow.name == ident) | (PrincipalRow.id == ident)))
    return {ident} if row is None else {row.name, row.id}
