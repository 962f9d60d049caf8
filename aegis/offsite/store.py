"""Push, pull and prune backups: one ``<name>.tar.age`` and one ``<name>.manifest.json`` each.

The manifest is written last, so a backup without one is incomplete and never counted. It holds
the archive's size and SHA-256 and when it was made; a pull refuses an archive that does not match.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aegis.offsite.s3 import S3Client, S3Error

ARCHIVE = ".tar.age"
MANIFEST = ".manifest.json"
NAME = re.compile(r"^aegis-\d{8}T\d{6}Z$")
FORMAT = "aegis-backup/1"


class BackupError(Exception):
    """The backup is missing, incomplete or does not match its manifest. The owner acts on it."""


@dataclass(frozen=True)
class Retention:
    keep_days: int = 30
    keep_min: int = 7  # never fewer than this many complete backups, however old


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest_for(archive: Path, now: datetime) -> dict[str, object]:
    name = archive.name.removesuffix(ARCHIVE)
    if not archive.name.endswith(ARCHIVE) or not NAME.match(name):
        raise BackupError(f"{archive.name}: expected aegis-YYYYMMDDTHHMMSSZ{ARCHIVE}")
    return {
        "format": FORMAT,
        "name": name,
        "created_at": now.isoformat(),
        "archive": {"key": archive.name, "bytes": archive.stat().st_size, "sha256": sha256_file(archive)},
        "encryption": "age (X25519 recipients); decrypt with the stock age CLI",
    }


async def push(s3: S3Client, prefix: str, archive: Path, now: datetime) -> dict[str, object]:
    manifest = await asyncio.to_thread(manifest_for, archive, now)
    await s3.put(prefix + archive.name, await asyncio.to_thread(archive.read_bytes))
    await s3.put(prefix + f"{manifest['name']}{MANIFEST}", json.dumps(manifest, indent=2).encode())
    return manifest


async def complete(s3: S3Client, prefix: str) -> list[str]:
    """Names of complete backups (archive and manifest present), oldest first."""
    keys = {o.key.removeprefix(prefix) for o in await s3.list(prefix)}
    names = {k.removesuffix(MANIFEST) for k in keys if k.endswith(MANIFEST)}
    return sorted(n for n in names if f"{n}{ARCHIVE}" in keys and NAME.match(n))


async def pull(s3: S3Client, prefix: str, name: str, dest: Path) -> Path:
    if name == "latest":
        names = await complete(s3, prefix)
        if not names:
            raise BackupError("the store holds no complete backup")
        name = names[-1]
    try:
        manifest = json.loads(await s3.get(prefix + f"{name}{MANIFEST}"))
    except S3Error:
        raise BackupError(f"{name}: no manifest in the store (incomplete or unknown backup)") from None
    body = await s3.get(prefix + f"{name}{ARCHIVE}")
    want = manifest["archive"]
    if len(body) != want["bytes"] or hashlib.sha256(body).hexdigest() != want["sha256"]:
        raise BackupError(f"{name}: the archive does not match its manifest (size or SHA-256); do not restore it")
    return await asyncio.to_thread(_write, dest, name, body, manifest)


def _write(dest: Path, name: str, body: bytes, manifest: dict[str, object]) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / f"{name}{ARCHIVE}"
    out.write_bytes(body)
    (dest / f"{name}{MANIFEST}").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return out


def _made_at(name: str) -> datetime:
    return datetime.strptime(name.removeprefix("aegis-"), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


async def prune(s3: S3Client, prefix: str, retention: Retention, now: datetime) -> list[str]:
    """Delete complete backups older than ``keep_days``, keeping the ``keep_min`` newest whatever their age."""
    names = await complete(s3, prefix)
    keep = set(names[-retention.keep_min :]) if retention.keep_min else set()
    cutoff = now - timedelta(days=retention.keep_days)
    gone = [n for n in names if n not in keep and _made_at(n) < cutoff]
    for name in gone:
        await s3.delete(prefix + f"{name}{MANIFEST}")  # first: an archive without manifest is never restored
        await s3.delete(prefix + f"{name}{ARCHIVE}")
    return gone
