"""Service identities: each Aegis process gets its own broker API key with the narrowest ceiling.

Embedded mode creates the keys on first start (files under data/keys, mode 0600). Production reads
them as Docker secrets named ``<identity>_api_key``.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from aegis.broker_root import read_admin_token
from aegis.runtime import Context
from aegis.secrets import SecretError, check_private_file
from broker.apikeys import MalformedApiKey, parse_api_key
from broker.client import BrokerClient, BrokerClientError
from integrations import Catalog, Manifest


@dataclass(frozen=True)
class Identity:
    name: str
    description: str
    scopes: tuple[str, ...]
    resources: tuple[str, ...]
    # RFC 8693: the audiences its tokens may be exchanged for (the jobs' MCP servers), besides their own.
    audiences: tuple[str, ...] = ()

    @property
    def secret_name(self) -> str:
        return f"{self.name.replace('-', '_')}_api_key"


# What the console and the agent loop hold whatever is installed: the data keys of their own
# domains, writing and listing the vault, and exchanging tokens for jobs.
CONSOLE_CORE_SCOPES = ("datakeys.read", "secrets.list", "secrets.write", "tokens.exchange")
# model:chat: the console stores the chat model's key there (write only; it cannot read it back).
CONSOLE_CORE_RESOURCES = ("domain:audit", "domain:auth", "domain:chain", "domain:conversation", "model:chat")

# Reads the chat model's key and nothing else. The console process holds it beside its own key, so
# that the console's key can write secrets without being able to read any.
CHAT_MODEL = Identity("chat-model", "reads the chat model's API key", ("secrets.read",), ("model:chat",))


def console_identity(catalog: Catalog) -> Identity:
    """The console's ceiling: its core scopes plus the call scope of every installed tool."""
    scopes = {
        *CONSOLE_CORE_SCOPES,
        *catalog.tool_scopes.values(),
        *(s for m in catalog for s in m.identity.console_scopes),
    }
    resources = {*CONSOLE_CORE_RESOURCES, *(m.resource for m in catalog)}
    audiences = tuple(sorted({member.audience for members in catalog.jobs.values() for member in members}))
    return Identity(
        "console", "the web console and the agent loop", tuple(sorted(scopes)), tuple(sorted(resources)), audiences
    )


def server_identity(manifest: Manifest) -> Identity:
    """An integration server's own principal: its declared scopes, its data domain and resource."""
    resources = ("domain:chain", f"domain:{manifest.identity.data_domain}", manifest.resource)
    return Identity(manifest.principal, f"the {manifest.title} MCP server", manifest.identity.scopes, resources)


def all_identities(catalog: Catalog) -> tuple[Identity, ...]:
    return (console_identity(catalog), CHAT_MODEL, *(server_identity(m) for m in catalog))


def key_path(ctx: Context, ident: Identity) -> Path:
    found = ctx.secrets.path_for(ident.secret_name)
    if found is not None:
        return found
    if ctx.settings.production:
        raise SecretError(f"production mode needs {ident.secret_name} as a Docker secret")
    return ctx.settings.data_dir / "keys" / f"{ident.name}.key"


async def ensure_key(ctx: Context, client: BrokerClient, ident: Identity) -> Path:
    """Create the identity's key on first start (embedded) and keep its ceiling current."""
    path = key_path(ctx, ident)
    if ctx.settings.production:
        check_private_file(path)
        return path
    admin = BrokerClient(client.http, admin_token=read_admin_token(ctx))
    scopes, resources, audiences = sorted(ident.scopes), sorted(ident.resources), sorted(ident.audiences)
    created = False
    try:
        await admin.set_policy(ident.name, scopes, resources, may_act_for=audiences)
    except BrokerClientError as exc:
        if exc.status != 404:  # 404: first start, the principal does not exist yet
            raise
        created = True
    if path.exists() and not await _holds_ceiling(admin, ident, path):
        # An older key that lacks a scope this version needs (e.g. a new console tool): replace it.
        key_id = _key_id(path)
        if key_id is not None:
            with contextlib.suppress(BrokerClientError):
                await admin.revoke_key(key_id, reason="superseded: scopes changed")
        path.unlink()
    if not path.exists():
        out = await admin.create_key(
            principal=ident.name,
            description=ident.description,
            max_scopes=scopes,
            max_resources=resources,
            scopes=scopes,
            resources=resources,
            expires_in_days=365,
        )
        if created and audiences:  # the principal exists now: the audiences it may act for
            await admin.set_policy(ident.name, scopes, resources, may_act_for=audiences)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(out["api_key"] + "\n")
    check_private_file(path)
    return path


def _key_id(path: Path) -> str | None:
    try:
        return parse_api_key(path.read_text(encoding="ascii").strip()).key_id
    except (MalformedApiKey, OSError, UnicodeDecodeError):
        return None


async def _holds_ceiling(admin: BrokerClient, ident: Identity, path: Path) -> bool:
    """Whether the key in ``path`` is live and allowed every scope and resource of the identity."""
    key_id = _key_id(path)
    if key_id is None:
        return False
    try:
        keys = (await admin.principal(ident.name)).get("keys", [])
    except BrokerClientError:
        return False
    for key in keys:
        if key.get("key_id") == key_id and not key.get("revoked"):
            return set(ident.scopes) <= set(key.get("scopes", [])) and set(ident.resources) <= set(
                key.get("resources", [])
            )
    return False


def read_key(ctx: Context, path: Path) -> str:
    key = path.read_text(encoding="ascii").strip()
    ctx.redactor.register(key)
    return key
