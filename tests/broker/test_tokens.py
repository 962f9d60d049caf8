"""Signing keys, JWKS and RFC 9068 minting."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from broker.scopes import ScopeError
from broker.tokens import (
    ClaimError,
    JwksError,
    KeySet,
    SigningKey,
    SigningKeyError,
    TtlError,
    jwks,
    mint_token,
)

NOW = 1_800_000_000  # 2027-01-15 08:00:00 UTC
ISS = "http://127.0.0.1:8421"
KEY = SigningKey.generate(NOW)


def mint(**over: Any) -> tuple[str, dict[str, Any]]:
    args: dict[str, Any] = {
        "issuer": ISS,
        "subject": "principal-1",
        "client_id": "0123456789abcdef",
        "audience": "aegis",
        "scopes": ["secrets.read", "mail.send"],
        "resource": "host:server1",
        "ttl_seconds": 900,
        "txn": "trace-1",
        "now": NOW,
    }
    args.update(over)
    return mint_token(KEY, **args)


def segment(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    loaded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return loaded


# ---------------------------------------------------------------- keys


def test_generated_kid_format_and_curve() -> None:
    assert re.fullmatch(r"ks-20270115-[0-9a-f]{8}", KEY.kid)
    assert isinstance(KEY.private_key.curve, ec.SECP256R1)
    assert KEY.created_at == NOW
    assert SigningKey.generate(NOW).kid != KEY.kid


def test_repr_hides_the_private_key() -> None:
    pem = KEY.private_pem().decode()
    assert "private_key" not in repr(KEY)
    assert pem.splitlines()[1] not in repr(KEY)


def test_pem_round_trip() -> None:
    pem = KEY.private_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    again = SigningKey.from_pem(KEY.kid, pem, KEY.created_at)
    assert again.public_jwk() == KEY.public_jwk()
    assert again.private_key.private_numbers() == KEY.private_key.private_numbers()


def _pem(key: Any, password: bytes | None = None) -> bytes:
    algo: serialization.KeySerializationEncryption = (
        serialization.NoEncryption() if password is None else serialization.BestAvailableEncryption(password)
    )
    pem: bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, algo)
    return pem


@pytest.mark.parametrize(
    "pem",
    [
        _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        _pem(ec.generate_private_key(ec.SECP384R1())),
        _pem(ed25519.Ed25519PrivateKey.generate()),
        _pem(ec.generate_private_key(ec.SECP256R1()), password=b"pw"),
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        b"",
    ],
)
def test_from_pem_refuses_anything_but_an_unencrypted_p256_key(pem: bytes) -> None:
    with pytest.raises(SigningKeyError):
        SigningKey.from_pem("ks-1", pem, NOW)


@pytest.mark.parametrize("kid", ["", "a b", "../x", "k" * 65, "é"])
def test_bad_kid_is_refused(kid: str) -> None:
    with pytest.raises(SigningKeyError):
        SigningKey(kid=kid, private_key=KEY.private_key, created_at=NOW)


def test_public_jwk_has_no_private_member() -> None:
    jwk = KEY.public_jwk()
    assert set(jwk) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"], jwk["kid"]) == (
        "EC",
        "P-256",
        "ES256",
        "sig",
        KEY.kid,
    )
    numbers = KEY.private_key.public_key().public_numbers()
    assert base64.urlsafe_b64decode(jwk["x"] + "=") == numbers.x.to_bytes(32, "big")
    assert base64.urlsafe_b64decode(jwk["y"] + "=") == numbers.y.to_bytes(32, "big")


def test_jwks_lists_every_key_and_refuses_duplicates() -> None:
    other = SigningKey.generate(NOW)
    doc = jwks([KEY, other])
    assert [k["kid"] for k in doc["keys"]] == [KEY.kid, other.kid]
    with pytest.raises(SigningKeyError):
        jwks([KEY, KEY])


def test_jwks_interoperates_with_pyjwt() -> None:
    token, _ = mint()
    public = jwt.PyJWK(KEY.public_jwk())
    decoded = jwt.decode(token, public, algorithms=["ES256"], audience="aegis", issuer=ISS, leeway=10**10)
    assert decoded["sub"] == "principal-1"


# ---------------------------------------------------------------- KeySet.from_jwks


def test_keyset_loads_our_keys() -> None:
    keys = KeySet.from_jwks(jwks([KEY]))
    loaded = keys.get(KEY.kid)
    assert loaded is not None and loaded.alg == "ES256"
    assert loaded.public_key.public_numbers() == KEY.private_key.public_key().public_numbers()
    assert keys.kids == {KEY.kid} and len(keys) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"kty": "oct"},
        {"kty": "RSA"},
        {"crv": "P-384"},
        {"alg": "HS256"},
        {"alg": "ES384"},
        {"alg": None},
        {"use": "enc"},
        {"key_ops": ["encrypt"]},
        {"kid": "../x"},
        {"kid": 5},
    ],
)
def test_keyset_skips_keys_it_does_not_pin_to_es256(change: dict[str, object]) -> None:
    jwk: dict[str, object] = {**KEY.public_jwk(), **change}
    jwk = {k: v for k, v in jwk.items() if v is not None}
    assert len(KeySet.from_jwks({"keys": [jwk]})) == 0


@pytest.mark.parametrize(
    "doc",
    [
        {"keys": [{"kty": "oct", "kid": "k1", "k": "c2VjcmV0"}]},
        {"keys": [{**KEY.public_jwk(), "d": "AAAA"}]},
        {"keys": [{**KEY.public_jwk(), "x": "AAAA"}]},
        {"keys": [{**KEY.public_jwk(), "y": KEY.public_jwk()["x"]}]},
        {"keys": [{**KEY.public_jwk(), "x": KEY.public_jwk()["x"] + "="}]},
        {"keys": [{k: v for k, v in KEY.public_jwk().items() if k != "y"}]},
        {"keys": [KEY.public_jwk(), KEY.public_jwk()]},
        {"keys": ["not an object"]},
        {"keys": {"a": 1}},
        {"nokeys": []},
        {"keys": [KEY.public_jwk()] * 101},
    ],
)
def test_keyset_refuses_untrustworthy_documents(doc: dict[str, object]) -> None:
    with pytest.raises(JwksError):
        KeySet.from_jwks(doc)


# ---------------------------------------------------------------- minting


def test_header_is_exactly_the_rfc_9068_profile() -> None:
    token, _ = mint()
    assert segment(token, 0) == {"alg": "ES256", "typ": "at+jwt", "kid": KEY.kid}


def test_claims() -> None:
    token, claims = mint(act={"sub": "agent:job-7"})
    assert segment(token, 1) == claims
    assert claims == {
        "iss": ISS,
        "sub": "principal-1",
        "client_id": "0123456789abcdef",
        "aud": "aegis",
        "scope": "mail.send secrets.read",
        "resource": "host:server1",
        "txn": "trace-1",
        "jti": claims["jti"],
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 900,
        "act": {"sub": "agent:job-7"},
    }
    assert uuid.UUID(hex=claims["jti"]).version == 4


def test_jti_is_fresh_each_time_unless_given() -> None:
    assert mint()[1]["jti"] != mint()[1]["jti"]
    assert mint(jti="my-jti-1")[1]["jti"] == "my-jti-1"


@pytest.mark.parametrize("ttl", [1, 300, 1800])
def test_ttl_within_bounds(ttl: int) -> None:
    assert mint(ttl_seconds=ttl)[1]["exp"] == NOW + ttl


@pytest.mark.parametrize("ttl", [0, -1, 1801, 3600, 10**9, True, 1.5, "900", None])
def test_ttl_out_of_bounds_is_rejected_never_clamped(ttl: object) -> None:
    with pytest.raises(TtlError):
        mint(ttl_seconds=ttl)


@pytest.mark.parametrize(
    "over",
    [
        {"scopes": []},
        {"scopes": ["secrets.*"]},
        {"scopes": "secrets.read"},
        {"scopes": ["a.b", "a.b"]},
        {"resource": "host:*"},
        {"resource": ""},
        {"audience": ["aegis"]},
        {"audience": "*"},
        {"audience": ""},
    ],
)
def test_grammar_is_enforced_at_mint(over: dict[str, object]) -> None:
    with pytest.raises(ScopeError):
        mint(**over)


@pytest.mark.parametrize(
    "over",
    [
        {"issuer": ""},
        {"subject": ""},
        {"subject": "has space"},
        {"client_id": 5},
        {"txn": ""},
        {"txn": "x" * 129},
        {"jti": ""},
        {"act": "agent"},
        {"act": {"sub": ""}},
        {"act": {"sub": "a", "act": {"sub": "b", "act": {"sub": "c"}}}},
        {"act": {"sub": "a", "scope": "admin.all"}},
        {"extra": {"aud": "other"}},
        {"extra": {"exp": NOW + 10**6}},
        {"extra": {"scope": "admin.all"}},
        {"extra": {"Bad-Name": 1}},
    ],
)
def test_bad_claims_are_rejected_at_mint(over: dict[str, object]) -> None:
    with pytest.raises(ClaimError):
        mint(**over)


def test_extra_claims_are_added() -> None:
    token, claims = mint(extra={"purpose": "backup"})
    assert segment(token, 1)["purpose"] == "backup" == claims["purpose"]


def test_two_level_act_chain_is_allowed() -> None:
    act = {"sub": "agent:child", "act": {"sub": "agent:parent"}}
    assert mint(act=act)[1]["act"] == act
