"""The one validated settings object. Built by the composition root, never at import time."""

from __future__ import annotations

import ipaddress
import os
import ssl
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from broker.tls import client_verify
from web.auth.passkeys import RelyingParty


class Mode(StrEnum):
    embedded = "embedded"
    production = "production"


class Settings(BaseSettings):
    """Non-secret configuration. Secrets are read from files by :class:`aegis.secrets.SecretSource`."""

    # hide_input_in_errors: a validation error must not echo values (a database URL can hold a password).
    model_config = SettingsConfigDict(env_prefix="AEGIS_", extra="ignore", frozen=True, hide_input_in_errors=True)

    mode: Mode = Mode.embedded
    data_dir: Path = Path("data")
    database_url: str | None = None
    secrets_dir: Path = Path("/run/secrets")
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8420
    broker_host: str = "127.0.0.1"
    broker_port: Annotated[int, Field(ge=1, le=65535)] = 8421
    broker_url: str | None = None
    broker_issuer: str | None = None  # the broker's token issuer; defaults to its URL
    log_level: str = "INFO"
    log_json: bool = False
    allow_public_bind: bool = False
    # The demo profile serves the integrations from built-in sandbox data (no vendor accounts needed).
    # Unset: on in embedded mode, off in production.
    demo: bool | None = None
    model: str = "claude-sonnet-4-6"
    # "anthropic" (Claude, the default) or "openai": any OpenAI-compatible server (aegis.model_root).
    model_provider: Literal["anthropic", "openai"] = "anthropic"
    # Anthropic: a proxy or gateway in front of the API; openai: the server's /v1 address (required).
    model_base_url: str | None = None
    # The Google OAuth client, for integrations that connect through Google (the client secret is the
    # google_client_secret secret file).
    google_client_id: str | None = None
    google_redirect_uri: str | None = None
    # The Microsoft (Entra) app registration, for integrations that connect through Microsoft: a public
    # client (authorization code with PKCE, no secret); the authority defaults to /common.
    microsoft_client_id: str | None = None
    microsoft_redirect_uri: str | None = None
    microsoft_authority: str | None = None
    # Peers (IPs or CIDRs) whose X-Forwarded-For/-Proto the console believes, e.g. the tunnel's local end.
    trusted_proxies: list[str] = []
    # The owner's time zone (IANA name): recurring jobs fire on this wall clock, across DST changes.
    timezone: str = "UTC"
    # The console's address as the owner's phone reaches it (the tunnel's HTTPS URL), for the links
    # in push notifications. Push itself is on when the push_url secret file (an ntfy topic URL) exists.
    console_url: str | None = None
    # TLS between services (the deployed setup; embedded mode stays on plain loopback HTTP).
    # This process serves HTTPS with this certificate and key (TLS 1.3 only)...
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    # ...and trusts only this CA for the broker's certificate.
    broker_ca_file: Path | None = None
    # How long before each coursework deadline its reminder fires (once per deadline).
    deadline_reminder_hours: Annotated[float, Field(gt=0, le=24 * 14)] = 24.0
    # The owner's daily goals, read by briefing sections and panels as ``$goal:<name>`` arguments.
    goal_steps: Annotated[int, Field(ge=0, le=100_000)] = 10_000
    goal_active_kcal: Annotated[int, Field(ge=0, le=10_000)] = 500
    goal_sleep_hours: Annotated[float, Field(ge=0, le=24)] = 7.5
    # How often the broker signs a checkpoint of the audit chain's head (and once more when it stops).
    audit_checkpoint_seconds: Annotated[float, Field(gt=0)] = 60.0
    # Migrations run with this URL when set (a role that owns the schema); the application's own
    # database_url then names a role that cannot alter the audit tables (see storage/roles.py).
    migration_database_url: str | None = None
    # Voice (the console's voice page): off, or the speech engine. Kokoro needs its weights in
    # <data_dir>/voice/kokoro/ (and the kokoro-onnx package); without them hibari speaks.
    # Deepgram transcribes when the deepgram_api_key secret file exists; Whisper tiny.en otherwise.
    voice: bool = True
    voice_tts: Literal["hibari", "kokoro"] = "hibari"
    voice_store_audio: bool = False  # keep the owner's recorded speech, encrypted, beside each transcript
    voice_end_of_turn_ms: Annotated[int, Field(ge=200, le=3000)] = 500

    def goals(self) -> dict[str, float]:
        """The owner's goals by name, for ``$goal:<name>`` view arguments (integrations.views)."""
        return {"steps": self.goal_steps, "active_kcal": self.goal_active_kcal, "sleep_hours": self.goal_sleep_hours}

    @field_validator("console_url")
    @classmethod
    def _console_url(cls, v: str | None) -> str | None:
        if v is not None:
            RelyingParty.from_url(v)  # passkeys take their relying party from it: https, or http on localhost
        return v

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        v = v.upper()
        if v not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("log_level must be DEBUG, INFO, WARNING or ERROR")
        return v

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones, such as "America"
            raise ValueError("timezone must be an IANA time zone name such as 'Europe/Paris' or 'UTC'") from None
        return v

    @model_validator(mode="after")
    def _bind_is_local(self) -> Settings:
        for host in (self.host, self.broker_host):
            if not self.allow_public_bind and not _is_loopback(host):
                raise ValueError(
                    f"refusing to bind {host!r}: Aegis binds loopback only unless "
                    "AEGIS_ALLOW_PUBLIC_BIND=true (deployed behind a private network)"
                )
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("set both AEGIS_TLS_CERT_FILE and AEGIS_TLS_KEY_FILE, or neither")
        if self.mode is Mode.production:
            self._check_production_database()
        return self

    def _check_production_database(self) -> None:
        """Production uses PostgreSQL. A URL holding a password is a secret: it must come from a file."""
        if self.migration_database_url is not None and make_url(self.migration_database_url).password:
            raise ValueError(
                "AEGIS_MIGRATION_DATABASE_URL holds a password; in production put the URL in the "
                "migration_database_url secret (/run/secrets/migration_database_url)"
            )
        if self.database_url is None:
            if "AEGIS_DATABASE_URL_FILE" in os.environ or (self.secrets_dir / "database_url").exists():
                return
            raise ValueError("production mode needs a PostgreSQL URL: AEGIS_DATABASE_URL, or the database_url secret")
        if not self.database_url.startswith("postgresql"):
            raise ValueError("production mode needs AEGIS_DATABASE_URL set to a PostgreSQL database")
        if make_url(self.database_url).password:
            raise ValueError(
                "AEGIS_DATABASE_URL holds a password; in production put the URL in the database_url secret "
                "(/run/secrets/database_url or AEGIS_DATABASE_URL_FILE)"
            )

    @property
    def demo_profile(self) -> bool:
        return (not self.production) if self.demo is None else self.demo

    @property
    def production(self) -> bool:
        return self.mode is Mode.production

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'aegis.db').resolve()}"

    @property
    def master_key_path(self) -> Path:
        return self.data_dir / "master.key"

    @property
    def resolved_broker_issuer(self) -> str:
        return self.broker_issuer or self.resolved_broker_url

    @property
    def resolved_broker_url(self) -> str:
        if self.broker_url:
            return self.broker_url
        scheme = "https" if self.tls_cert_file is not None else "http"
        return f"{scheme}://{self.broker_host}:{self.broker_port}"

    @property
    def broker_verify(self) -> ssl.SSLContext | bool:
        """httpx's ``verify`` for calls to the broker."""
        return client_verify(self.broker_ca_file)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
