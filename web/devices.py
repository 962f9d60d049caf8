"""Per-device ingest tokens for push integrations: issued, listed and revoked by the console.

A device token is a broker API key of the principal ``device-<integration>-<device>`` whose ceiling
is the integration's ingest scope on its resource and nothing else; the broker returns the key once
and the console shows it once (never stored, never logged). Listing reads key metadata only.
Revoking is the broker's key revocation; a key that is not a device key of this integration is
refused, so the page cannot be used to revoke anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from broker.client import BrokerClient, BrokerClientError
from integrations import Manifest

PREFIX: Final = "device-"
DEVICE = re.compile(r"^[a-z][a-z0-9_.-]{0,23}$")
DAYS = 365


class DeviceError(Exception):
    """A device request the owner can fix (a bad name, an unknown key); the message says how."""


@dataclass(frozen=True)
class IssuedToken:
    device: str
    key_id: str
    token: str  # shown once
    expires_at: str


@dataclass(frozen=True)
class DeviceKey:
    device: str
    key_id: str
    created_at: str
    expires_at: str | None
    last_used_at: str | None
    revoked: bool


def _ingest_scope(manifest: Manifest) -> str:
    push = manifest.connect.push
    scope = manifest.scope_of(push.tool) if push is not None else None
    if scope is None:
        raise DeviceError(f"{manifest.title} does not take pushes from a device")
    return scope


def principal_of(manifest: Manifest, device: str) -> str:
    return f"{PREFIX}{manifest.name}-{device}"


async def issue(admin: BrokerClient, manifest: Manifest, device: str, *, days: int = DAYS) -> IssuedToken:
    scope = _ingest_scope(manifest)
    if not DEVICE.match(device):
        raise DeviceError("a device name is 1 to 24 lowercase letters, digits, '.', '_' or '-', starting with a letter")
    out = await admin.create_key(
        principal=principal_of(manifest, device),
        description=f"{manifest.title}: ingest from the device {device}",
        max_scopes=[scope],
        max_resources=[manifest.resource],
        scopes=[scope],
        resources=[manifest.resource],
        expires_in_days=days,
    )
    return IssuedToken(device, str(out["key_id"]), str(out["api_key"]), str(out["expires_at"]))


async def listing(admin: BrokerClient, manifest: Manifest) -> list[DeviceKey]:
    """This integration's device keys, newest first (metadata only; the keys never leave the broker)."""
    prefix = principal_of(manifest, "")
    out: list[DeviceKey] = []
    for p in await admin.principals():
        name = str(p.get("name", ""))
        if not name.startswith(prefix) or p.get("max_resources") != [manifest.resource]:
            continue
        detail = await admin.principal(name)
        out.extend(_key(name[len(prefix) :], k) for k in detail.get("keys", []))
    return sorted(out, key=lambda k: k.created_at, reverse=True)


def _key(device: str, k: dict[str, Any]) -> DeviceKey:
    return DeviceKey(
        device=device,
        key_id=str(k["key_id"]),
        created_at=str(k.get("created_at") or ""),
        expires_at=k.get("expires_at"),
        last_used_at=k.get("last_used_at"),
        revoked=bool(k.get("revoked")),
    )


async def revoke(admin: BrokerClient, manifest: Manifest, key_id: str) -> DeviceKey:
    found = next((k for k in await listing(admin, manifest) if k.key_id == key_id), None)
    if found is None:
        raise DeviceError("no such device token for this integration")
    if not found.revoked:
        try:
            await admin.revoke_key(key_id, reason=f"{manifest.name} device token revoked by the owner")
        except BrokerClientError as exc:
            if exc.status != 409:
                raise
    return found
