"""Matrix 9: the vault over HTTP: types, metadata-only listings, token-gated reads, rotation, deletion."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from tests.broker.conftest import Broker
from tests.broker.test_api_support import (
    add_secret,
    assert_clean,
    assert_denied,
    audit_dump,
    read_secret,
    sql,
    token_for,
)

pytestmark = pytest.mark.anyio
READ = "secret.read"


async def _reader(broker: Broker, resource: str = "host:server1") -> str:
    key = (await broker.create_key("reader"))["api_key"]
    return await token_for(broker, key, resource=resource)


def _pem_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return pem.decode()


def _openssh_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    return raw.decode()


@pytest.mark.parametrize("kind", ["password", "pem", "openssh", "api-token"])
async def test_add_and_read_each_type(broker: Broker, kind: str) -> None:
    value = {"password": "pw-canary-1", "pem": _pem_key(), "openssh": _openssh_key(), "api-token": "tok_abcdef123"}[
        kind
    ]
    stored = "ssh-private-key" if kind in ("pem", "openssh") else kind
    meta = await add_secret(broker, "s1", value, kind=stored, resource="host:server1")
    assert meta["type"] == stored and meta["version"] == 1 and "value" not in meta
    row = await broker.last_audit()
    assert (row["action"], row["result"], row["resource"]) == ("secret.create", "allow", "secret:s1")
    r = await read_secret(broker, "s1", await _reader(broker))
    assert r.status_code == 200, r.text
    assert r.json()["value"] == value and r.headers["Cache-Control"] == "no-store"
    assert value not in await audit_dump(broker)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("ssh-private-key", "-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n"),
        ("ssh-private-key", "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"),
        ("ssh-private-key", "just-a-password-canary"),
        ("api-token", "two words-canary"),
        ("oauth-token", "not json canary"),
        ("oauth-token", '{"refresh_token": "rt-only-canary"}'),
        ("password", ""),
        ("kerberos", "x-canary"),
    ],
)
async def test_invalid_values_are_rejected(broker: Broker, kind: str, value: str) -> None:
    body = {"name": "bad", "value": value, "type": kind}
    r = await broker.http.post("/v1/secrets", json=body, headers=broker.admin)
    row = await assert_denied(broker, r, 400, r.json().get("error", "?"), "secret.create")
    assert row["reason"] in ("invalid_value", "invalid_type") and row["actor"] == "admin"
    if value:
        assert value not in r.text and value not in await audit_dump(broker)
    listed = (await broker.http.get("/v1/secrets", headers=broker.admin)).json()
    assert listed == []


async def test_oauth_token_metadata_is_returned_but_never_the_tokens(broker: Broker) -> None:
    doc = {
        "access_token": "at-canary-5511",
        "refresh_token": "rt-canary-7722",
        "expires_at": 1_800_003_600,
        "refresh_expires_at": 1_802_000_000,
        "scope": "mail.read",
        "token_type": "Bearer",
        "token_uri": "https://oauth.example/token",
    }
    broker.secrets_seen += ["at-canary-5511", "rt-canary-7722"]
    meta = await add_secret(broker, "gmail", json.dumps(doc), kind="oauth-token", resource="host:server1")
    expected = {k: doc[k] for k in ("expires_at", "refresh_expires_at", "scope", "token_type", "token_uri")}
    assert meta["metadata"] == expected
    listing = await broker.http.get("/v1/secrets", headers=broker.admin)
    assert listing.json()[0]["metadata"] == expected
    assert_clean(broker, listing.text)
    r = await read_secret(broker, "gmail", await _reader(broker))
    assert json.loads(r.json()["value"]) == doc


async def test_list_and_versions_show_metadata_only(broker: Broker) -> None:
    await add_secret(broker, "a", "value-a-canary", resource="host:server1")
    await add_secret(broker, "b", "value-b-canary")
    broker.secrets_seen.append("value-a2-canary")
    r = await broker.http.put("/v1/secrets/a", json={"value": "value-a2-canary"}, headers=broker.admin)
    assert r.status_code == 200 and r.json()["version"] == 2
    listing = await broker.http.get("/v1/secrets", headers=broker.admin)
    assert [s["name"] for s in listing.json()] == ["a", "b"]
    assert all("value" not in s for s in listing.json())
    versions = await broker.http.get("/v1/secrets/a/versions", headers=broker.admin)
    assert [(v["version"], v["current"]) for v in versions.json()] == [(1, False), (2, True)]
    for text in (listing.text, versions.text, await audit_dump(broker)):
        assert_clean(broker, text)
    await assert_denied(broker, await broker.http.get("/v1/secrets"), 401, "admin_auth_failed", "secret.list")


async def test_read_needs_the_scope_and_the_resource(broker: Broker) -> None:
    await add_secret(broker, "bound", "bound-canary", resource="host:server1")
    await add_secret(broker, "unbound", "unbound-canary")
    key = (await broker.create_key("reader"))["api_key"]
    t_server1 = await token_for(broker, key, resource="host:server1")
    t_server2 = await token_for(broker, key, resource="host:server2")
    t_unbound = await token_for(broker, key, resource="secret:unbound")
    t_noscope = await token_for(broker, key, scopes=["repo.read"], resource="host:server1")
    assert (await read_secret(broker, "bound", t_server1)).json()["value"] == "bound-canary"
    assert (await read_secret(broker, "unbound", t_unbound)).json()["value"] == "unbound-canary"
    await assert_denied(broker, await read_secret(broker, "bound", t_server2), 403, "secret_not_readable", READ)
    await assert_denied(broker, await read_secret(broker, "bound", t_unbound), 403, "secret_not_readable", READ)
    await assert_denied(broker, await read_secret(broker, "unbound", t_server1), 403, "secret_not_readable", READ)
    await assert_denied(broker, await read_secret(broker, "bound", t_noscope), 403, "insufficient_scope", READ)
    await assert_denied(broker, await read_secret(broker, "missing", t_server1), 403, "secret_not_readable", READ)
    row = await broker.last_audit()
    assert (
        row["actor"]
        == "principal:" + (await broker.http.get("/v1/principals/reader", headers=broker.admin)).json()["id"]
    )


async def test_rotation_adds_a_version_and_reads_return_the_new_value(broker: Broker) -> None:
    await add_secret(broker, "db", "v1-canary", resource="host:server1")
    token = await _reader(broker)
    broker.secrets_seen.append("v2-canary")
    r = await broker.http.put("/v1/secrets/db", json={"value": "v2-canary"}, headers=broker.admin)
    assert r.status_code == 200 and r.json()["version"] == 2
    assert "v2-canary" not in r.text
    assert (await read_secret(broker, "db", token)).json() == {**r.json(), "value": "v2-canary"}
    rows = await sql(
        broker,
        "SELECT v.version FROM secret_versions v JOIN secrets s ON s.id = v.secret_id "
        "WHERE s.name = 'db' ORDER BY v.version",
    )
    assert [x[0] for x in rows] == [1, 2]
    bad = await broker.http.put("/v1/secrets/db", json={"value": ""}, headers=broker.admin)
    assert bad.status_code == 400
    assert (await read_secret(broker, "db", token)).json()["version"] == 2
    missing = await broker.http.put("/v1/secrets/nope", json={"value": "x-canary"}, headers=broker.admin)
    await assert_denied(broker, missing, 404, "unknown_secret", "secret.rotate")


async def test_soft_delete_then_purge(broker: Broker) -> None:
    await add_secret(broker, "gone", "gone-canary", resource="host:server1")
    broker.secrets_seen.append("gone2-canary")
    await broker.http.put("/v1/secrets/gone", json={"value": "gone2-canary"}, headers=broker.admin)
    token = await _reader(broker)
    r = await broker.http.delete("/v1/secrets/gone", headers=broker.admin)
    assert r.status_code == 200 and r.json()["deleted"] is True and r.json()["purged"] is False
    await assert_denied(broker, await read_secret(broker, "gone", token), 403, "secret_not_readable", READ)
    assert (await broker.http.get("/v1/secrets", headers=broker.admin)).json() == []
    deleted = (await broker.http.get("/v1/secrets", params={"include_deleted": True}, headers=broker.admin)).json()
    assert [(s["name"], s["deleted"]) for s in deleted] == [("gone", True)]
    re_add = await broker.http.post("/v1/secrets", json={"name": "gone", "value": "x-canary"}, headers=broker.admin)
    assert re_add.status_code == 409
    rows = await sql(broker, "SELECT wrapped_dek, value FROM secret_versions")
    assert len(rows) == 2 and all(w is not None and v is not None for w, v in rows)

    r = await broker.http.delete("/v1/secrets/gone", params={"purge": True}, headers=broker.admin)
    assert r.status_code == 200 and r.json()["purged"] is True
    assert (await broker.last_audit())["action"] == "secret.purge"
    rows = await sql(broker, "SELECT wrapped_dek, value FROM secret_versions")
    assert len(rows) == 2 and all(w is None and v is None for w, v in rows)
    await assert_denied(broker, await read_secret(broker, "gone", token), 403, "secret_not_readable", READ)
    # The name is free again after a purge.
    await add_secret(broker, "gone", "reborn-canary", resource="host:server1")
    assert (await read_secret(broker, "gone", token)).json()["value"] == "reborn-canary"


async def test_purging_a_secret_with_the_longest_name(broker: Broker) -> None:
    name = "n" * 128
    await add_secret(broker, name, "long-canary")
    r = await broker.http.delete(f"/v1/secrets/{name}", params={"purge": True}, headers=broker.admin)
    assert r.status_code == 200, r.text
    rows = await sql(broker, "SELECT name, purged_at FROM secrets")
    assert len(rows[0][0]) <= 128 and rows[0][1] is not None


@pytest.mark.parametrize("name", ["../etc", "a b", "-lead", "x" * 129, "trailing\n"])
async def test_invalid_names_and_resources(broker: Broker, name: str) -> None:
    r = await broker.http.post("/v1/secrets", json={"name": name, "value": "v-canary"}, headers=broker.admin)
    assert r.status_code == 400
    r = await broker.http.post(
        "/v1/secrets", json={"name": "ok", "value": "v-canary", "resource": "host:*"}, headers=broker.admin
    )
    await assert_denied(broker, r, 400, "invalid_resource", "secret.create")


async def test_a_missing_secret_and_an_unbound_one_get_the_same_answer(broker: Broker) -> None:
    await broker.http.post(
        "/v1/secrets", json={"name": "exists", "value": "v-canary-1", "resource": "host:a"}, headers=broker.admin
    )
    key = await broker.create_key("prober", max_scopes=["secrets.read"], max_resources=["host:b"])
    token = (await broker.mint(key["api_key"], resource="host:b")).json()["access_token"]
    answers = [
        await broker.http.get(f"/v1/secrets/{n}", headers={"Authorization": f"Bearer {token}"})
        for n in ("exists", "missing")
    ]
    assert next((r.status_code, r.json()) for r in answers) == [(r.status_code, r.json()) for r in answers][1]
    rows = await broker.audit(action="secret.read", result="deny", limit=2)
    assert sorted(json.loads(r["details"])["why"] for r in rows) == ["resource_mismatch", "unknown_secret"]


async def test_an_unbound_name_that_cannot_be_its_own_resource_is_refused(broker: Broker) -> None:
    r = await broker.http.post(
        "/v1/secrets", json={"name": "ssh-pass:server1", "value": "x-canary"}, headers=broker.admin
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_resource"
