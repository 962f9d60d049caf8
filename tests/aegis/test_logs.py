"""Logging: no secret reaches the log stream, whichever way it is logged."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from aegis.logs import REDACTED, Redactor, configure_logging
from aegis.runtime import build_context
from aegis.settings import Settings

CANARY = "canary-Pw-91c2e7f0d4"
CANARY2 = 'tok"en\\Canary-55aa'  # characters that JSON and repr() escape
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYW5hcnkiLCJpYXQiOjE3MDAwMDAwMDB9"
    ".c2lnbmF0dXJlLWNhbmFyeS1zaWduYXR1cmU"
)
PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7canaryPEMbody"
PEM = f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\nQ2FuYXJ5UEVNbGluZTI=\n-----END PRIVATE KEY-----"
LEAKS = (CANARY, CANARY2, JWT, PEM_BODY, "Q2FuYXJ5UEVNbGluZTI", "c2lnbmF0dXJlLWNhbmFyeS1zaWduYXR1cmU")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def _boom(detail: str) -> None:
    raise ValueError(f"login failed for token {detail}")


def _log_everything() -> None:
    log = structlog.get_logger("test.struct")
    std = logging.getLogger("test.std")
    log.info(f"struct message before {CANARY} after", token=CANARY2, pem=PEM)
    log.warning("struct nested", ctx={"deep": [CANARY, {"jwt": JWT}], CANARY: "as a key"}, raw=CANARY.encode())
    log.info("struct positional %s", CANARY)
    std.warning("stdlib message %s and %s", CANARY, JWT)
    std.error(f"stdlib fstring {CANARY2} end")
    try:
        _boom(f"{CANARY} {JWT}")
    except ValueError as exc:
        log.exception("struct failure context")
        std.exception("stdlib failure context")
        log.error("struct error object", error=exc)


def _assert_clean(out: str) -> None:
    for leak in LEAKS:
        assert leak not in out
    # Escaped forms as repr() or JSON would write them.
    assert json.dumps(CANARY2)[1:-1] not in out
    assert repr(CANARY2)[1:-1] not in out
    for text in (
        "struct message before",
        "after",
        "struct nested",
        "as a key",
        "struct positional",
        "stdlib message",
        "stdlib fstring",
        "end",
        "struct failure context",
        "stdlib failure context",
        "struct error object",
        "Traceback (most recent call last)",
        "ValueError: login failed for token",
        "_boom",
        REDACTED,
    ):
        assert text in out


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "console"])
def test_canaries_never_reach_stderr(capsys: pytest.CaptureFixture[str], as_json: bool) -> None:
    redactor = Redactor()
    redactor.register(CANARY)
    redactor.register(CANARY2)
    configure_logging(redactor, level="INFO", json=as_json)
    _log_everything()
    captured = capsys.readouterr()
    assert captured.out == ""
    _assert_clean(captured.err)
    assert captured.err.count("Traceback (most recent call last)") == 2


def test_json_output_is_one_valid_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    redactor = Redactor()
    redactor.register(CANARY)
    configure_logging(redactor, level="INFO", json=True)
    _log_everything()
    lines = capsys.readouterr().err.splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 8
    assert all(isinstance(r, dict) and "timestamp" in r and "level" in r for r in records)
    by_event = {r["event"]: r for r in records}
    assert by_event["struct failure context"]["exception"].startswith("Traceback")
    assert by_event["stdlib failure context"]["logger"] == "test.std"
    assert by_event["struct nested"]["ctx"]["deep"][0] == REDACTED
    assert by_event["struct nested"]["ctx"]["deep"][1] == {"jwt": REDACTED}
    assert by_event["struct message before [REDACTED] after"]["pem"] == REDACTED


def test_level_filters_records(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Redactor(), level="WARNING", json=True)
    structlog.get_logger("t").info("quiet-info-line")
    logging.getLogger("t").warning("loud-warning-line")
    err = capsys.readouterr().err
    assert "quiet-info-line" not in err
    assert "loud-warning-line" in err


def test_longer_secret_is_removed_whole() -> None:
    redactor = Redactor()
    redactor.register("abcdef123")
    redactor.register("abcdef123-and-the-rest")
    assert redactor.scrub("x abcdef123-and-the-rest y") == f"x {REDACTED} y"
    assert redactor.scrub("x abcdef123 y") == f"x {REDACTED} y"


def test_short_values_are_not_registered() -> None:
    redactor = Redactor()
    redactor.register("abc")
    assert redactor.scrub("abc abcabc") == "abc abcabc"


@pytest.mark.parametrize(
    "text",
    [
        "key: -----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34\n-----END RSA PRIVATE KEY-----",
        "cut short: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA",
        "api key aegk_AbC123.DeF456",
        f"header Bearer {JWT}",
    ],
)
def test_shaped_secrets_are_redacted_without_registration(text: str) -> None:
    out = Redactor().scrub(text)
    assert REDACTED in out
    assert "MIIBOgIBAAJBAKj34" not in out
    assert "b3BlbnNzaC1rZXktdjEAAAAA" not in out
    assert "DeF456" not in out
    assert JWT not in out


def test_secrets_read_by_the_runtime_are_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "api_key"
    key_file.write_text(CANARY + "\n")
    os.chmod(key_file, 0o600)
    monkeypatch.setenv("AEGIS_API_KEY_FILE", str(key_file))
    umask = os.umask(0o022)
    try:
        ctx = build_context(Settings(data_dir=tmp_path / "data", log_json=True))
        secret = ctx.secrets.get("api_key")
    finally:
        os.umask(umask)
    assert secret is not None
    structlog.get_logger("t").info("calling upstream", auth=f"Bearer {secret.reveal()}")
    err = capsys.readouterr().err
    assert CANARY not in err
    assert json.loads(err)["auth"] == f"Bearer {REDACTED}"
