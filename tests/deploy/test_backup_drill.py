"""Backup and restore drill: a real embedded stack, a real S3-compatible server on loopback (moto in
server mode), the stock ``age`` CLI for encryption and decryption, and a restore into an empty stack
that must decrypt every encrypted value and verify the audit chain."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from moto.server import ThreadedMotoServer

from aegis.offsite.s3 import Credentials, S3Client
from aegis.offsite.store import BackupError, Retention, complete, prune, pull
from aegis.secrets import Secret
from tests.deploy.stack import DEPLOY, Stack, free_port, make_tls

pytestmark = pytest.mark.skipif(shutil.which("age") is None, reason="needs the age CLI (.ci/system-packages)")
BUCKET = "aegis-offsite"


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _client(http: httpx.AsyncClient, endpoint: str, bucket: str = BUCKET) -> S3Client:
    creds = Credentials(Secret("id", "drill-access-key"), Secret("secret", "drill-secret-key"))
    return S3Client(http, endpoint=endpoint, bucket=bucket, region="us-east-1", creds=creds)


def _s3_files(root: Path) -> dict[str, str]:
    (root / "s3").mkdir(mode=0o700)
    for name, value in (("s3_access_key_id", "drill-access-key"), ("s3_secret_access_key", "drill-secret-key")):
        (root / "s3" / name).write_text(value)
        (root / "s3" / name).chmod(0o600)
    return {
        "AEGIS_S3_ACCESS_KEY_ID_FILE": str(root / "s3" / "s3_access_key_id"),
        "AEGIS_S3_SECRET_ACCESS_KEY_FILE": str(root / "s3" / "s3_secret_access_key"),
    }


@pytest.mark.timeout(300)
def test_backup_goes_offsite_encrypted_and_restores_into_an_empty_stack(tmp_path: Path, s3_server: str) -> None:
    stack = Stack(tmp_path / "live", make_tls(tmp_path / "tls"))
    stack.root.mkdir()
    stack.start(broker_only=True)
    try:
        secret_file = tmp_path / "value"
        secret_file.write_text("drill-vault-value-5b1e")
        add = stack.aegis("secrets", "add", "drill-token", "--type", "api-token", "--from-file", str(secret_file))
        assert add.returncode == 0, add.stderr + add.stdout
    finally:
        stack.stop()
    # The broker signed a checkpoint of the audit chain's head when it stopped, in the data folder.
    checkpoints = stack.data / "audit-checkpoints.jsonl"
    signed = checkpoints.read_bytes()
    assert b'"sig":' in signed

    subprocess.run(["age-keygen", "-o", str(tmp_path / "identity.txt")], check=True, capture_output=True)
    pub = subprocess.run(["age-keygen", "-y", str(tmp_path / "identity.txt")], check=True, capture_output=True)
    (tmp_path / "recipients.txt").write_bytes(pub.stdout)
    s3_env = {
        **_s3_files(tmp_path),
        "AEGIS_BACKUP_S3_ENDPOINT": s3_server,
        "AEGIS_BACKUP_S3_BUCKET": BUCKET,
        "AEGIS_BACKUP_RECIPIENTS": str(tmp_path / "recipients.txt"),
    }

    async def make_bucket() -> None:
        async with httpx.AsyncClient() as http:
            await _client(http, s3_server).create_bucket()

    asyncio.run(make_bucket())
    backup = stack.run(str(DEPLOY / "backup.sh"), str(tmp_path / "out"), **s3_env)
    assert backup.returncode == 0, backup.stderr + backup.stdout
    assert "uploaded aegis-" in backup.stdout
    archive = next((tmp_path / "out").glob("aegis-*.tar.age"))

    # What leaves the machine is ciphertext only: no SQLite header, no secret, no checkpoint text.
    blob = archive.read_bytes()
    assert blob.startswith(b"age-encryption.org/v1\n")
    for plain in (b"SQLite format 3", b"drill-vault-value-5b1e", b'"sig":', signed[:40]):
        assert plain not in blob

    # The stock age CLI decrypts it; the archive carries the database, the checkpoints and SHA256SUMS.
    identity = str(tmp_path / "identity.txt")
    decrypted = subprocess.run(
        ["age", "--decrypt", "--identity", identity, str(archive)], check=True, capture_output=True
    )
    (tmp_path / "plain.tar").write_bytes(decrypted.stdout)
    with tarfile.open(tmp_path / "plain.tar") as tar:
        names = {Path(n).relative_to(archive.name.removesuffix(".tar.age")).as_posix() for n in tar.getnames()[1:]}
    assert {"aegis.db", "SHA256SUMS", "audit-checkpoints.jsonl", "audit-checkpoints.pub"} <= names

    # Restore into an empty stack: pulled from the store, checked against the manifest, decrypted by age.
    master = tmp_path / "master.key.offline"
    shutil.copy(stack.data / "master.key", master)  # the owner's separate offline copy
    fresh = Stack(tmp_path / "fresh", stack.tls)
    fresh.root.mkdir()
    restore = fresh.run(
        str(DEPLOY / "restore.sh"),
        "latest",
        "--identity",
        str(tmp_path / "identity.txt"),
        "--master-key",
        str(master),
        **s3_env,
    )
    assert restore.returncode == 0, restore.stderr + restore.stdout
    assert "every file matches SHA256SUMS" in restore.stdout
    assert "audit chain intact" in restore.stdout
    assert "matching the signed checkpoint of row" in restore.stdout, restore.stdout
    counted = re.search(r"decrypted (\d+) encrypted values", restore.stdout)
    assert counted, restore.stdout
    decrypted_count = int(counted.group(1))
    assert decrypted_count >= 2  # the broker signing key and the stored secret's data key
    assert (fresh.data / "audit-checkpoints.jsonl").read_bytes() == signed

    # The restored stack's broker unseals with the restored key and serves the restored vault.
    fresh.start(broker_only=True)
    try:
        listed = fresh.aegis("secrets", "list")
        assert "drill-token" in listed.stdout, listed.stderr
    finally:
        fresh.stop()

    # A second restore into the same (no longer empty) folder is refused.
    again = fresh.run(str(DEPLOY / "restore.sh"), "latest", "--identity", str(tmp_path / "identity.txt"), **s3_env)
    assert again.returncode != 0 and "restore only into an empty data folder" in again.stderr

    # Whoever owns the database file cuts the tail and moves the head back: the checkpoint tells.
    db = sqlite3.connect(fresh.data / "aegis.db")
    with db:
        db.execute("DROP TRIGGER audit_log_no_delete")
        top, prev = db.execute("SELECT seq, prev_hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        db.execute("DELETE FROM audit_log WHERE seq = ?", (top,))
        db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (top - 1, prev))
    db.close()
    cut = fresh.run(sys.executable, "-m", "aegis.restore_check")
    assert cut.returncode == 1 and "audit chain BROKEN" in cut.stderr, cut.stderr + cut.stdout


def test_a_tampered_archive_in_the_store_is_refused(s3_server: str, tmp_path: Path) -> None:
    async def go() -> None:
        async with httpx.AsyncClient() as http:
            s3 = _client(http, s3_server, "tamper")
            await s3.create_bucket()
            body = b"age-encryption.org/v1\n-> X25519 abc\n" + bytes(200)
            manifest = json.dumps(
                {
                    "name": "aegis-20260101T000000Z",
                    "archive": {"bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()},
                }
            )
            await s3.put("p/aegis-20260101T000000Z.manifest.json", manifest.encode())
            await s3.put("p/aegis-20260101T000000Z.tar.age", body[:-1] + b"\x01")
            with pytest.raises(BackupError, match="does not match its manifest"):
                await pull(s3, "p/", "latest", tmp_path / "dl")
            assert not (tmp_path / "dl").exists()

    asyncio.run(go())


def test_retention_deletes_old_backups_but_keeps_the_newest(s3_server: str) -> None:
    now = datetime(2026, 12, 2, tzinfo=UTC)

    async def go() -> tuple[list[str], list[str]]:
        async with httpx.AsyncClient() as http:
            s3 = _client(http, s3_server, "retention")
            await s3.create_bucket()
            for age_days in (1, 10, 40, 50, 60):
                name = f"aegis-{(now - timedelta(days=age_days)):%Y%m%dT%H%M%SZ}"
                await s3.put(f"r/{name}.tar.age", b"x")
                await s3.put(f"r/{name}.manifest.json", b"{}")
            await s3.put("r/aegis-20200101T000000Z.tar.age", b"incomplete: no manifest")
            gone = await prune(s3, "r/", Retention(keep_days=30, keep_min=3), now)
            return gone, await complete(s3, "r/")

    gone, left = asyncio.run(go())
    assert gone == [f"aegis-{(now - timedelta(days=d)):%Y%m%dT%H%M%SZ}" for d in (60, 50)]
    assert len(left) == 3  # 40 days old but kept: the three newest always stay
