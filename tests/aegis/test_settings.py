"""Settings: validated ``AEGIS_*`` configuration that refuses unsafe or broken values."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from aegis.settings import Mode, Settings

ANY = "0.0.0.0"  # noqa: S104 - the address these tests expect to be refused


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test sets itself: no AEGIS_* variable from the caller's shell."""
    for name in list(os.environ):
        if name.startswith("AEGIS_"):
            monkeypatch.delenv(name)


def test_defaults_are_embedded_and_loopback() -> None:
    s = Settings()
    assert s.mode is Mode.embedded
    assert not s.production
    assert (s.host, s.port) == ("127.0.0.1", 8420)
    assert s.log_level == "INFO"
    assert s.master_key_path == Path("data") / "master.key"
    assert s.resolved_database_url == f"sqlite+aiosqlite:///{(Path('data') / 'aegis.db').resolve()}"


def test_values_come_from_aegis_prefixed_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AEGIS_PORT", "9001")
    monkeypatch.setenv("AEGIS_LOG_LEVEL", "debug")
    monkeypatch.setenv("AEGIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PORT", "1")  # unprefixed: ignored
    s = Settings()
    assert s.port == 9001
    assert s.log_level == "DEBUG"
    assert s.master_key_path == tmp_path / "master.key"


@pytest.mark.parametrize("port", ["0", "-1", "65536", "80000", "http", ""])
def test_bad_port_is_refused(monkeypatch: pytest.MonkeyPatch, port: str) -> None:
    monkeypatch.setenv("AEGIS_PORT", port)
    with pytest.raises(ValidationError) as err:
        Settings()
    assert err.value.errors()[0]["loc"] == ("port",)


@pytest.mark.parametrize("port", [1, 8420, 65535])
def test_port_bounds_are_accepted(port: int) -> None:
    assert Settings(port=port).port == port


@pytest.mark.parametrize("level", ["verbose", "TRACE", "CRITICAL", "", "info "])
def test_bad_log_level_is_refused(monkeypatch: pytest.MonkeyPatch, level: str) -> None:
    monkeypatch.setenv("AEGIS_LOG_LEVEL", level)
    with pytest.raises(ValidationError, match="log_level must be DEBUG, INFO, WARNING or ERROR"):
        Settings()


@pytest.mark.parametrize("host", [ANY, "::", "192.168.1.20", "10.0.0.5", "example.com", "aegis"])
def test_non_loopback_bind_is_refused(monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    monkeypatch.setenv("AEGIS_HOST", host)
    with pytest.raises(ValidationError) as err:
        Settings()
    message = str(err.value)
    assert f"refusing to bind {host!r}" in message
    assert "AEGIS_ALLOW_PUBLIC_BIND=true" in message


def test_non_loopback_broker_bind_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEGIS_BROKER_HOST", ANY)
    with pytest.raises(ValidationError, match=re.escape(f"refusing to bind {ANY!r}")):
        Settings()


@pytest.mark.parametrize("value", ["false", "0", "no"])
def test_public_bind_needs_an_explicit_true(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("AEGIS_HOST", ANY)
    monkeypatch.setenv("AEGIS_ALLOW_PUBLIC_BIND", value)
    with pytest.raises(ValidationError, match="refusing to bind"):
        Settings()


def test_public_bind_is_allowed_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEGIS_HOST", ANY)
    monkeypatch.setenv("AEGIS_ALLOW_PUBLIC_BIND", "true")
    s = Settings()
    assert s.host == ANY
    assert s.allow_public_bind


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    assert Settings(host=host).host == host


def test_production_needs_a_database_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AEGIS_MODE", "production")
    monkeypatch.setenv("AEGIS_SECRETS_DIR", str(tmp_path))
    with pytest.raises(ValidationError, match="production mode needs a PostgreSQL URL"):
        Settings()


def test_production_refuses_a_password_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEGIS_MODE", "production")
    monkeypatch.setenv("AEGIS_DATABASE_URL", "postgresql+asyncpg://aegis:s3cret-canary@db:5432/aegis")
    with pytest.raises(ValidationError, match="database_url secret") as err:
        Settings()
    assert "s3cret-canary" not in str(err.value)


def test_production_accepts_the_database_url_secret_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "database_url").write_text("postgresql+asyncpg://aegis:pw@db:5432/aegis\n")
    monkeypatch.setenv("AEGIS_MODE", "production")
    monkeypatch.setenv("AEGIS_SECRETS_DIR", str(tmp_path))
    assert Settings().production


def test_production_refuses_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEGIS_MODE", "production")
    monkeypatch.setenv("AEGIS_DATABASE_URL", "sqlite+aiosqlite:///data/aegis.db")
    with pytest.raises(ValidationError, match="PostgreSQL"):
        Settings()


def test_production_with_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+asyncpg://aegis@db:5432/aegis"
    monkeypatch.setenv("AEGIS_MODE", "production")
    monkeypatch.setenv("AEGIS_DATABASE_URL", url)
    s = Settings()
    assert s.production
    assert s.resolved_database_url == url


def test_unknown_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEGIS_MODE", "prod")
    with pytest.raises(ValidationError) as err:
        Settings()
    assert err.value.errors()[0]["loc"] == ("mode",)


def test_validation_errors_do_not_echo_values(monkeypatch: pytest.MonkeyPatch) -> None:
    # A database URL may carry a password: the error lists what is wrong, not the input.
    monkeypatch.setenv("AEGIS_MODE", "production")
    monkeypatch.setenv("AEGIS_DATABASE_URL", "postgresql+asyncpg://aegis:hunter2-pw-canary@db/aegis")
    monkeypatch.setenv("AEGIS_HOST", ANY)
    with pytest.raises(ValidationError) as err:
        Settings()
    assert "refusing to bind" in str(err.value)
    assert "hunter2-pw-canary" not in str(err.value)
    assert "hunter2-pw-canary" not in repr(err.value)


def test_settings_are_frozen() -> None:
    s = Settings()
    with pytest.raises(ValidationError):
        s.port = 1  # type: ignore[misc]
    assert s.port == 8420


def test_production_refuses_a_migration_password_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "database_url").write_text("postgresql+asyncpg://aegis_app:pw@db:5432/aegis\n")
    monkeypatch.setenv("AEGIS_MODE", "production")
    monkeypatch.setenv("AEGIS_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("AEGIS_MIGRATION_DATABASE_URL", "postgresql+asyncpg://aegis_owner:s3cret-canary@db/aegis")
    with pytest.raises(ValidationError, match="migration_database_url secret") as err:
        Settings()
    assert "s3cret-canary" not in str(err.value)
