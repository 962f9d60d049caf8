"""API keys: format, checksum, parsing, scanning and keyed hashing."""

from __future__ import annotations

import re
import string
import zlib

import pytest

from aegis.logs import REDACTED, Redactor
from broker.apikeys import (
    API_KEY_LEN,
    API_KEY_PATTERN,
    MalformedApiKey,
    ParsedKey,
    PepperError,
    generate_api_key,
    hash_api_key,
    looks_like_api_key,
    parse_api_key,
    verify_api_key_hash,
)

PEPPER = b"p" * 32
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
FORMAT = re.compile(r"aegk_[0-9a-f]{16}\.[0-9A-Za-z]{43}[0-9A-Za-z]{6}")


def b62(value: int, width: int) -> str:
    out = ""
    while value:
        value, rem = divmod(value, 62)
        out = B62[rem] + out
    return out.rjust(width, "0")


def test_generated_key_has_the_documented_format() -> None:
    key, key_id = generate_api_key()
    assert FORMAT.fullmatch(key), key
    assert len(key) == API_KEY_LEN == 71
    assert key.startswith(f"aegk_{key_id}.")
    assert re.fullmatch(r"[0-9a-f]{16}", key_id)


def test_checksum_is_crc32_of_everything_before_it_in_base62() -> None:
    key, _ = generate_api_key()
    assert key[-6:] == b62(zlib.crc32(key[:-6].encode()), 6)


def test_keys_are_unique() -> None:
    keys = {generate_api_key() for _ in range(200)}
    assert len(keys) == 200
    assert len({k_id for _, k_id in keys}) == 200


def test_parse_round_trip() -> None:
    key, key_id = generate_api_key()
    parsed = parse_api_key(key)
    assert parsed == ParsedKey(key_id=key_id, secret_part=key[22:65])
    assert len(parsed.secret_part) == 43
    assert parsed.secret_part not in repr(parsed)


def test_log_redaction_regex_catches_our_keys() -> None:
    key, _ = generate_api_key()
    scrubbed = Redactor().scrub(f"authorization failed for {key} at login")
    assert key not in scrubbed and REDACTED in scrubbed
    assert key[10:40] not in scrubbed


def test_tampered_checksum_is_detected() -> None:
    key, _ = generate_api_key()
    last = key[-1]
    bad = key[:-1] + ("A" if last != "A" else "B")
    with pytest.raises(MalformedApiKey, match="checksum"):
        parse_api_key(bad)


def test_every_single_character_substitution_is_detected() -> None:
    for _ in range(3):
        key, _ = generate_api_key()
        for pos in range(len(key)):
            for ch in B62 + "._-":
                if ch == key[pos]:
                    continue
                mutated = key[:pos] + ch + key[pos + 1 :]
                with pytest.raises(MalformedApiKey):
                    parse_api_key(mutated)


def test_transposition_of_adjacent_secret_characters_is_detected() -> None:
    key, _ = generate_api_key()
    for pos in range(22, 64):
        if key[pos] != key[pos + 1]:
            mutated = key[:pos] + key[pos + 1] + key[pos] + key[pos + 2 :]
            with pytest.raises(MalformedApiKey):
                parse_api_key(mutated)


def _with_checksum(body: str) -> str:
    return body + b62(zlib.crc32(body.encode()), 6)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda k: "aegx_" + k[5:], "prefix"),
        (lambda k: k.upper(), "prefix"),
        (lambda k: k[:-1], "length"),
        (lambda k: k + "0", "length"),
        (lambda k: " " + k, "prefix"),
        (lambda k: k + "\n", "length"),
        (lambda k: k[:70] + "é", "alphabet"),
        (lambda k: _with_checksum("aegk_0123456789ABCDEF" + k[21:65]), "alphabet"),
        (lambda k: _with_checksum(k[:21] + "_" + k[22:65]), "alphabet"),
        (lambda k: _with_checksum(k[:22] + "z" * 43), "canonical"),
        (lambda k: k * 3, "too long"),
        (lambda k: "", "prefix"),
    ],
)
def test_malformed_keys_are_rejected_with_a_reason(make: object, reason: str) -> None:
    key, _ = generate_api_key()
    bad = make(key)  # type: ignore[operator]
    with pytest.raises(MalformedApiKey, match=reason) as info:
        parse_api_key(bad)
    assert key[22:65] not in str(info.value)


def test_non_string_input_is_rejected() -> None:
    with pytest.raises(MalformedApiKey):
        parse_api_key(b"aegk_")  # type: ignore[arg-type]


def test_max_canonical_secret_is_accepted() -> None:
    body = "aegk_0123456789abcdef." + b62(2**256 - 1, 43)
    assert parse_api_key(_with_checksum(body)).key_id == "0123456789abcdef"
    with pytest.raises(MalformedApiKey, match="canonical"):
        parse_api_key(_with_checksum("aegk_0123456789abcdef." + b62(2**256, 43)))


def test_scanner_finds_keys_and_checks_their_checksum() -> None:
    key, _ = generate_api_key()
    text = f"config:\n  token = {key}\n"
    assert API_KEY_PATTERN.search(text) is not None
    assert looks_like_api_key(text)
    broken = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert API_KEY_PATTERN.search(broken) is not None
    assert not looks_like_api_key(broken)
    assert not looks_like_api_key("aegk_ is our prefix; eyJhbGciOi...")
    assert not looks_like_api_key("xaegk_" + key[5:])


def test_hash_is_a_keyed_hex_hmac() -> None:
    key, _ = generate_api_key()
    digest = hash_api_key(PEPPER, key)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == hash_api_key(PEPPER, key)
    assert digest != hash_api_key(b"q" * 32, key)
    assert digest != hash_api_key(PEPPER, generate_api_key()[0])
    assert key not in digest


def test_verify_hash() -> None:
    key, _ = generate_api_key()
    stored = hash_api_key(PEPPER, key)
    assert verify_api_key_hash(PEPPER, key, stored)
    assert not verify_api_key_hash(PEPPER, generate_api_key()[0], stored)
    assert not verify_api_key_hash(b"q" * 32, key, stored)
    assert not verify_api_key_hash(PEPPER, key, stored.upper())
    assert not verify_api_key_hash(PEPPER, key, stored[:-1])
    assert not verify_api_key_hash(PEPPER, key, "")
    assert not verify_api_key_hash(PEPPER, key, "é" * 64)


@pytest.mark.parametrize("pepper", [b"", b"short", b"x" * 31, "p" * 32])
def test_weak_pepper_is_refused(pepper: object) -> None:
    with pytest.raises(PepperError):
        hash_api_key(pepper, "aegk_x")  # type: ignore[arg-type]
    with pytest.raises(PepperError):
        verify_api_key_hash(pepper, "aegk_x", "0" * 64)  # type: ignore[arg-type]
