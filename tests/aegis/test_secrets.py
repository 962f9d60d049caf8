"""SecretSource: secrets come from private files, never from placeholders, and are never echoed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aegis.secrets import Secret, SecretError, SecretSource, check_private_file, is_placeholder

VALUE = "s3cr3t-Canary-7f1e9a2b"


def _write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    d = tmp_path / "run-secrets"
    d.mkdir()
    return d


def test_reads_from_the_file_named_by_env(tmp_path: Path, secrets_dir: Path) -> None:
    path = _write(tmp_path / "key.txt", f"  {VALUE}\n")
    src = SecretSource(secrets_dir, production=True, environ={"AEGIS_API_KEY_FILE": str(path)})
    secret = src.get("api_key")
    assert secret is not None
    assert secret.reveal() == VALUE
    assert secret.name == "api_key"
    assert src.path_for("api_key") == path


def test_reads_from_the_secrets_dir(secrets_dir: Path) -> None:
    _write(secrets_dir / "api_key", VALUE + "\n")
    src = SecretSource(secrets_dir, production=True, environ={})
    secret = src.get("API_KEY")
    assert secret is not None
    assert secret.reveal() == VALUE


def test_env_file_wins_over_the_secrets_dir(tmp_path: Path, secrets_dir: Path) -> None:
    _write(secrets_dir / "api_key", "from-the-directory")
    path = _write(tmp_path / "key.txt", VALUE)
    src = SecretSource(secrets_dir, production=False, environ={"AEGIS_API_KEY_FILE": str(path)})
    secret = src.get("api_key")
    assert secret is not None
    assert secret.reveal() == VALUE


def test_production_refuses_a_plain_env_var(secrets_dir: Path) -> None:
    src = SecretSource(secrets_dir, production=True, environ={"AEGIS_API_KEY": VALUE})
    with pytest.raises(SecretError) as err:
        src.get("api_key")
    message = str(err.value)
    assert "AEGIS_API_KEY is set as a plain environment variable" in message
    assert "AEGIS_API_KEY_FILE" in message
    assert VALUE not in message


def test_production_refuses_a_plain_env_var_even_next_to_a_file(tmp_path: Path, secrets_dir: Path) -> None:
    path = _write(tmp_path / "key.txt", "file-value-123456")
    env = {"AEGIS_API_KEY": VALUE, "AEGIS_API_KEY_FILE": str(path)}
    with pytest.raises(SecretError, match="plain environment variable") as err:
        SecretSource(secrets_dir, production=True, environ=env).get("api_key")
    assert VALUE not in str(err.value)


def test_embedded_accepts_a_plain_env_var(secrets_dir: Path) -> None:
    secret = SecretSource(secrets_dir, production=False, environ={"AEGIS_API_KEY": VALUE}).get("api_key")
    assert secret is not None
    assert secret.reveal() == VALUE


def test_missing_secret(secrets_dir: Path) -> None:
    src = SecretSource(secrets_dir, production=False, environ={})
    with pytest.raises(SecretError, match="secret 'api_key' not found: set AEGIS_API_KEY_FILE"):
        src.get("api_key")
    assert src.get("api_key", required=False) is None


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o602, 0o620, 0o666])
def test_file_open_to_group_or_others_is_refused(tmp_path: Path, secrets_dir: Path, mode: int) -> None:
    path = _write(tmp_path / "key.txt", VALUE, mode)
    src = SecretSource(secrets_dir, production=True, environ={"AEGIS_API_KEY_FILE": str(path)})
    with pytest.raises(SecretError) as err:
        src.get("api_key")
    message = str(err.value)
    assert f"mode {mode:04o}" in message
    assert f"chmod 600 {path}" in message
    assert VALUE not in message


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_private_file_is_accepted(tmp_path: Path, mode: int) -> None:
    path = _write(tmp_path / "key.txt", VALUE, mode)
    check_private_file(path)
    secret = SecretSource(tmp_path, production=True, environ={"AEGIS_K_FILE": str(path)}).get("k")
    assert secret is not None
    assert secret.reveal() == VALUE


def test_directory_or_missing_file_is_refused(tmp_path: Path, secrets_dir: Path) -> None:
    with pytest.raises(SecretError, match="is not a regular file"):
        check_private_file(secrets_dir)
    with pytest.raises(SecretError, match="does not exist"):
        SecretSource(secrets_dir, production=True, environ={"AEGIS_K_FILE": str(tmp_path / "nope")}).get("k")


def test_unreadable_file_errors_without_content(tmp_path: Path, secrets_dir: Path) -> None:
    path = tmp_path / "key.bin"
    path.write_bytes(b"\xff\xfe" + VALUE.encode())
    os.chmod(path, 0o600)
    with pytest.raises(SecretError, match="is not UTF-8 text") as err:
        SecretSource(secrets_dir, production=True, environ={"AEGIS_K_FILE": str(path)}).get("k")
    assert VALUE not in str(err.value)
    assert "\\xff" not in str(err.value)
    with pytest.raises(SecretError, match="cannot be read"):
        SecretSource(secrets_dir, production=False, environ={"AEGIS_K_FILE": str(secrets_dir)}).get(
            "k", check_perms=False
        )


PLACEHOLDERS = [
    "changethis",
    "CHANGEME",
    "change_me",
    "<your key>",
    "<API_KEY>",
    "xxxx",
    "XXXXXXXXXXXX",
    "****",
    "",
    "   ",
    "${AEGIS_API_KEY}",
    "your-api-key-here",
    "dummy",
]


@pytest.mark.parametrize("value", PLACEHOLDERS, ids=[f"p{i}" for i in range(len(PLACEHOLDERS))])
def test_placeholder_in_a_file_is_refused(tmp_path: Path, secrets_dir: Path, value: str) -> None:
    _write(secrets_dir / "api_key", value + "\n")
    with pytest.raises(SecretError, match="still holds a placeholder value") as err:
        SecretSource(secrets_dir, production=True, environ={}).get("api_key")
    if value.strip():
        assert value.strip() not in str(err.value)


@pytest.mark.parametrize("value", PLACEHOLDERS, ids=[f"p{i}" for i in range(len(PLACEHOLDERS))])
def test_placeholder_in_env_is_refused(secrets_dir: Path, value: str) -> None:
    with pytest.raises(SecretError, match=r"AEGIS_API_KEY.*still holds a placeholder value"):
        SecretSource(secrets_dir, production=False, environ={"AEGIS_API_KEY": value}).get("api_key")


@pytest.mark.parametrize("value", [VALUE, "x9", "correct horse battery staple", "<not-closed", "sk-live-abc"])
def test_real_values_are_not_placeholders(value: str) -> None:
    assert not is_placeholder(value)


def test_secret_never_shows_its_value() -> None:
    secret = Secret("api_key", VALUE)
    for text in (
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        format(secret),
        ascii(secret),
        repr([secret]),
    ):
        assert VALUE not in text
        assert "api_key" in text
    assert secret.reveal() == VALUE
    assert not hasattr(secret, "__dict__")


def test_secret_is_not_compared_or_hashed_by_value() -> None:
    a, b = Secret("k", VALUE), Secret("k", VALUE)
    assert a != b  # no timing-unsafe equality on the value
    assert a == a
    with pytest.raises(TypeError):
        hash(a)


def test_on_read_receives_each_value(tmp_path: Path, secrets_dir: Path) -> None:
    seen: list[str] = []
    path = _write(tmp_path / "key.txt", VALUE)
    src = SecretSource(secrets_dir, production=True, environ={"AEGIS_K_FILE": str(path)}, on_read=seen.append)
    src.get("k")
    assert seen == [VALUE]
    with pytest.raises(SecretError):
        SecretSource(secrets_dir, production=False, environ={"AEGIS_K": "changeme"}, on_read=seen.append).get("k")
    assert seen == [VALUE]  # a refused value is not passed on
