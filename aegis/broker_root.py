"""Builds the broker from settings: where its master key and admin token come from."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from aegis.runtime import Context
from aegis.secrets import SecretError, check_private_file
from broker.config import BrokerConfig
from storage.audit_checkpoint import FILE_NAME

ADMIN_TOKEN = "broker_admin_token"  # noqa: S105 - the name of the secret file
MASTER_KEY = "master_key"


def master_key_path(ctx: Context) -> Path:
    """Production: a Docker secret (or AEGIS_MASTER_KEY_FILE). Embedded: the data folder."""
    found = ctx.secrets.path_for(MASTER_KEY)
    if found is not None:
        return found
    if ctx.settings.production:
        raise SecretError("production mode needs the master key as a Docker secret or AEGIS_MASTER_KEY_FILE")
    return ctx.settings.master_key_path


def admin_token_path(ctx: Context) -> Path:
    found = ctx.secrets.path_for(ADMIN_TOKEN)
    if found is not None:
        return found
    if ctx.settings.production:
        raise SecretError(
            "production mode needs broker_admin_token as a Docker secret or AEGIS_BROKER_ADMIN_TOKEN_FILE"
        )
    return ctx.settings.data_dir / "broker-admin.token"


def ensure_admin_token(ctx: Context) -> Path:
    """Embedded mode: create the admin token file (0600) on first start."""
    path = admin_token_path(ctx)
    if not path.exists() and not ctx.settings.production:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(32) + "\n")
    return path


def read_admin_token(ctx: Context) -> str:
    secret = ctx.secrets.get(ADMIN_TOKEN, required=False)
    if secret is None:
        path = admin_token_path(ctx)
        check_private_file(path)
        value = path.read_text(encoding="ascii").strip()
    else:
        value = secret.reveal()
    ctx.redactor.register(value)
    return value


def broker_config(ctx: Context) -> BrokerConfig:
    s = ctx.settings
    return BrokerConfig(
        database_url=ctx.database_url,
        master_key_path=master_key_path(ctx),
        admin_token=read_admin_token(ctx),
        issuer=s.resolved_broker_issuer,
        checkpoint_path=s.data_dir / FILE_NAME,
        checkpoint_seconds=s.audit_checkpoint_seconds,
    )
