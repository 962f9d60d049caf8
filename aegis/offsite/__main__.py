"""``python -m aegis.offsite push|pull|list|prune|snapshot-sqlite``: see deploy/README.md.

Store settings come from the environment (``AEGIS_BACKUP_S3_ENDPOINT``, ``_BUCKET``, ``_REGION``,
``AEGIS_BACKUP_PREFIX``, ``AEGIS_BACKUP_KEEP_DAYS``, ``AEGIS_BACKUP_KEEP_MIN``); the access keys
are secret files (``s3_access_key_id``, ``s3_secret_access_key``: Docker secrets or
``AEGIS_S3_..._FILE``), never environment values.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx

from aegis.offsite.s3 import Credentials, S3Client, S3Error
from aegis.offsite.store import BackupError, Retention, complete, prune, pull, push
from aegis.secrets import SecretError, SecretSource
from tools._http import build_http_client


def _client(http: httpx.AsyncClient, env: dict[str, str]) -> tuple[S3Client, str]:
    # Not the whole Settings: the backup container has no database of its own to configure.
    production = env.get("AEGIS_MODE") == "production"
    secrets = SecretSource(Path(env.get("AEGIS_SECRETS_DIR", "/run/secrets")), production=production, environ=env)
    access, secret = secrets.get("s3_access_key_id"), secrets.get("s3_secret_access_key")
    assert access is not None and secret is not None  # required=True raises instead
    endpoint, bucket = env.get("AEGIS_BACKUP_S3_ENDPOINT"), env.get("AEGIS_BACKUP_S3_BUCKET")
    if not endpoint or not bucket:
        raise SecretError("set AEGIS_BACKUP_S3_ENDPOINT and AEGIS_BACKUP_S3_BUCKET (see deploy/README.md)")
    s3 = S3Client(
        http,
        endpoint=endpoint,
        bucket=bucket,
        region=env.get("AEGIS_BACKUP_S3_REGION", "us-east-1"),
        creds=Credentials(access, secret),
    )
    return s3, env.get("AEGIS_BACKUP_PREFIX", "aegis/")


def snapshot_sqlite(src: Path, dest: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API), mode 0600."""
    dest.touch(mode=0o600, exist_ok=False)
    with sqlite3.connect(f"file:{src}?mode=ro", uri=True) as source, sqlite3.connect(dest) as target:
        source.backup(target)


async def run(args: argparse.Namespace, env: dict[str, str]) -> int:
    if args.command == "snapshot-sqlite":
        snapshot_sqlite(Path(args.src), Path(args.dest))
        return 0
    now = datetime.now(UTC)
    async with build_http_client(timeout=300) as http:
        s3, prefix = _client(http, env)
        retention = Retention(int(env.get("AEGIS_BACKUP_KEEP_DAYS", "30")), int(env.get("AEGIS_BACKUP_KEEP_MIN", "7")))
        if args.command == "push":
            if args.create_bucket:
                await s3.create_bucket()
            manifest = await push(s3, prefix, Path(args.archive), now)
            print(f"uploaded {manifest['name']} ({manifest['archive']['bytes']} bytes, sha256 verified on pull)")  # type: ignore[index]  # noqa: T201
            for name in await prune(s3, prefix, retention, now):
                print(f"pruned {name} (older than {retention.keep_days} days)")  # noqa: T201
        elif args.command == "pull":
            print(await pull(s3, prefix, args.name, Path(args.dest)))  # noqa: T201
        elif args.command == "list":
            for name in await complete(s3, prefix):
                print(name)  # noqa: T201
        elif args.command == "prune":
            for name in await prune(s3, prefix, retention, now):
                print(f"pruned {name}")  # noqa: T201
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m aegis.offsite", description="Offsite, age-encrypted backups.")
    sub = p.add_subparsers(dest="command", required=True)
    push_p = sub.add_parser("push", help="upload an archive and its manifest, then apply retention")
    push_p.add_argument("archive")
    push_p.add_argument("--create-bucket", action="store_true", help="create the bucket first if missing")
    pull_p = sub.add_parser("pull", help="download a backup and check it against its manifest")
    pull_p.add_argument("name", help="aegis-YYYYMMDDTHHMMSSZ, or 'latest'")
    pull_p.add_argument("dest")
    sub.add_parser("list", help="complete backups, oldest first")
    sub.add_parser("prune", help="apply retention now")
    snap = sub.add_parser("snapshot-sqlite", help="consistent copy of a live SQLite database")
    snap.add_argument("src")
    snap.add_argument("dest")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        return asyncio.run(run(args, dict(os.environ)))
    except (BackupError, S3Error, SecretError) as exc:
        sys.stderr.write(f"backup: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
