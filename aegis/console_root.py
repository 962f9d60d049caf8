"""The console's keyring: only the data-key domains the console and agent need."""

from __future__ import annotations

import httpx

from aegis.identities import console_identity, ensure_key, read_key
from aegis.runtime import Context
from broker.client import BrokerClient
from broker.grants import fetch_keyring
from storage.crypto.keyring import Keyring

DOMAINS = frozenset({"auth", "audit", "chain", "conversation"})


async def console_keyring(ctx: Context) -> Keyring:
    async with httpx.AsyncClient(
        base_url=ctx.settings.resolved_broker_url, timeout=30, verify=ctx.settings.broker_verify
    ) as http:
        client = BrokerClient(http)
        key = read_key(ctx, await ensure_key(ctx, client, console_identity(ctx.catalog)))
        return await fetch_keyring(client, key, set(DOMAINS))
