"""``python -m aegis.rotate``: the steps of ``deploy/rotate-secrets.sh`` that the ``aegis`` command
does not already have. Each prints what it did, never a secret value.

- ``broker-keys``: the broker's signing key, then every domain's data key (waiting for each domain's
  data to be re-encrypted), then the master key (re-wrapping every data key), in one process.
- ``service-keys``: the console's and MCP servers' broker API keys. Embedded: each key is revoked and
  its file removed; ``aegis up`` creates a new one at the next start. Production: a new key per
  identity is written to ``OUT_DIR/<identity>_api_key`` (mode 0600) for SOPS, and the old keys'
  ids to ``OUT_DIR/retired_key_ids``; ``revoke-retired`` revokes them once the new ones are live.
- ``admin-token``: a new broker admin token, written where the broker reads it (embedded) or to
  ``OUT_DIR/broker_admin_token``. The broker takes it at its next start.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
from pathlib import Path

import httpx

from aegis.broker_root import admin_token_path, read_admin_token
from aegis.identities import Identity, all_identities, key_path
from aegis.runtime import Context, build_context
from broker.apikeys import MalformedApiKey, parse_api_key
from broker.client import BrokerClient, BrokerClientError
from storage.crypto.keyring import DOMAINS


def _write_private(path: Path, value: str) -> None:
    """Atomically replace ``path`` with ``value`` (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value + "\n")
    os.replace(tmp, path)


def _key_id(path: Path) -> str | None:
    try:
        return parse_api_key(path.read_text(encoding="ascii").strip()).key_id
    except (OSError, UnicodeDecodeError, MalformedApiKey):
        return None


async def _admin(ctx: Context) -> tuple[httpx.AsyncClient, BrokerClient]:
    http = httpx.AsyncClient(base_url=ctx.settings.resolved_broker_url, timeout=30, verify=ctx.settings.broker_verify)
    return http, BrokerClient(http, admin_token=read_admin_token(ctx))


async def broker_keys(ctx: Context) -> None:
    http, admin = await _admin(ctx)
    try:
        out = await admin.admin_post("/v1/admin/signing-key/rotate")
        print(f"signing key: now {out['active_kid']}")  # noqa: T201
        for domain in sorted(DOMAINS):
            started = await admin.admin_post(f"/v1/admin/data-keys/{domain}/rotate")
            while True:
                st = await admin.admin_get(f"/v1/admin/rotations/{int(started['rotation'])}")
                if st["state"] == "done":
                    break
                await asyncio.sleep(0.2)
            print(f"data key {domain}: new version, {st['rows_done']} values re-encrypted")  # noqa: T201
        out = await admin.admin_post("/v1/admin/master-key/rotate")
        print(  # noqa: T201
            f"master key rotated ({out['data_keys_rewrapped']} data keys re-wrapped); the previous key is at "
            f"{out['previous_key_file']}: destroy it once the new key is backed up"
        )
    finally:
        await http.aclose()


async def service_keys(ctx: Context, out_dir: Path | None) -> None:
    http, admin = await _admin(ctx)
    retired: list[str] = []
    try:
        for ident in all_identities(ctx.catalog):
            path = key_path(ctx, ident)
            old = _key_id(path)
            if ctx.settings.production:
                if out_dir is None:
                    raise SystemExit("production: give --out DIR (the secrets tmpfs) for the new keys")
                _write_private(out_dir / ident.secret_name, await _new_key(admin, ident))
                if old:
                    retired.append(old)
                print(f"{ident.name}: new key in {out_dir / ident.secret_name}")  # noqa: T201
            else:
                if old:
                    await admin.revoke_key(old, reason="rotation")
                path.unlink(missing_ok=True)
                print(f"{ident.name}: key {old or '(none)'} revoked; a new one is made at the next start")  # noqa: T201
        if retired and out_dir is not None:
            _write_private(out_dir / "retired_key_ids", "\n".join(retired))
    finally:
        await http.aclose()


async def _new_key(admin: BrokerClient, ident: Identity) -> str:
    scopes, resources = sorted(ident.scopes), sorted(ident.resources)
    out = await admin.create_key(
        principal=ident.name,
        description=ident.description,
        max_scopes=scopes,
        max_resources=resources,
        scopes=scopes,
        resources=resources,
        expires_in_days=365,
    )
    return str(out["api_key"])


async def revoke_retired(ctx: Context, out_dir: Path) -> None:
    listed = out_dir / "retired_key_ids"
    if not listed.exists():
        return
    http, admin = await _admin(ctx)
    try:
        for key_id in listed.read_text(encoding="ascii").split():
            try:
                await admin.revoke_key(key_id, reason="rotation")
                print(f"revoked {key_id}")  # noqa: T201
            except BrokerClientError as exc:
                print(f"{key_id}: {exc.code}")  # noqa: T201
    finally:
        await http.aclose()
    listed.unlink()


def admin_token(ctx: Context, out_dir: Path | None) -> None:
    path = (out_dir / "broker_admin_token") if ctx.settings.production and out_dir else admin_token_path(ctx)
    _write_private(path, secrets.token_urlsafe(32))
    print(f"new broker admin token in {path}; the broker uses it from its next start")  # noqa: T201


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m aegis.rotate")
    p.add_argument("step", choices=["broker-keys", "service-keys", "revoke-retired", "admin-token"])
    p.add_argument("--out", type=Path, help="production: the secrets tmpfs folder for new values")
    args = p.parse_args(argv)
    ctx = build_context()
    if args.step == "broker-keys":
        asyncio.run(broker_keys(ctx))
    elif args.step == "service-keys":
        asyncio.run(service_keys(ctx, args.out))
    elif args.step == "revoke-retired":
        asyncio.run(revoke_retired(ctx, args.out or Path(".")))
    else:
        admin_token(ctx, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
