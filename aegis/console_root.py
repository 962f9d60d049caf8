"""The console's own broker identity: an API key that may fetch only the console's data-key domains."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from aegis.broker_root import read_admin_token
from aegis.runtime import Context
from aegis.secrets import SecretError, check_private_file
from broker.client import BrokerClient, BrokerClientError
from broker.grants import fetch_keyring
from storage.crypto.keyring import Keyring

PRINCIPAL = "console"
SECRET = "console_api_key"  # noqa: S105 - the name of the secret file
DOMAINS = frozenset({"auth", "audit"})


def key_path(ctx: Context) -> Path:
    found = ctx.secrets.path_for(SECRET)
    if found is not None:
        return found
    if ctx.settings.production:
        raise SecretError("production mode needs console_api_key as a Docker secret or AEGIS_CONSOLE_API_KEY_FILE")
    return ctx.settings.data_dir / "console.key"


async def ensure_console_key(ctx: Context, client: BrokerClient) -> str:
    """Embedded mode creates the console's key on first start; production reads its Docker secret."""
    path = key_path(ctx)
    if not path.exists() and not ctx.settings.production:
        admin = BrokerClient(client.http, admin_token=read_admin_token(ctx))
        resources = sorted(f"domain:{d}" for d in DOMAINS)
        try:
            await admin.set_policy(PRINCIPAL, ["datakeys.read"], resources)
        except BrokerClientError as exc:
            if exc.status != 404:  # 404: first start, the principal does not exist yet
                raise
        out = await admin.create_key(
            principal=PRINCIPAL,
            description="the web console",
            max_scopes=["datakeys.read"],
            max_resources=resources,
            scopes=["datakeys.read"],
            resources=resources,
            expires_in_days=365,
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(out["api_key"] + "\n")
    check_private_file(path)
    key = path.read_text(encoding="ascii").strip()
    ctx.redactor.register(key)
    return key


async def console_keyring(ctx: Context) -> Keyring:
    async with httpx.AsyncClient(base_url=ctx.settings.resolved_broker_url, timeout=30) as http:
        client = BrokerClient(http)
        key = await ensure_console_key(ctx, client)
        return await fetch_keyring(client, key, set(DOMAINS))
