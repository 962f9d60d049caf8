"""How a process other than the broker gets its keyring: mint one token per granted domain, fetch."""

from __future__ import annotations

import base64

from broker.client import BrokerClient
from storage.crypto.keyring import DataKey, Keyring

GRANT_TTL = 60


async def fetch_keyring(client: BrokerClient, api_key: str, domains: set[str]) -> Keyring:
    keys: list[DataKey] = []
    for domain in sorted(domains):
        minted = await client.mint(
            api_key, aud="aegis", scopes=["datakeys.read"], resource=f"domain:{domain}", ttl_seconds=GRANT_TTL
        )
        body = await client.call("GET", f"/v1/datakeys/{domain}", bearer=minted["access_token"])
        keys.extend(DataKey(k["kid"], base64.b64decode(k["material"]), k["state"]) for k in body["keys"])
    return Keyring(keys)
