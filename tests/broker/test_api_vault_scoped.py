"""Secret writes and listing by a principal's token: limited to its own resource and ceiling."""

from __future__ import annotations

import json

import pytest

from broker.client import BrokerClient, BrokerClientError
from tests.broker.conftest import Broker

pytestmark = pytest.mark.anyio


async def _token(broker: Broker, scope: str, resource: str) -> str:
    key = await broker.create_key(
        f"svc-{scope.replace('.', '-')}-{resource.split(':')[1]}",
        max_scopes=["secrets.list", "secrets.write"],
        max_resources=["mcp:plaid", "mcp:gmail"],
    )
    r = await broker.mint(key["api_key"], scopes=[scope], resource=resource)
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


async def test_a_token_writes_only_secrets_bound_to_its_resource(broker: Broker) -> None:
    client = BrokerClient(broker.http)
    token = await _token(broker, "secrets.write", "mcp:plaid")
    made = await client.add_secret(
        "plaid-access-item1", "access-sandbox-canary-1", kind="api-token", resource="mcp:plaid", token=token
    )
    assert made["resource"] == "mcp:plaid" and "value" not in made
    rotated = await client.rotate_secret("plaid-access-item1", "access-sandbox-canary-2", token=token)
    assert rotated["version"] == 2
    for attempt in (
        client.add_secret("gmail-oauth", '{"access_token":"x"}', kind="oauth-token", resource="mcp:gmail", token=token),
        client.add_secret("unbound-one", "v", kind="password", resource=None, token=token),
    ):
        with pytest.raises(BrokerClientError) as refused:
            await attempt
        assert (refused.value.status, refused.value.code) == (403, "secret_not_writable")
    last = await broker.last_audit()
    assert (last["action"], last["result"], last["reason"]) == ("secret.create", "deny", "secret_not_writable")
    allowed = await broker.audit(action="secret.rotate", result="allow")
    assert allowed[0]["actor"].startswith("principal:")


async def test_foreign_and_missing_secrets_get_the_same_refusal(broker: Broker) -> None:
    await broker.http.post(
        "/v1/secrets",
        json={
            "name": "gmail-oauth",
            "value": '{"access_token":"a-canary"}',
            "type": "oauth-token",
            "resource": "mcp:gmail",
        },
        headers=broker.admin,
    )
    client = BrokerClient(broker.http)
    token = await _token(broker, "secrets.write", "mcp:plaid")
    answers = []
    for name in ("gmail-oauth", "no-such-secret"):
        with pytest.raises(BrokerClientError) as refused:
            await client.rotate_secret(name, "stolen", token=token)
        answers.append((refused.value.status, refused.value.code))
    assert answers == [(403, "secret_not_writable")] * 2
    with pytest.raises(BrokerClientError):
        await client.delete_secret("gmail-oauth", purge=True, token=token)
    listing = await BrokerClient(broker.http, admin_token=broker.admin_token).list_secrets()  # untouched
    assert [s["version"] for s in listing if s["name"] == "gmail-oauth"] == [1]


async def test_listing_by_token_shows_metadata_within_the_ceiling_only(broker: Broker) -> None:
    for name, res in (("gmail-oauth", "mcp:gmail"), ("plaid-secret", "mcp:plaid"), ("ssh-root", "host:server1")):
        await broker.http.post(
            "/v1/secrets", json={"name": name, "value": f"{name}-canary", "resource": res}, headers=broker.admin
        )
    token = await _token(broker, "secrets.list", "mcp:gmail")
    rows = await BrokerClient(broker.http).list_secrets(token=token)
    assert sorted(r["name"] for r in rows) == ["gmail-oauth", "plaid-secret"]
    assert "canary" not in json.dumps(rows)
