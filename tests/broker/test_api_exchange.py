"""Matrix 7: RFC 8693 token exchange: narrowing, exp cap, act chain, depth, cascading revocation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.broker.conftest import Broker
from tests.broker.test_api_support import (
    add_secret,
    assert_denied,
    details,
    exchange,
    introspect,
    read_secret,
    token_for,
    unverified,
    verify,
)

pytestmark = pytest.mark.anyio
EXCHANGE = "token.exchange"
BOTH = "secrets.read tokens.exchange"


async def _parent(broker: Broker, *, ttl: int = 600, scopes: list[str] | None = None) -> str:
    await add_secret(broker, "db-pass", "exchange-canary-91", resource="host:server1")
    key = (await broker.create_key("svc"))["api_key"]
    return await token_for(broker, key, scopes=scopes or BOTH.split(), ttl_seconds=ttl)


async def _child(broker: Broker, subject: str, **fields: str) -> tuple[str, dict[str, Any]]:
    r = await exchange(broker, subject, **fields)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert r.headers["Cache-Control"] == "no-store"
    return body["access_token"], await verify(broker, body["access_token"], fields.get("audience", "aegis"))


async def test_exchange_derives_a_narrower_token(broker: Broker) -> None:
    parent = await _parent(broker)
    pclaims = await verify(broker, parent)
    child, claims = await _child(broker, parent, scope="secrets.read", actor="agent:job-1")
    assert claims["scope"] == "secrets.read"
    # act names the authenticated caller (the subject's holder), never the name it supplied.
    assert claims["act"] == {"sub": pclaims["sub"]}
    row = (await broker.audit(action=EXCHANGE))[0]
    assert details(row)["label"] == "agent:job-1"
    assert (claims["sub"], claims["client_id"], claims["txn"]) == (pclaims["sub"], pclaims["client_id"], pclaims["txn"])
    assert claims["jti"] != pclaims["jti"]
    assert (await read_secret(broker, "db-pass", child)).json()["value"] == "exchange-canary-91"
    rows = await broker.audit(action=EXCHANGE)
    assert rows[0]["result"] == "allow" and details(rows[0])["parent_jti"] == pclaims["jti"]


async def test_the_parent_needs_the_exchange_scope(broker: Broker) -> None:
    parent = await _parent(broker, scopes=["secrets.read"])
    r = await exchange(broker, parent)
    await assert_denied(broker, r, 403, "exchange_not_allowed", EXCHANGE)


async def test_scopes_only_narrow(broker: Broker) -> None:
    parent = await _parent(broker)
    r = await exchange(broker, parent, scope="secrets.read repo.read")
    row = await assert_denied(broker, r, 403, "scope_not_narrowing", EXCHANGE)
    assert details(row)["scopes"] == ["repo.read", "secrets.read"]


async def test_the_resource_cannot_be_retargeted(broker: Broker) -> None:
    parent = await _parent(broker)
    r = await exchange(broker, parent, resource="host:server2")
    await assert_denied(broker, r, 403, "resource_not_narrowing", EXCHANGE)
    r = await exchange(broker, parent, resource="secret:db-pass")
    await assert_denied(broker, r, 403, "resource_not_narrowing", EXCHANGE)


async def test_a_child_never_outlives_its_parent(broker: Broker) -> None:
    parent = await _parent(broker, ttl=600)
    parent_exp = (await verify(broker, parent))["exp"]
    broker.clock.advance(100)
    _, asked_longer = await _child(broker, parent, ttl_seconds="1800")
    assert asked_longer["exp"] == parent_exp
    _, default = await _child(broker, parent)
    assert default["exp"] == parent_exp
    _, shorter = await _child(broker, parent, ttl_seconds="60")
    assert shorter["exp"] == int(broker.clock()) + 60 < parent_exp
    for ttl in ("0", "1801", "-5"):
        await assert_denied(broker, await exchange(broker, parent, ttl_seconds=ttl), 400, "ttl_out_of_range", EXCHANGE)


async def test_act_chain_nests_and_depth_is_capped(broker: Broker) -> None:
    parent = await _parent(broker)
    child, c1 = await _child(broker, parent, scope=BOTH, actor="agent:planner")
    grandchild, c2 = await _child(broker, child, scope=BOTH, actor="agent:worker")
    me = c1["sub"]
    assert c1["act"] == {"sub": me}
    assert c2["act"] == {"sub": me, "act": {"sub": me}}
    r = await exchange(broker, grandchild, scope="secrets.read", actor="agent:third")
    await assert_denied(broker, r, 400, "chain_too_deep", EXCHANGE)
    await assert_denied(broker, await exchange(broker, child, actor="not an actor"), 400, "invalid_request", EXCHANGE)


async def test_revoking_the_parent_kills_the_whole_tree(broker: Broker) -> None:
    parent = await _parent(broker)
    child, _ = await _child(broker, parent, scope=BOTH, actor="agent:a")
    grandchild, _ = await _child(broker, child, scope="secrets.read", actor="agent:b")
    sibling, _ = await _child(broker, parent, scope="secrets.read")
    assert (await read_secret(broker, "db-pass", grandchild)).status_code == 200
    # Revoking a child leaves its parent alive.
    r = await broker.http.post("/v1/revoke/token", json={"jti": unverified(sibling)[1]["jti"]}, headers=broker.admin)
    assert r.json()["revoked"] == 1
    assert (await introspect(broker, parent))["active"] is True
    r = await broker.http.post("/v1/revoke/token", json={"jti": unverified(parent)[1]["jti"]}, headers=broker.admin)
    assert r.status_code == 200 and r.json()["revoked"] == 3
    for token in (parent, child, grandchild, sibling):
        assert await introspect(broker, token) == {"active": False}
        await assert_denied(broker, await read_secret(broker, "db-pass", token), 401, "token_revoked", "secret.read")
    await assert_denied(broker, await exchange(broker, child), 401, "subject_revoked", EXCHANGE)


async def test_a_disabled_principal_cannot_exchange(broker: Broker) -> None:
    parent = await _parent(broker)
    assert (await broker.http.post("/v1/principals/svc/disable", headers=broker.admin)).status_code == 200
    await assert_denied(broker, await exchange(broker, parent), 401, "subject_principal_disabled", EXCHANGE)


@pytest.mark.parametrize(
    "field",
    [
        {"grant_type": "client_credentials"},
        {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"},
        {"subject_token_type": "urn:ietf:params:oauth:token-type:id_token"},
    ],
)
async def test_wrong_grant_or_token_type(broker: Broker, field: dict[str, str]) -> None:
    parent = await _parent(broker)
    r = await exchange(broker, parent, **field)
    await assert_denied(broker, r, 400, "unsupported_grant_type", EXCHANGE)


async def test_missing_form_fields(broker: Broker) -> None:
    parent = await _parent(broker)
    r = await broker.http.post("/v1/token/exchange", data={"subject_token": parent})
    row = await assert_denied(broker, r, 400, "invalid_request", EXCHANGE)
    assert row["actor"] == "anonymous"
    r = await broker.http.post("/v1/token/exchange", json={"subject_token": parent})
    await assert_denied(broker, r, 400, "invalid_request", EXCHANGE)


async def test_exchange_targets_only_audiences_the_principal_may_act_for(broker: Broker) -> None:
    """RFC 8693: by default a token is exchanged for its own audience only; another audience must be
    one the subject token's principal may act for, whatever the caller asks."""
    parent = await _parent(broker)
    _, own = await _child(broker, parent, scope="secrets.read")
    assert own["aud"] == "aegis"
    r = await exchange(broker, parent, audience="billing")
    row = await assert_denied(broker, r, 403, "audience_not_allowed", EXCHANGE)
    assert details(row)["aud"] == "billing"
    policy = {"max_scopes": None, "max_resources": None, "may_act_for": ["mcp-gmail"]}
    r = await broker.http.put("/v1/principals/svc/policy", headers=broker.admin, json=policy)
    assert r.status_code == 200 and r.json()["may_act_for"] == ["mcp-gmail"]
    r = await exchange(broker, parent, audience="billing")
    await assert_denied(broker, r, 403, "audience_not_allowed", EXCHANGE)
    _, claims = await _child(broker, parent, audience="mcp-gmail")
    assert claims["aud"] == "mcp-gmail"
    # Leaving may_act_for out of a policy update keeps it; a bad audience is refused.
    r = await broker.http.put("/v1/principals/svc/policy", headers=broker.admin, json=policy | {"may_act_for": None})
    assert r.json()["may_act_for"] == ["mcp-gmail"]
    r = await broker.http.put("/v1/principals/svc/policy", headers=broker.admin, json=policy | {"may_act_for": ["*"]})
    assert r.status_code == 400


async def test_a_child_for_another_audience_is_not_accepted_by_the_broker(broker: Broker) -> None:
    parent = await _parent(broker)
    policy = {"max_scopes": None, "max_resources": None, "may_act_for": ["billing"]}
    assert (await broker.http.put("/v1/principals/svc/policy", headers=broker.admin, json=policy)).status_code == 200
    child, claims = await _child(broker, parent, audience="billing")
    assert claims["aud"] == "billing"
    await assert_denied(broker, await read_secret(broker, "db-pass", child), 401, "token_bad_audience", "secret.read")


async def test_an_actor_token_of_another_principal_needs_may_act(broker: Broker) -> None:
    parent = await _parent(broker)
    other = (await broker.create_key("other"))["api_key"]
    actor_token = await token_for(broker, other, scopes=["secrets.read"])
    fields = {"actor_token": actor_token, "actor_token_type": "urn:ietf:params:oauth:token-type:access_token"}
    r = await exchange(broker, parent, **fields)
    row = await assert_denied(broker, r, 403, "actor_not_allowed", EXCHANGE)
    assert details(row)["actor"] == (await verify(broker, actor_token))["sub"]
    # The subject's own principal may present itself as the actor.
    own = await token_for(broker, (await broker.create_key("svc"))["api_key"], scopes=["secrets.read"])
    _, claims = await _child(broker, parent, **{**fields, "actor_token": own})
    assert claims["act"] == {"sub": (await verify(broker, own))["sub"]}
    r = await exchange(broker, parent, actor_token=own)
    await assert_denied(broker, r, 400, "invalid_request", EXCHANGE)
