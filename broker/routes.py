"""The broker's /v1 API. Each route authenticates, then calls one operation module."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from broker import admin, exchange, lifecycle, mint_fast, minting, principals, vault
from broker.errors import BadRequest
from broker.guard import RequestInfo, bearer, limit_ip, require_admin, require_token
from broker.state import BrokerState
from storage import audit as audit_log

router = APIRouter(prefix="/v1")
INTROSPECT_SCOPE = "tokens.introspect"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 - a URN, not a secret
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 - a URN


ACTIONS = {
    "create_key": "key.create",
    "token": "token.mint",
    "token_exchange": "token.exchange",
    "introspect": "token.introspect",
    "revoke_token": "token.revoke",
    "revoke_key": "key.revoke",
    "secret_create": "secret.create",
    "secret_list": "secret.list",
    "secret_read": "secret.read",
    "secret_rotate": "secret.rotate",
    "secret_delete": "secret.delete",
    "secret_versions": "secret.versions",
    "principal_list": "principal.list",
    "principal_detail": "principal.read",
    "principal_policy": "principal.policy",
    "principal_disable": "principal.disable",
    "audit": "audit.query",
    "rotate_signing": "signing_key.rotate",
    "revoke_signing": "signing_key.revoke",
    "rotate_master": "master_key.rotate",
    "rotate_data_key": "data_key.rotate",
    "rotation": "data_key.status",
    "seal": "broker.seal",
    "grant": "datakeys.read",
}


MAX_ID = 2**63 - 1  # the largest id the database stores; larger ones are refused, not passed on


class Strict(BaseModel):
    """Request bodies: unknown members refused, and no coercion ("900", 900.0 and true are not 900)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Ctx:
    def __init__(self, request: Request) -> None:
        from broker.app import request_info

        self.request = request
        self.state: BrokerState = request.app.state.broker
        self.info: RequestInfo = request_info(request)
        # The audit action is known before the body is validated or the rate limit applies, so that
        # those refusals are recorded under the same action as the request's other outcomes.
        route = getattr(request.scope.get("route"), "name", "")
        self.act(ACTIONS.get(route, request.url.path[:64]))
        # A request that presents a key or token is limited by that credential's own budget (per key),
        # so one key's flood does not throttle the other keys behind the same address. A failed
        # credential is charged to the address (guard.require_token, minting._fail).
        if request.headers.get("authorization") is None:
            limit_ip(self.state, self.info)

    def act(self, action: str, actor: str = "anonymous") -> None:
        self.request.state.action, self.request.state.actor = action, actor

    async def admin(self, action: str, token: str | None) -> None:
        self.act(action)
        await require_admin(self.state, self.info, token, action)
        self.act(action, "admin")

    async def admin_or_token(
        self, action: str, admin_token: str | None, authorization: str | None, scope: str
    ) -> dict[str, Any] | None:
        """The admin (returns None), or a bearer token holding ``scope`` (returns its claims)."""
        if admin_token is not None or authorization is None:
            await self.admin(action, admin_token)
            return None
        claims = await require_token(self.state, self.info, authorization, scopes=[scope], action=action)
        self.act(action, f"principal:{claims['sub']}")
        return claims

    def writer(self, claims: dict[str, Any] | None) -> vault.Writer:
        if claims is None:
            return vault.ADMIN_WRITER
        return vault.Writer(actor=f"principal:{claims['sub']}", bound=str(claims["resource"]))


async def request_ctx(request: Request) -> Ctx:
    """The request's context, built on the event loop (a plain class dependency would cost a
    worker-thread hop per request)."""
    return Ctx(request)


CtxDep = Annotated[Ctx, Depends(request_ctx)]
AdminToken = Annotated[str | None, Header(alias="X-Admin-Token")]
Authorization = Annotated[str | None, Header()]


class KeyCreate(Strict):
    principal: str = Field(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")
    description: str | None = Field(default=None, max_length=256)
    max_scopes: list[str] | None = None
    max_resources: list[str] | None = None
    scopes: list[str] | None = None
    resources: list[str] | None = None
    expires_in_days: int = 90


@router.post("/keys", status_code=201)
async def create_key(body: KeyCreate, ctx: CtxDep, x_admin_token: AdminToken = None) -> dict[str, Any]:
    await ctx.admin("key.create", x_admin_token)
    return await principals.create_key(ctx.state, ctx.info, principals.KeyRequest(**body.model_dump()))


class TokenRequest(Strict):
    aud: str
    scopes: list[str]
    resource: str
    ttl_seconds: int


def _token_response(m: minting.Minted, **extra: Any) -> dict[str, Any]:
    return {
        "access_token": m.token,
        "token_type": "Bearer",
        "expires_in": m.claims["exp"] - m.claims["iat"],
        "scope": m.claims["scope"],
        "jti": m.claims["jti"],
        **extra,
    }


@router.post("/token")
async def token(body: TokenRequest, ctx: CtxDep, authorization: Authorization = None) -> JSONResponse:
    ctx.act(minting.MINT)
    req = minting.MintRequest(body.aud, body.scopes, body.resource, body.ttl_seconds)
    minted = await mint_fast.mint_any(ctx.state, ctx.info, bearer(authorization), req)
    return JSONResponse(_token_response(minted), headers={"Cache-Control": "no-store"})


@router.post("/token/exchange")
async def token_exchange(
    ctx: CtxDep,
    grant_type: Annotated[str, Form()],
    subject_token: Annotated[str, Form()],
    subject_token_type: Annotated[str, Form()],
    audience: Annotated[str, Form()],
    resource: Annotated[str, Form()],
    scope: Annotated[str, Form()],
    ttl_seconds: Annotated[str | None, Form(pattern=r"^-?[0-9]{1,6}$")] = None,
    actor: Annotated[str | None, Form(max_length=128)] = None,
    actor_token: Annotated[str | None, Form(max_length=16384)] = None,
    actor_token_type: Annotated[str | None, Form()] = None,
) -> JSONResponse:
    ctx.act(minting.EXCHANGE)
    if grant_type != TOKEN_EXCHANGE or subject_token_type != ACCESS_TOKEN_TYPE:
        raise BadRequest("unsupported_grant_type", "expected an RFC 8693 token exchange of an access token")
    if (actor_token is None) != (actor_token_type is None) or actor_token_type not in (None, ACCESS_TOKEN_TYPE):
        raise BadRequest("invalid_request", "actor_token and actor_token_type go together (an access token)")
    minted = await exchange.exchange(
        ctx.state,
        ctx.info,
        subject_token=subject_token,
        audience=audience,
        scopes=scope.split(),
        resource=resource,
        ttl_seconds=None if ttl_seconds is None else int(ttl_seconds),
        label=actor,
        actor_token=actor_token,
    )
    return JSONResponse(
        _token_response(minted, issued_token_type=ACCESS_TOKEN_TYPE), headers={"Cache-Control": "no-store"}
    )


class IntrospectRequest(Strict):
    token: str = Field(max_length=16384)


@router.post("/introspect")
async def introspect(
    body: IntrospectRequest,
    ctx: CtxDep,
    x_admin_token: AdminToken = None,
    authorization: Authorization = None,
) -> dict[str, Any]:
    """RFC 7662. The caller authenticates: the admin token, or a token with ``tokens.introspect``."""
    viewer: str | None = None
    if x_admin_token is not None or authorization is None:
        await ctx.admin("token.introspect", x_admin_token)
        caller = "admin"
    else:
        ctx.act("token.introspect")
        claims = await require_token(
            ctx.state, ctx.info, authorization, scopes=[INTROSPECT_SCOPE], action="token.introspect"
        )
        caller, viewer = f"principal:{claims['sub']}", str(claims["sub"])
    return await lifecycle.introspect(ctx.state, ctx.info, body.token, caller=caller, viewer=viewer)


class RevokeToken(Strict):
    jti: str = Field(max_length=64)
    reason: str = Field(default="admin", max_length=128)


class RevokeKey(Strict):
    key_id: str = Field(max_length=32)
    reason: str = Field(default="admin", max_length=128)


@router.post("/revoke/token")
async def revoke_token(body: RevokeToken, ctx: CtxDep, x_admin_token: AdminToken = None) -> dict[str, Any]:
    await ctx.admin("token.revoke", x_admin_token)
    return {"revoked": await lifecycle.revoke_token(ctx.state, ctx.info, body.jti, body.reason)}


@router.post("/revoke/key")
async def revoke_key(body: RevokeKey, ctx: CtxDep, x_admin_token: AdminToken = None) -> dict[str, Any]:
    await ctx.admin("key.revoke", x_admin_token)
    return {
        "revoked": True,
        "tokens_revoked": await lifecycle.revoke_key(ctx.state, ctx.info, body.key_id, body.reason),
    }


class SecretCreate(Strict):
    name: str = Field(max_length=128)
    value: str
    type: str = "password"
    resource: str | None = None


class SecretRotate(Strict):
    value: str


@router.post("/secrets", status_code=201)
async def secret_create(
    body: SecretCreate, ctx: CtxDep, x_admin_token: AdminToken = None, authorization: Authorization = None
) -> dict[str, Any]:
    claims = await ctx.admin_or_token("secret.create", x_admin_token, authorization, vault.WRITE_SCOPE)
    return await vault.add(
        ctx.state,
        ctx.info,
        name=body.name,
        value=body.value,
        kind=body.type,
        resource=body.resource,
        writer=ctx.writer(claims),
    )


@router.get("/secrets")
async def secret_list(
    ctx: CtxDep, x_admin_token: AdminToken = None, authorization: Authorization = None, include_deleted: bool = False
) -> list[Any]:
    claims = await ctx.admin_or_token("secret.list", x_admin_token, authorization, vault.LIST_SCOPE)
    if claims is None:
        return await vault.list_meta(ctx.state, ctx.info, include_deleted=include_deleted)
    within = await principals.ceiling_resources(ctx.state, str(claims["sub"]))
    return await vault.list_meta(
        ctx.state, ctx.info, include_deleted=include_deleted, actor=f"principal:{claims['sub']}", within=within
    )


@router.get("/secrets/{name}")
async def secret_read(name: str, ctx: CtxDep, authorization: Authorization = None) -> JSONResponse:
    ctx.act("secret.read")
    body = await vault.read(ctx.state, ctx.info, authorization, name)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.put("/secrets/{name}")
async def secret_rotate(
    name: str, body: SecretRotate, ctx: CtxDep, x_admin_token: AdminToken = None, authorization: Authorization = None
) -> dict[str, Any]:
    claims = await ctx.admin_or_token("secret.rotate", x_admin_token, authorization, vault.WRITE_SCOPE)
    return await vault.rotate(ctx.state, ctx.info, name=name, value=body.value, writer=ctx.writer(claims))


@router.delete("/secrets/{name}")
async def secret_delete(
    name: str, ctx: CtxDep, x_admin_token: AdminToken = None, authorization: Authorization = None, purge: bool = False
) -> dict[str, Any]:
    action = "secret.purge" if purge else "secret.delete"
    claims = await ctx.admin_or_token(action, x_admin_token, authorization, vault.WRITE_SCOPE)
    return await vault.delete(ctx.state, ctx.info, name=name, purge=purge, writer=ctx.writer(claims))


@router.get("/secrets/{name}/versions")
async def secret_versions(name: str, ctx: CtxDep, x_admin_token: AdminToken = None) -> list[Any]:
    await ctx.admin("secret.versions", x_admin_token)
    return await vault.versions(ctx.state, ctx.info, name=name)


class Policy(Strict):
    max_scopes: list[str] | None
    max_resources: list[str] | None
    may_act_for: list[str] | None = Field(default=None, max_length=64)


@router.get("/principals")
async def principal_list(ctx: CtxDep, x_admin_token: AdminToken = None) -> list[Any]:
    await ctx.admin("principal.list", x_admin_token)
    return await principals.list_principals(ctx.state, ctx.info)


@router.get("/principals/{ident}")
async def principal_detail(ident: str, ctx: CtxDep, x_admin_token: AdminToken = None) -> dict[str, Any]:
    await ctx.admin("principal.read", x_admin_token)
    return await principals.principal_detail(ctx.state, ctx.info, ident)


@router.put("/principals/{ident}/policy")
async def principal_policy(ident: str, body: Policy, ctx: CtxDep, x_admin_token: AdminToken = None) -> dict[str, Any]:
    await ctx.admin("principal.policy", x_admin_token)
    return await principals.set_policy(
        ctx.state, ctx.info, ident, body.max_scopes, body.max_resources, body.may_act_for
    )


@router.post("/principals/{ident}/disable")
async def principal_disable(ident: str, ctx: CtxDep, x_admin_token: AdminToken = None) -> dict[str, Any]:
    await ctx.admin("principal.disable", x_admin_token)
    return await principals.disable(ctx.state, ctx.info, ident)


@router.get("/audit")
async def audit(
    ctx: CtxDep,
    x_admin_token: AdminToken = None,
    since: datetime | None = None,
    until: datetime | None = None,
    principal: str | None = None,
    action: str | None = None,
    result: str | None = None,
    trace_id: str | None = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    await ctx.admin("audit.query", x_admin_token)
    actors: list[str | None] = [principal]
    if principal is not None and ":" not in principal:
        # Rows name a principal by name (mints) or by id (token use): ask for both.
        actors = [*sorted({f"principal:{x}" for x in await principals.name_and_id(ctx.state, principal)})]
    async with ctx.state.db.transaction() as s:
        rows = []
        for actor in actors:
            rows += await audit_log.query(
                s,
                since=since,
                until=until,
                actor=actor,
                action=action,
                result=result,
                trace_id=trace_id,
                before_seq=before,
                limit=limit,
            )
    rows = sorted(rows, key=lambda r: r.seq, reverse=True)[:limit]
    items = [
        {
            "seq": r.seq,
            "ts": r.ts.isoformat(),
            "actor": r.actor,
            "action": r.action,
            "resource": r.resource,
            "source_ip": r.source_ip,
            "trace_id": r.trace_id,
            "result": r.result,
            "reason": r.reason,
            "details": r.details,
        }
        for r in rows
    ]
    return {"items": items, "next_before": rows[-1].seq if len(rows) == limit else None}


@router.post("/admin/signing-key/rotate")
async def rotate_signing(ctx: CtxDep, x_admin_token: AdminToken = None) -> dict[str, Any]:
    await ctx.admin("signing_key.rotate", x_admin_token)
    return await admin.rotate_signing_key(ctx.state, ctx.info)


class RevokeSigningKey(Strict):
    reason: str = Field(default="compromised", max_length=64, pattern=r"^[a-z0-9_.-]{1,64}$")


@router.post("/admin/signing-key/{kid}/revoke")
async def revoke_signing(
    kid: Annotated[str, Path(max_length=64)], body: RevokeSigningKey, ctx: CtxDep, x_admin_token: AdminToken = None
) -> dict[str, Any]:
    """Emergency revocation of a signing key, effective at once."""
    await ctx.admin("signing_key.revoke", x_admin_token)
    return await admin.revoke_signing_key(ctx.state, ctx.info, kid, body.reason)


@router.post("/admin/master-key/rotate")
async def rotate_master(ctx: CtxDep, x_admin_token: AdminToken = None) -> dict[str, Any]:
    await ctx.admin("master_key.rotate", x_admin_token)
    return await admin.rotate_master_key(ctx.state, ctx.info)


@router.post("/admin/data-keys/{domain}/rotate", status_code=202)
async def rotate_data_key(domain: str, ctx: CtxDep, x_admin_token: AdminToken = None) -> dict[str, Any]:
    await ctx.admin("data_key.rotate", x_admin_token)
    return await admin.start_data_key_rotation(ctx.state, ctx.info, domain)


@router.get("/admin/rotations/{rid}")
async def rotation(
    rid: Annotated[int, Path(ge=1, le=MAX_ID)], ctx: CtxDep, x_admin_token: AdminToken = None
) -> dict[str, Any]:
    await ctx.admin("data_key.status", x_admin_token)
    return await admin.rotation_status(ctx.state, rid)


@router.post("/admin/seal")
async def seal(ctx: CtxDep, x_admin_token: AdminToken = None) -> dict[str, Any]:
    await ctx.admin("broker.seal", x_admin_token)
    from broker.guard import record

    await record(ctx.state, ctx.info, actor="admin", action="broker.seal", result="allow")
    ctx.state.seal("sealed by the admin")
    return {"sealed": True}
