"""verify_token: the JWT attack matrix (RFC 8725, OWASP JWT cheat sheet, PyJWT advisories) and positives."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

import broker.verify as verify_module
from broker.tokens import SigningKey, jwks, mint_token
from broker.verify import KeySet, VerificationError, Verifier, introspect_token, verify_token

NOW = 1_800_000_000
ISS = "http://127.0.0.1:8421"
AUD = "aegis"
KEY = SigningKey.generate(NOW)
KEYS = KeySet.from_jwks(jwks([KEY]))
DROP = object()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def enc(obj: object) -> bytes:
    return obj.encode() if isinstance(obj, str) else json.dumps(obj, separators=(",", ":")).encode()


def header(**over: object) -> dict[str, object]:
    base: dict[str, object] = {"alg": "ES256", "typ": "at+jwt", "kid": KEY.kid}
    base.update(over)
    return {k: v for k, v in base.items() if v is not DROP}


def claims(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "iss": ISS,
        "sub": "principal-1",
        "client_id": "0123456789abcdef",
        "aud": AUD,
        "scope": "mail.send secrets.read",
        "resource": "host:server1",
        "txn": "trace-1",
        "jti": "5f0c8a3e2b7d4c1a9e6f0b2d4c8a1e3f",
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 600,
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not DROP}


def es256(hdr: object, payload: object, key: ec.EllipticCurvePrivateKey = KEY.private_key) -> str:
    signing_input = f"{b64(enc(hdr))}.{b64(enc(payload))}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def hs256(hdr: object, payload: object, secret: bytes) -> str:
    signing_input = f"{b64(enc(hdr))}.{b64(enc(payload))}"
    return f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def verify(token: str, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"keys": KEYS, "issuer": ISS, "audience": AUD, "now": NOW + 1}
    args.update(kw)
    return verify_token(token, **args)


def rejected(token: str, code: str, **kw: Any) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        verify(token, **kw)
    assert info.value.code == code, str(info.value)
    # The message must never echo the token or any of its segments.
    for part in [p for p in [token, *token.split(".")] if len(p) >= 8]:
        assert part not in str(info.value)
        assert part not in repr(info.value)
    return info.value


# ---------------------------------------------------------------- positives


def test_minted_token_verifies_and_returns_claims() -> None:
    token, minted = mint_token(
        KEY, issuer=ISS, subject="p1", client_id="0123456789abcdef", audience=AUD,
        scopes=["secrets.read"], resource="secret:plaid-token", ttl_seconds=900, txn="t-1", now=NOW,
    )  # fmt: skip
    assert verify(token) == minted


def test_hand_built_token_verifies() -> None:
    assert verify(es256(header(), claims()))["sub"] == "principal-1"


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"])
def test_typ_is_compared_case_insensitively_with_optional_media_prefix(typ: str) -> None:
    assert verify(es256(header(typ=typ), claims()))["aud"] == AUD


def test_leeway_boundaries() -> None:
    token = es256(header(), claims(exp=NOW + 600))
    assert verify(token, now=NOW + 600 + 59)["jti"]
    rejected(token, "expired", now=NOW + 600 + 60)
    future = es256(header(), claims(iat=NOW + 60, nbf=NOW + 60, exp=NOW + 660))
    assert verify(future, now=NOW)["iat"] == NOW + 60
    rejected(future, "not_yet_valid", now=NOW - 1)


def test_lifetime_exactly_1800_is_accepted_and_1801_rejected() -> None:
    assert verify(es256(header(), claims(exp=NOW + 1800)))["exp"] == NOW + 1800
    rejected(es256(header(), claims(exp=NOW + 1801)), "ttl_too_long")


def test_max_lifetime_parameter_can_be_stricter() -> None:
    rejected(es256(header(), claims(exp=NOW + 600)), "ttl_too_long", max_lifetime=300)


def test_audience_none_accepts_one_well_formed_audience_only() -> None:
    assert verify(es256(header(), claims(aud="mcp-gmail")), audience=None)["aud"] == "mcp-gmail"
    rejected(es256(header(), claims(aud=["mcp-gmail"])), "bad_audience", audience=None)
    rejected(es256(header(), claims(aud="*")), "bad_audience", audience=None)
    rejected(es256(header(), claims(aud=DROP)), "missing_claim", audience=None)


@pytest.mark.parametrize(
    "kw",
    [
        {"issuer": ""},
        {"audience": ""},
        {"leeway": -1},
        {"leeway": 3600},
        {"max_lifetime": 3600},
        {"max_lifetime": 0},
    ],
)
def test_unsafe_configuration_is_refused(kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        verify(es256(header(), claims()), **kw)


# ---------------------------------------------------------------- algorithm attacks


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", "", "es256", "HS256", "RS256", "ES384", "PS256"])
def test_alg_other_than_the_pinned_one_is_rejected(alg: str) -> None:
    rejected(es256(header(alg=alg), claims()), "bad_alg")


def test_alg_none_with_empty_signature_is_rejected() -> None:
    token = f"{b64(enc(header(alg='none')))}.{b64(enc(claims()))}."
    rejected(token, "malformed")


def test_missing_alg_is_rejected() -> None:
    rejected(es256(header(alg=DROP), claims()), "bad_alg")


def _public_pem() -> bytes:
    return KEY.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize(
    "secret",
    [
        _public_pem(),  # CVE-2022-29217: public key PEM used as the HMAC secret
        json.dumps(KEY.public_jwk()).encode(),  # CVE-2026-48526: JWK used as the HMAC secret
        json.dumps(KEY.public_jwk(), separators=(",", ":"), sort_keys=True).encode(),
        base64.urlsafe_b64decode(KEY.public_jwk()["x"] + "="),
        b"",
    ],
    ids=["public-pem", "jwk-json", "jwk-canonical", "raw-x-coordinate", "empty"],
)
def test_hs256_signed_with_public_key_material_is_rejected(secret: bytes) -> None:
    rejected(hs256(header(alg="HS256"), claims(), secret), "bad_alg")


def test_rs256_token_is_rejected() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    hdr = header(alg="RS256")
    signing_input = f"{b64(enc(hdr))}.{b64(enc(claims()))}"
    sig = rsa_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    rejected(f"{signing_input}.{b64(sig)}", "bad_alg")


def test_oct_key_in_jwks_never_becomes_an_hmac_secret() -> None:
    doc = {"keys": [{"kty": "oct", "kid": KEY.kid, "alg": "HS256"}]}
    keys = KeySet.from_jwks(doc)
    assert keys.get(KEY.kid) is None
    rejected(hs256(header(alg="HS256"), claims(), b""), "unknown_kid", keys=keys)


# ---------------------------------------------------------------- kid and header attacks


def test_unknown_kid_is_rejected() -> None:
    rejected(es256(header(kid="ks-20200101-deadbeef"), claims()), "unknown_kid")


@pytest.mark.parametrize(
    "kid",
    [
        "../../../../etc/passwd",
        "/dev/null",
        "' OR '1'='1",
        "x; DROP TABLE signing_keys; --",
        "kid\x00",
        "kid\n",
        "",
        "k" * 65,
        "|| curl example.com",
        123,
        None,
        [KEY.kid],
        {"kid": KEY.kid},
    ],
)
def test_kid_injection_is_rejected_before_any_lookup(kid: object) -> None:
    rejected(es256(header(kid=kid), claims()), "bad_header")


def test_missing_kid_is_rejected() -> None:
    rejected(es256(header(kid=DROP), claims()), "bad_header")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("jku", "https://attacker.example/jwks.json"),
        ("x5u", "https://attacker.example/cert.pem"),
        ("jwk", {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}),
        ("x5c", ["MIIB"]),
        ("x5t", "abc"),
        ("crit", ["exp"]),
        ("crit", ["b64"]),
        ("b64", False),
        ("zip", "DEF"),
        ("cty", "JWT"),
        ("enc", "A256GCM"),
        ("nonce", "n"),
    ],
)
def test_header_members_outside_the_allowlist_are_rejected(name: str, value: object) -> None:
    rejected(es256(header(**{name: value}), claims()), "bad_header")


@pytest.mark.parametrize("typ", [DROP, "JWT", "jwt", "at+jwt ", "application/jwt", "at+jwt; v=1", 1, None])
def test_missing_or_wrong_typ_is_rejected(typ: object) -> None:
    rejected(es256(header(typ=typ), claims()), "bad_typ")


def test_duplicate_member_in_header_is_rejected() -> None:
    raw = f'{{"alg":"ES256","typ":"at+jwt","kid":"{KEY.kid}","alg":"none"}}'
    rejected(es256(raw, claims()), "malformed")


def test_header_that_is_not_an_object_is_rejected() -> None:
    rejected(es256("[1,2]", claims()), "malformed")
    rejected(es256("not json", claims()), "malformed")


# ---------------------------------------------------------------- signature attacks


def test_same_kid_signed_by_another_valid_key_is_rejected() -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    rejected(es256(header(), claims(), key=other), "bad_signature")


def test_stripped_signature_is_rejected() -> None:
    token = es256(header(), claims())
    rejected(token.rsplit(".", 1)[0] + ".", "malformed")
    rejected(token.rsplit(".", 1)[0], "malformed")


@pytest.mark.parametrize("sig", [b"\x00" * 64, b"\x01" * 64, b"\xff" * 64, b"\x00" * 63, b"\x00" * 72, b"x"])
def test_bogus_signatures_are_rejected(sig: bytes) -> None:
    signing_input = es256(header(), claims()).rsplit(".", 1)[0]
    rejected(f"{signing_input}.{b64(sig)}", "bad_signature")


def test_tampered_payload_is_rejected() -> None:
    token = es256(header(), claims(scope="secrets.read"))
    h, _, s = token.split(".")
    forged = f"{h}.{b64(enc(claims(scope='secrets.read secrets.write')))}.{s}"
    rejected(forged, "bad_signature")


def test_tampered_header_is_rejected() -> None:
    token = es256(header(), claims())
    _, p, s = token.split(".")
    rejected(f"{b64(enc(header(typ='application/at+jwt')))}.{p}.{s}", "bad_signature")


# ---------------------------------------------------------------- time claims


def test_expired_token_is_rejected() -> None:
    rejected(es256(header(), claims(iat=NOW - 1200, nbf=NOW - 1200, exp=NOW - 600)), "expired")


def test_nbf_in_the_future_is_rejected() -> None:
    rejected(es256(header(), claims(nbf=NOW + 120)), "not_yet_valid")


def test_iat_in_the_future_is_rejected() -> None:
    rejected(es256(header(), claims(iat=NOW + 120, nbf=NOW, exp=NOW + 700)), "not_yet_valid")


@pytest.mark.parametrize(
    "over",
    [
        {"exp": float(NOW + 600)},
        {"exp": NOW + 600.5},
        {"exp": str(NOW + 600)},
        {"exp": True},
        {"iat": float(NOW)},
        {"iat": str(NOW)},
        {"iat": False},
        {"nbf": str(NOW)},
        {"nbf": [NOW]},
        {"exp": {"v": 1}},
    ],
)
def test_time_claims_must_be_integers(over: dict[str, object]) -> None:
    rejected(es256(header(), claims(**over)), "bad_claim_type")


def test_exp_before_iat_is_rejected() -> None:
    rejected(es256(header(), claims(exp=NOW - 1)), "bad_claim_type")


def test_lifetime_over_the_maximum_is_rejected_even_if_not_expired() -> None:
    rejected(es256(header(), claims(exp=NOW + 86400 * 365)), "ttl_too_long")


def test_nan_and_infinity_are_rejected() -> None:
    raw = json.dumps(claims()).replace(f'"exp": {NOW + 600}', '"exp": Infinity')
    assert "Infinity" in raw
    rejected(es256(header(), raw), "malformed")


# ---------------------------------------------------------------- audience and issuer


@pytest.mark.parametrize("aud", ["aegis-x", "aegi", "AEGIS", "aegis ", "", "https://aegis", "mcp-gmail"])
def test_wrong_audience_is_rejected(aud: str) -> None:
    code = "missing_claim" if aud == "" else "bad_audience"
    rejected(es256(header(), claims(aud=aud)), code)


@pytest.mark.parametrize("aud", [[AUD], [AUD, "other"], ["other", AUD], {"aud": AUD}, 1])
def test_audience_must_be_a_single_string(aud: object) -> None:
    rejected(es256(header(), claims(aud=aud)), "bad_audience")


@pytest.mark.parametrize(
    "iss",
    [
        "http://127.0.0.1:842",
        "http://127.0.0.1:84211",
        "http://127.0.0.1",
        "127.0.0.1",
        "http",
        "h",
        "HTTP://127.0.0.1:8421",
        "http://127.0.0.1:8421/",
        " http://127.0.0.1:8421",
        "https://127.0.0.1:8421",
    ],
)
def test_issuer_prefix_suffix_and_substring_variants_are_rejected(iss: str) -> None:
    rejected(es256(header(), claims(iss=iss)), "bad_issuer")


@pytest.mark.parametrize("iss", ["acb", "abc", "_abc", "abc_", "_ab", "a", "_", "__abc__", "_ABC_"])
def test_cve_2024_53861_issuer_partial_match(iss: str) -> None:
    rejected(es256(header(), claims(iss=iss)), "bad_issuer", issuer="_abc_")
    assert verify(es256(header(), claims(iss="_abc_")), issuer="_abc_")["iss"] == "_abc_"


@pytest.mark.parametrize("iss", [[ISS], {"iss": ISS}, 1])
def test_issuer_must_be_a_string(iss: object) -> None:
    rejected(es256(header(), claims(iss=iss)), "bad_issuer")


# ---------------------------------------------------------------- claim presence and shape


@pytest.mark.parametrize("name", ["exp", "iat", "nbf", "jti", "aud", "iss", "sub", "client_id", "scope", "resource"])
def test_every_required_claim_must_be_present(name: str) -> None:
    rejected(es256(header(), claims(**{name: DROP})), "missing_claim")
    rejected(es256(header(), claims(**{name: None})), "missing_claim")


@pytest.mark.parametrize(
    "over",
    [
        {"sub": 7},
        {"sub": ""},
        {"jti": 7},
        {"client_id": ["x"]},
        {"client_id": ""},
        {"resource": "host:*"},
        {"resource": 5},
        {"txn": 5},
        {"act": "agent"},
        {"act": {"sub": 5}},
    ],
)
def test_malformed_claims_are_rejected(over: dict[str, object]) -> None:
    rejected(es256(header(), claims(**over)), "bad_claim_type")


@pytest.mark.parametrize(
    "scope",
    [
        "",
        " ",
        "secrets.*",
        "secrets.read  mail.send",
        " secrets.read",
        "secrets.read secrets.read",
        "admin",
        5,
    ],
)
def test_malformed_scope_claim_is_rejected(scope: object) -> None:
    rejected(es256(header(), claims(scope=scope)), "bad_scope")


def test_scope_as_list_is_rejected() -> None:
    rejected(es256(header(), claims(scope=["secrets.read"])), "bad_scope")


def test_duplicate_member_in_payload_is_rejected() -> None:
    body = json.dumps(claims())[:-1] + ', "aud": "other-service"}'
    rejected(es256(header(), body), "malformed")
    body = json.dumps(claims())[:-1] + ', "scope": "admin.all"}'
    rejected(es256(header(), body), "malformed")


def test_payload_that_is_not_an_object_is_rejected() -> None:
    rejected(es256(header(), "[1]"), "malformed")


def test_act_claim_is_accepted_when_well_formed() -> None:
    act = {"sub": "agent:job-7", "act": {"sub": "agent:parent"}}
    assert verify(es256(header(), claims(act=act)))["act"] == act


# ---------------------------------------------------------------- size and garbage


def test_oversized_token_is_rejected_before_parsing() -> None:
    token = es256(header(), claims(pad="x" * 9000))
    rejected(token, "too_large")
    rejected("A" * 8193, "too_large")
    small = es256(header(), claims())
    rejected(small, "too_large", max_size=len(small) - 1)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "é.é.é",
        "eyJ.eyJ.\u00e9",
        "\x00.\x00.\x00",
        "a.b.c\n",
        " a.b.c",
        "a=.b.c",
        "a.b.c=",
        "!!!!.????.####",
        "A.AAAA.AAAA",
        "AAAA.AAAA.AAAA",
    ],
)
def test_garbage_is_malformed(token: str) -> None:
    rejected(token, "malformed")


def test_padded_segments_are_rejected() -> None:
    h, p, s = es256(header(), claims()).split(".")
    rejected(f"{h}==.{p}.{s}", "malformed")


def test_non_string_token_is_malformed() -> None:
    with pytest.raises(VerificationError) as info:
        verify(b"a.b.c")  # type: ignore[arg-type]
    assert info.value.code == "malformed"


# ---------------------------------------------------------------- key rotation


def test_rotation_overlap_then_removal() -> None:
    old, new = SigningKey.generate(NOW - 86400), SigningKey.generate(NOW)
    old_token = es256(header(kid=old.kid), claims(), key=old.private_key)
    new_token = es256(header(kid=new.kid), claims(), key=new.private_key)
    both = KeySet.from_jwks(jwks([old, new]))
    assert verify(old_token, keys=both)["jti"] and verify(new_token, keys=both)["jti"]
    only_new = KeySet.from_jwks(jwks([new]))
    assert verify(new_token, keys=only_new)["jti"]
    rejected(old_token, "unknown_kid", keys=only_new)


# ---------------------------------------------------------------- async Verifier (MockTransport, fake clock)

JWKS_URL = "http://127.0.0.1:8421/.well-known/jwks.json"
INTROSPECT_URL = "http://127.0.0.1:8421/v1/introspect"


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class FakeBroker:
    """JWKS and introspection endpoints, counting calls."""

    def __init__(self, keys: list[SigningKey]) -> None:
        self.keys = keys
        self.jwks_doc: object | None = None
        self.jwks_status = 200
        self.jwks_calls = 0
        self.introspect_calls = 0
        self.introspect_answer: dict[str, object] | None = None
        self.introspect_status = 200
        self.revoked: set[str] = set()
        self.requests: list[httpx.Request] = []
        self.down = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/.well-known/jwks.json":
            self.jwks_calls += 1
            doc = jwks(self.keys) if self.jwks_doc is None else self.jwks_doc
            return httpx.Response(self.jwks_status, json=doc)
        assert request.url.path == "/v1/introspect" and request.method == "POST"
        self.introspect_calls += 1
        if request.headers.get("x-admin-token") != "admin-secret":
            return httpx.Response(401, json={"error": "unauthorized"})
        presented = json.loads(request.content)["token"]
        jti = json.loads(base64.urlsafe_b64decode(presented.split(".")[1] + "=="))["jti"]
        if self.introspect_answer is not None:
            return httpx.Response(self.introspect_status, json=self.introspect_answer)
        answer = {"active": False} if jti in self.revoked else {"active": True, "jti": jti}
        return httpx.Response(self.introspect_status, json=answer)


def make_verifier(broker: FakeBroker, clock: Clock, *, online: bool = False) -> Verifier:
    client = httpx.AsyncClient(transport=httpx.MockTransport(broker.handler))
    extra: dict[str, Any] = {}
    if online:
        extra = {
            "introspect_url": INTROSPECT_URL,
            "introspect_auth": lambda: {"X-Admin-Token": "admin-secret"},
        }
    return Verifier(issuer=ISS, audience=AUD, jwks_url=JWKS_URL, http=client, clock=clock, **extra)


def token_for(key: SigningKey, jti: str = "a" * 32) -> str:
    return es256(header(kid=key.kid), claims(jti=jti), key=key.private_key)


@pytest.mark.anyio
async def test_jwks_is_cached_until_its_ttl() -> None:
    broker, clock = FakeBroker([KEY]), Clock(NOW + 1)
    verifier = make_verifier(broker, clock)
    for _ in range(5):
        assert (await verifier.verify(token_for(KEY)))["sub"] == "principal-1"
    assert broker.jwks_calls == 1
    clock.t += 298
    await verifier.verify(token_for(KEY))
    assert broker.jwks_calls == 1
    clock.t += 2  # 300 s after the first fetch
    await verifier.verify(token_for(KEY))
    assert broker.jwks_calls == 2


@pytest.mark.anyio
async def test_unknown_kid_triggers_one_refetch_and_picks_up_the_new_key() -> None:
    new = SigningKey.generate(NOW)
    broker, clock = FakeBroker([KEY]), Clock(NOW + 1)
    verifier = make_verifier(broker, clock)
    await verifier.verify(token_for(KEY))
    broker.keys = [KEY, new]
    clock.t += 31
    assert (await verifier.verify(token_for(new)))["jti"] == "a" * 32
    assert broker.jwks_calls == 2


@pytest.mark.anyio
async def test_unknown_kid_refetch_is_rate_limited() -> None:
    stranger = SigningKey.generate(NOW)
    broker, clock = FakeBroker([KEY]), Clock(NOW + 1)
    verifier = make_verifier(broker, clock)
    await verifier.verify(token_for(KEY))
    clock.t += 31
    for _ in range(20):
        with pytest.raises(VerificationError) as info:
            await verifier.verify(token_for(stranger))
        assert info.value.code == "unknown_kid"
    assert broker.jwks_calls == 2
    clock.t += 31
    with pytest.raises(VerificationError):
        await verifier.verify(token_for(stranger))
    assert broker.jwks_calls == 3


@pytest.mark.anyio
async def test_concurrent_unknown_kids_cause_a_single_refetch() -> None:
    stranger = SigningKey.generate(NOW)
    broker, clock = FakeBroker([KEY]), Clock(NOW + 1)
    verifier = make_verifier(broker, clock)
    await verifier.verify(token_for(KEY))
    clock.t += 31
    results = await asyncio.gather(*[verifier.verify(token_for(stranger)) for _ in range(25)], return_exceptions=True)
    assert all(isinstance(r, VerificationError) and r.code == "unknown_kid" for r in results)
    assert broker.jwks_calls == 2


@pytest.mark.anyio
async def test_garbage_kid_never_triggers_a_refetch() -> None:
    broker, clock = FakeBroker([KEY]), Clock(NOW + 1)
    verifier = make_verifier(broker, clock)
    await verifier.verify(token_for(KEY))
    clock.t += 31
    with pytest.raises(VerificationError) as info:
        await verifier.verify(es256(header(kid="../../etc/passwd"), claims()))
    assert info.value.code == "bad_header"
    assert broker.jwks_calls == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    "breakage",
    ["status", "down", "oct", "private", "garbage"],
)
async def test_jwks_unavailable_fails_closed_without_a_storm(breakage: str) -> None:
    broker, clock = FakeBroker([KEY]), Clock(NOW + 1)
    if breakage == "status":
        broker.jwks_status = 503
    elif breakage == "down":
        broker.down = True
    elif breakage == "oct":
        broker.jwks_doc = {"keys": [{"kty": "oct", "kid": KEY.kid, "k": "c2VjcmV0"}]}
    elif breakage == "private":
        broker.jwks_doc = {"keys": [{**KEY.public_jwk(), "d": "AAAA"}]}
    else:
        broker.jwks_doc = ["not", "a", "jwks"]
    verifier = make_verifier(broker, clock)
    for _ in range(10):
        with pytest.raises(VerificationError) as info:
            await verifier.verify(token_for(KEY))
        assert info.value.code == "jwks_unavailable"
    assert len(broker.requests) == 1
    clock.t += 31
    with pytest.raises(VerificationError):
        await verifier.verify(token_for(KEY))
    assert len(broker.requests) == 2


@pytest.mark.anyio
async def test_expired_jwks_cache_is_not_used_when_the_refresh_fails() -> None:
    broker, clock = FakeBroker([KEY]), Clock(NOW + 1)
    verifier = make_verifier(broker, clock)
    await verifier.verify(token_for(KEY))
    broker.jwks_status = 500
    clock.t += 301
    with pytest.raises(VerificationError) as info:
        await verifier.verify(token_for(KEY))
    assert info.value.code == "jwks_unavailable"
    broker.jwks_status = 200
    clock.t += 31
    assert (await verifier.verify(token_for(KEY)))["sub"] == "principal-1"


@pytest.mark.anyio
async def test_removed_key_stops_verifying_after_the_jwks_refresh() -> None:
    new = SigningKey.generate(NOW)
    broker, clock = FakeBroker([KEY, new]), Clock(NOW + 1)
    verifier = make_verifier(broker, clock)
    await verifier.verify(token_for(KEY))
    broker.keys = [new]
    clock.t += 300
    with pytest.raises(VerificationError) as info:
        await verifier.verify(token_for(KEY))
    assert info.value.code == "unknown_kid"


@pytest.mark.anyio
async def test_introspection_is_cached_per_jti_for_the_revocation_ttl() -> None:
    broker, clock = FakeBroker([KEY]), Clock(NOW + 1)
    verifier = make_verifier(broker, clock, online=True)
    token_a, token_b = token_for(KEY, "a" * 32), token_for(KEY, "b" * 32)
    for _ in range(3):
        await verifier.verify(token_a)
    assert broker.introspect_calls == 1
    await verifier.verify(token_b)
    assert broker.introspect_calls == 2
    clock.t += 4.9
    await verifier.verify(token_a)
    assert broker.introspect_calls == 2
    clock.t += 0.1
    await verifier.verify(token_a)
    assert broker.introspect_calls == 3
    sent = next(r for r in broker.requests if r.url.path == "/v1/introspect")
    assert sent.headers["content-type"] == "application/json"
    assert json.loads(sent.content) == {"token": token_a}


@pytest.mark.anyio
async def test_revocation_reaches_the_verifier_within_the_cache_ttl_and_sticks() -> None:
    broker, clock = FakeBroker([KEY]), Clock(NOW + 1)
    verifier = make_verifier(broker, clock, online=True)
    token = token_for(KEY, "c" * 32)
    await verifier.verify(token)
    broker.revoked.add("c" * 32)
    clock.t += 5
    for _ in range(3):
        with pytest.raises(VerificationError) as info:
            await verifier.verify(token)
        assert info.value.code == "revoked"
    assert broker.introspect_calls == 2  # the inactive answer is cached


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (500, {"active": True}),
        (401, {"active": True}),
        (200, {"active": "true"}),
        (200, {"active": 1}),
        (200, {"status": "ok"}),
        (200, {"active": True, "jti": "someone-else"}),
    ],
)
async def test_bad_introspection_answers_fail_closed(status: int, answer: dict[str, object]) -> None:
    broker, clock = FakeBroker([KEY]), Clock(NOW + 1)
    broker.introspect_status, broker.introspect_answer = status, answer
    verifier = make_verifier(broker, clock, online=True)
    with pytest.raises(VerificationError) as info:
        await verifier.verify(token_for(KEY))
    assert info.value.code == "introspection_failed"


@pytest.mark.anyio
async def test_introspection_network_error_fails_closed() -> None:
    broker, clock = FakeBroker([KEY]), Clock(NOW + 1)
    verifier = make_verifier(broker, clock, online=True)
    await verifier.verify(token_for(KEY, "d" * 32))
    broker.down = True
    with pytest.raises(VerificationError) as info:
        await verifier.verify(token_for(KEY, "e" * 32))
    assert info.value.code == "introspection_failed"


@pytest.mark.anyio
async def test_invalid_tokens_are_rejected_before_introspection() -> None:
    broker, clock = FakeBroker([KEY]), Clock(NOW + 1)
    verifier = make_verifier(broker, clock, online=True)
    with pytest.raises(VerificationError) as info:
        await verifier.verify(es256(header(), claims(aud="other")))
    assert info.value.code == "bad_audience"
    assert broker.introspect_calls == 0


@pytest.mark.anyio
async def test_offline_verifier_never_introspects() -> None:
    broker, clock = FakeBroker([KEY]), Clock(NOW + 1)
    broker.revoked.add("a" * 32)
    verifier = make_verifier(broker, clock)
    assert (await verifier.verify(token_for(KEY)))["jti"] == "a" * 32
    assert broker.introspect_calls == 0


@pytest.mark.anyio
async def test_introspect_token_posts_json_and_returns_the_answer() -> None:
    broker = FakeBroker([KEY])
    broker.revoked.add("f" * 32)
    async with httpx.AsyncClient(transport=httpx.MockTransport(broker.handler)) as client:
        answer = await introspect_token(
            token_for(KEY, "f" * 32),
            http=client,
            url=INTROSPECT_URL,
            headers={"X-Admin-Token": "admin-secret"},
        )
    assert answer == {"active": False}
    assert broker.requests[0].method == "POST"


def test_verifier_refuses_half_configured_introspection() -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(FakeBroker([KEY]).handler))
    with pytest.raises(ValueError):
        Verifier(issuer=ISS, audience=AUD, jwks_url=JWKS_URL, http=client, introspect_url=INTROSPECT_URL)
    with pytest.raises(ValueError):
        Verifier(issuer=ISS, audience=AUD, jwks_url=JWKS_URL, http=client, revocation_cache_ttl=0)


# ---------------------------------------------------------------- caches never change an answer


def test_header_cache_does_not_remember_keys() -> None:
    other = SigningKey.generate(NOW)
    token = es256(header(kid=other.kid), claims(), key=other.private_key)
    rejected(token, "unknown_kid")
    assert verify(token, keys=KeySet.from_jwks(jwks([other])))["sub"] == "principal-1"
    rejected(token, "unknown_kid")
    rejected(
        es256(header(kid=other.kid), claims(), key=KEY.private_key),
        "bad_signature",
        keys=KeySet.from_jwks(jwks([other])),
    )


def test_header_cache_is_bounded() -> None:
    for i in range(300):
        rejected(es256(header(kid=f"ks-flood-{i}"), claims()), "unknown_kid")
    assert 0 < len(verify_module._HEADER_CACHE) <= 256


def test_rejected_headers_are_rejected_every_time() -> None:
    token = es256(header(typ="JWT"), claims())
    for _ in range(3):
        rejected(token, "bad_typ")


def test_claim_grammar_caches_do_not_leak_between_tokens() -> None:
    assert verify(es256(header(), claims(scope="secrets.read")))["scope"] == "secrets.read"
    rejected(es256(header(), claims(scope="secrets.read ")), "bad_scope")
    rejected(es256(header(), claims(scope="secrets.read ")), "bad_scope")
    rejected(es256(header(), claims(resource="host:a/../b")), "bad_claim_type")


@pytest.mark.parametrize(
    ("url", "plain_ok", "ok"),
    [
        ("https://broker.example/.well-known/jwks.json", False, True),
        ("http://127.0.0.1:8421/.well-known/jwks.json", False, True),
        ("http://broker:8421/.well-known/jwks.json", False, False),
        ("http://broker:8421/.well-known/jwks.json", True, True),
        ("ftp://broker/jwks", True, False),
        ("broker", True, False),
        ("https://user:pw@broker/jwks", False, False),
    ],
)
def test_verifier_refuses_plaintext_broker_urls_unless_allowed(url: str, plain_ok: bool, ok: bool) -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(FakeBroker([KEY]).handler))
    as_jwks: dict[str, Any] = {"jwks_url": url}
    as_introspect: dict[str, Any] = {"jwks_url": JWKS_URL, "introspect_url": url, "introspect_auth": dict}
    for kw in (as_jwks, as_introspect):
        if ok:
            assert isinstance(
                Verifier(issuer=ISS, audience=AUD, http=client, allow_plain_http=plain_ok, **kw), Verifier
            )
        else:
            with pytest.raises(ValueError, match="broker URLs"):
                Verifier(issuer=ISS, audience=AUD, http=client, allow_plain_http=plain_ok, **kw)
