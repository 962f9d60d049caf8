from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from agent.gateway.redact import SecretScanner, luhn_ok

SECRET = "vault+Value/42?=ok"


def _forms() -> list[str]:
    raw = SECRET.encode()
    return [
        SECRET,
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode(),
        raw.hex(),
        raw.hex().upper(),
        quote(SECRET, safe=""),
    ]


@pytest.mark.parametrize("form", _forms())
def test_registered_secret_is_found_in_every_encoding(form: str) -> None:
    scanner = SecretScanner([SECRET])
    text, findings = scanner.redact(f"prefix {form} suffix")
    assert form not in text
    assert text == "prefix ⟦secret:1⟧ suffix"
    assert [f.kind for f in findings] == ["registered"]


@pytest.mark.parametrize(
    ("kind", "text", "leak"),
    [
        ("api_key", "key: sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv", "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv"),
        ("github_token", "ghp_0123456789abcdefghijABCDEFGHIJ012345", "ghp_0123456789abcdefghij"),
        ("slack_token", "token xoxb-1234567890-abcdefghij", "xoxb-1234567890"),
        ("aws_access_key", "AKIAIOSFODNN7EXAMPLE is the id", "AKIAIOSFODNN7EXAMPLE"),
        ("broker_key", "use aegk_0a1b2c3d.Zx9Yw8Vu7Ts6 now", "aegk_0a1b2c3d.Zx9Yw8Vu7Ts6"),
        ("bearer", "Authorization: Bearer abc.DEF-ghi_123456", "abc.DEF-ghi_123456"),
        ("jwt", "t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig_nature-1", "eyJhbGciOiJIUzI1NiJ9"),
        ("pem_private_key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIB\n-----END RSA PRIVATE KEY-----", "MIIEpAIB"),
        ("pem_private_key", "-----BEGIN PRIVATE KEY-----\nMIIEtruncated", "MIIEtruncated"),
        ("card_number", "card 4111 1111 1111 1111 exp 12/29", "4111 1111 1111 1111"),
        ("card_number", "card 5500-0000-0000-0004", "5500-0000-0000-0004"),
        ("otp", "Your verification code is 482913.", "482913"),
        ("otp", "verification code: 482913", "482913"),
        ("otp", "Use OTP 7731 to sign in", "7731"),
        ("otp", "482913 is your Acme login code", "482913"),
        ("secret_link", "Reset: https://acct.example/reset-password?token=Zk29sLq0pXz", "Zk29sLq0pXz"),
        ("secret_link", "https://app.example/magic/login/abcdefghijklmnopqrstuvwx", "abcdefghijklmnopqrstuvwx"),
    ],
)
def test_detectors_redact_each_kind(kind: str, text: str, leak: str) -> None:
    out, findings = SecretScanner().redact(text)
    assert leak not in out
    assert "⟦secret:" in out
    assert kind in {f.kind for f in findings}


@pytest.mark.parametrize(
    "text",
    [
        "Meeting at 10:30 in room 4821",
        "Call me on +44 20 7946 0958",
        "order 4111 1111 1111 1112 (not Luhn)",
        "https://apnews.com/article/technology-ai-2026",
        "the sk- prefix alone",
        "Your package code of conduct",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    out, findings = SecretScanner([SECRET]).redact(text)
    assert out == text
    assert findings == []


def test_luhn() -> None:
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")


def test_short_values_are_not_registered() -> None:
    scanner = SecretScanner(["abc"])
    assert scanner.scan("abc abc") == []


def test_json_like_values_are_redacted_recursively_with_stable_handles() -> None:
    scanner = SecretScanner([SECRET])
    value = {"a": [SECRET, {"b": f"x {SECRET}"}], SECRET: 1, "n": 3, "ok": True, "none": None}
    out, findings = scanner.redact_value(value)
    assert SECRET not in str(out)
    assert out["a"] == ["⟦secret:1⟧", {"b": "x ⟦secret:1⟧"}]
    assert out["⟦secret:1⟧"] == 1
    assert out["n"] == 3
    assert {f.path for f in findings} == {"$.a[0]", "$.a[1].b", "$.<key>"}
    assert len(scanner.scan(value)) == len(findings) == 3


def test_overlapping_matches_are_merged_into_one_handle() -> None:
    scanner = SecretScanner(["sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv"])
    out, findings = scanner.redact("x sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv y")
    assert out == "x ⟦secret:1⟧ y"
    assert len(findings) == 1
