"""Data-key grants: a process receives only the keys of the domains its principal may read.

``GET /v1/datakeys/{domain}`` needs a token with scope ``datakeys.read`` bound to resource
``domain:<domain>``. The master key never leaves the broker; a grant is audited like any secret read.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from broker.errors import Forbidden, NotFound
from broker.guard import deny, record, require_token
from broker.routes import CtxDep
from storage.crypto.keyring import DOMAINS

router = APIRouter(prefix="/v1")
SCOPE = "datakeys.read"


@router.get("/datakeys/{domain}")
async def grant(domain: str, ctx: CtxDep, authorization: Annotated[str | None, Header()] = None) -> JSONResponse:
    ctx.act("datakeys.read")
    claims = await require_token(
        ctx.state, ctx.info, authorization, scopes=[SCOPE], action="datakeys.read", resource=f"domain:{domain}"
    )
    actor = f"principal:{claims['sub']}"
    if domain not in DOMAINS:
        await deny(
            ctx.state,
            ctx.info,
            NotFound("unknown_domain", "no such key domain"),
            actor=actor,
            action="datakeys.read",
            details={"jti": claims["jti"]},
        )
    if claims.get("resource") != f"domain:{domain}":
        await deny(
            ctx.state,
            ctx.info,
            Forbidden("resource_mismatch", "the token is not bound to this domain"),
            actor=actor,
            action="datakeys.read",
            resource=f"domain:{domain}",
            details={"jti": claims["jti"]},
        )
    keys = ctx.state.keys().keyring.export({domain})
    await record(
        ctx.state,
        ctx.info,
        actor=actor,
        action="datakeys.read",
        result="allow",
        resource=f"domain:{domain}",
        details={"jti": claims["jti"], "kids": [k.kid for k in keys]},
    )
    body: dict[str, Any] = {
        "domain": domain,
        "keys": [
            {"kid": k.kid, "state": k.state, "material": base64.b64encode(k.material).decode("ascii")} for k in keys
        ],
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
