"""Grammar of scopes, resources and audiences; the principal ceiling; require_scopes exact matching."""

from __future__ import annotations

import pytest

from broker.scopes import (
    MAX_SCOPES,
    ScopeError,
    check_ceiling,
    validate_audience,
    validate_resource,
    validate_scopes,
)
from broker.verify import InsufficientScope, VerificationError, require_scopes

VALID_SCOPES = [
    "secrets.read",
    "mail.send",
    "a.b",
    "repo.read",
    "ssh.exec",
    "mcp.gmail.send",
    "x_y.z-1",
    "a1.b2",
]
INVALID_SCOPES = [
    "",
    "secrets",
    "secrets.",
    ".read",
    "secrets..read",
    "Secrets.read",
    "secrets.READ",
    "1secrets.read",
    "secrets.1read",
    "secrets.*",
    "*",
    "secrets.rea?",
    "secrets read",
    "secrets.read\n",
    "\nsecrets.read",
    " secrets.read",
    "secrets.read ",
    "secrets/read",
    "secrets:read",
    "sécrets.read",
    "secrets.read\x00",
    "a." + "b" * 63,
]


@pytest.mark.parametrize("scope", VALID_SCOPES)
def test_valid_scopes_are_accepted(scope: str) -> None:
    assert validate_scopes([scope]) == [scope]


@pytest.mark.parametrize("scope", INVALID_SCOPES)
def test_invalid_scopes_are_rejected(scope: str) -> None:
    with pytest.raises(ScopeError):
        validate_scopes([scope])


def test_scopes_come_back_sorted() -> None:
    assert validate_scopes(["secrets.read", "mail.send", "a.b"]) == ["a.b", "mail.send", "secrets.read"]


def test_scope_length_limit_is_64() -> None:
    ok = "a." + "b" * 62
    assert len(ok) == 64 and validate_scopes([ok]) == [ok]
    with pytest.raises(ScopeError, match="longer than 64"):
        validate_scopes([ok + "b"])


def test_empty_duplicate_and_too_many_scopes_are_rejected() -> None:
    with pytest.raises(ScopeError, match="at least one"):
        validate_scopes([])
    with pytest.raises(ScopeError, match="duplicate"):
        validate_scopes(["a.b", "c.d", "a.b"])
    many = [f"s.n{i}" for i in range(MAX_SCOPES)]
    assert len(validate_scopes(many)) == MAX_SCOPES
    with pytest.raises(ScopeError, match=f"at most {MAX_SCOPES}"):
        validate_scopes([*many, "s.extra"])


@pytest.mark.parametrize("bad", ["secrets.read", b"secrets.read", None, 5, [5], [None], [["a.b"]]])
def test_scopes_must_be_a_list_of_strings(bad: object) -> None:
    with pytest.raises(ScopeError):
        validate_scopes(bad)  # type: ignore[arg-type]


def test_wildcard_message_is_explicit() -> None:
    with pytest.raises(ScopeError, match="wildcards"):
        validate_scopes(["secrets.*"])


@pytest.mark.parametrize(
    "resource",
    [
        "host:server1",
        "mcp:gmail",
        "secret:plaid-token",
        "host:db.internal.example",
        "mail:me@example.com",
        "a:b/c",
    ],
)
def test_valid_resources_are_accepted(resource: str) -> None:
    assert validate_resource(resource) == resource


@pytest.mark.parametrize(
    "resource",
    [
        "",
        "host",
        "host:",
        ":server1",
        "Host:server1",
        "host:*",
        "host:server*",
        "host:server?",
        "host:server 1",
        "host:server1\n",
        "host:x" + "y" * 200,
        "host:../etc/passwd",
        "file:a/../b",
        "file:/abs",
        "file:a//b",
        "file:a/",
        "host:..",
        "host:.",
        "1host:x",
        "host:sérver",
        "host:a:b",
        "host:a;b",
        5,
        ["host:a"],
    ],
)
def test_invalid_resources_are_rejected(resource: object) -> None:
    with pytest.raises(ScopeError):
        validate_resource(resource)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "aud",
    [
        "aegis",
        "mcp-gmail",
        "svc.internal",
        "https://api.example.com",
        "https://api.example.com/mcp",
        "https://api.example.com:8443/v1",
        "http://127.0.0.1:8421",
        "http://127.0.0.1",
        "http://[::1]:8080/x",
    ],
)
def test_valid_audiences_are_accepted(aud: str) -> None:
    assert validate_audience(aud) == aud


@pytest.mark.parametrize(
    "aud",
    [
        "",
        "Aegis",
        "1aegis",
        "aegis service",
        "aegis\n",
        "a" * 65,
        "*",
        "aegis*",
        "http://example.com",
        "http://localhost.evil.com",
        "http://127.0.0.2",
        "ftp://example.com",
        "https://",
        "https:///path",
        "https://api.example.com/?x=1",
        "https://api.example.com/#frag",
        "https://user:pw@api.example.com",
        "https://user@api.example.com",
        "https://api.example.com:99999",
        "https://api.example.com/a b",
        "https://api.example.com/" + "a" * 260,
        ["aegis"],
        None,
    ],
)
def test_invalid_audiences_are_rejected(aud: object) -> None:
    with pytest.raises(ScopeError):
        validate_audience(aud)  # type: ignore[arg-type]


def test_ceiling_none_is_unconstrained_and_empty_denies_all() -> None:
    assert check_ceiling(["a.b", "c.d"], None) == []
    assert check_ceiling(["a.b", "c.d"], []) == ["a.b", "c.d"]


@pytest.mark.parametrize(
    ("requested", "ceiling", "denied"),
    [
        (["secrets.read"], ["secrets.read", "mail.send"], []),
        (["secrets.read", "secrets.write"], ["secrets.read"], ["secrets.write"]),
        (["secrets.read"], ["secrets"], ["secrets.read"]),
        (["secrets.read"], ["secrets.*"], ["secrets.read"]),
        (["secrets.read"], ["*"], ["secrets.read"]),
        (["secrets.read"], ["secrets.read.all"], ["secrets.read"]),
        (["secrets.read.all"], ["secrets.read"], ["secrets.read.all"]),
        (["mail.send"], ["MAIL.SEND"], ["mail.send"]),
    ],
)
def test_ceiling_matches_exactly(requested: list[str], ceiling: list[str], denied: list[str]) -> None:
    assert check_ceiling(requested, ceiling) == denied


def test_ceiling_refuses_a_bare_string() -> None:
    with pytest.raises(ScopeError):
        check_ceiling(["a.b"], "a.b")


# ---------------------------------------------------------------- require_scopes


@pytest.mark.parametrize(
    ("granted", "required"),
    [
        ("secrets", ["secrets.read"]),
        ("secrets.read", ["secrets.readwrite"]),
        ("secrets.readwrite", ["secrets.read"]),
        ("secrets.read.all", ["secrets.read"]),
        ("secrets.read", ["secrets.read.all"]),
        ("secrets.write", ["secrets.read"]),
        ("", ["secrets.read"]),
        ("mail.send", ["mail.send", "secrets.read"]),
    ],
)
def test_require_scopes_is_exact(granted: str, required: list[str]) -> None:
    with pytest.raises(InsufficientScope) as info:
        require_scopes({"scope": granted}, required)
    assert info.value.code == "insufficient_scope"
    assert isinstance(info.value, VerificationError)
    assert set(info.value.missing) == set(required) - set(granted.split(" "))


def test_require_scopes_passes_when_all_granted() -> None:
    require_scopes({"scope": "mail.send secrets.read"}, ["secrets.read"])
    require_scopes({"scope": "mail.send secrets.read"}, ["secrets.read", "mail.send"])


def test_require_scopes_ignores_non_string_scope_claims() -> None:
    with pytest.raises(InsufficientScope):
        require_scopes({"scope": ["secrets.read"]}, ["secrets.read"])
    with pytest.raises(InsufficientScope):
        require_scopes({}, ["secrets.read"])


def test_www_authenticate_follows_rfc_6750() -> None:
    with pytest.raises(InsufficientScope) as info:
        require_scopes({"scope": "mail.send"}, ["secrets.read", "mail.send"])
    assert info.value.www_authenticate == 'Bearer error="insufficient_scope", scope="mail.send secrets.read"'
    assert info.value.missing == ("secrets.read",)


@pytest.mark.parametrize("required", [["secrets.*"], ['a.b" x="y'], [], "secrets.read"])
def test_require_scopes_refuses_malformed_requirements(required: object) -> None:
    with pytest.raises(ScopeError):
        require_scopes({"scope": "secrets.read"}, required)  # type: ignore[arg-type]
