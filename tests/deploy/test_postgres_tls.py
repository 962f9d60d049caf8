"""deploy/postgres/*: a private PostgreSQL cluster run with our configuration (pg_hba.conf as shipped,
postgresql.conf with only paths and the port changed, the init script as shipped) refuses plain and
TLS 1.2 connections and the superuser over the network, accepts TLS 1.3 with a SCRAM password, has
pgcrypto, and takes Aegis's migrations over verified TLS as the owner role, after which the
application's role cannot alter, drop or truncate the audit tables or disable their triggers."""

from __future__ import annotations

import asyncio
import hashlib
import os
import pwd
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import asyncpg
import pytest

from tests.deploy.stack import DEPLOY, free_port

BIN = Path("/usr/lib/postgresql/15/bin")
PASSWORD = "drill-pg-password-7c2"  # aegis_app's
OWNER_PASSWORD = "drill-owner-password-41'x"  # a quote: the init script must pass it safely
SUPER_PASSWORD = "drill-superuser-password-9d"
pytestmark = [
    pytest.mark.skipif(not (BIN / "postgres").exists(), reason="needs PostgreSQL 15 server binaries"),
    pytest.mark.skipif(os.geteuid() != 0, reason="runs the cluster as the postgres user"),
    pytest.mark.timeout(240),
]


@dataclass
class Cluster:
    port: int
    ca: Path
    socket_dir: Path


def _as_postgres(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True, check=True, **kw)  # type: ignore[call-overload, no-any-return]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    root = Path(tempfile.mkdtemp(prefix="aegis-pg-"))  # pytest's own folders are root's alone
    pg = pwd.getpwnam("postgres")
    tls = root / "tls"
    env = {**os.environ, "AEGIS_TLS_SERVICES": "postgres:localhost,IP:127.0.0.1"}
    subprocess.run([str(DEPLOY / "make-ca.sh"), str(tls)], check=True, capture_output=True, env=env)
    for path in (root, tls, tls / "postgres.key", tls / "postgres.crt"):
        os.chown(path, pg.pw_uid, pg.pw_gid)
    (root / "pw").write_text(SUPER_PASSWORD)
    os.chown(root / "pw", pg.pw_uid, pg.pw_gid)
    secrets = root / "secrets"  # what compose mounts as /run/secrets
    secrets.mkdir(mode=0o700)
    for name, value in (("postgres_app_password", PASSWORD), ("postgres_owner_password", OWNER_PASSWORD)):
        (secrets / name).write_text(value)
        os.chown(secrets / name, pg.pw_uid, pg.pw_gid)
    os.chown(secrets, pg.pw_uid, pg.pw_gid)
    sock = root / "sock"
    sock.mkdir(mode=0o700)
    os.chown(sock, pg.pw_uid, pg.pw_gid)
    _as_postgres(
        str(BIN / "initdb"), "-D", str(root / "data"), "-U", "postgres", "--auth-host=scram-sha-256",
        f"--pwfile={root / 'pw'}",
    )  # fmt: skip
    port = free_port()
    log = root / "pg.log"
    logfile = log.open("wb")
    proc = subprocess.Popen(
        [
            "runuser", "-u", "postgres", "--", str(BIN / "postgres"), "-D", str(root / "data"),
            "-c", f"config_file={DEPLOY / 'postgres' / 'postgresql.conf'}",
            "-c", f"hba_file={DEPLOY / 'postgres' / 'pg_hba.conf'}",
            "-c", f"data_directory={root / 'data'}",
            "-c", f"port={port}",
            "-c", "listen_addresses=127.0.0.1",
            "-c", f"ssl_cert_file={tls / 'postgres.crt'}",
            "-c", f"ssl_key_file={tls / 'postgres.key'}",
            "-c", f"unix_socket_directories={sock}",
        ],
        stdout=logfile,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while subprocess.run([str(BIN / "pg_isready"), "-h", str(sock), "-p", str(port)], capture_output=True).returncode:
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    _as_postgres(str(BIN / "createdb"), "-h", str(sock), "-p", str(port), "-U", "postgres", "aegis")
    _as_postgres(
        "psql", "-h", str(sock), "-p", str(port), "-U", "postgres", "-d", "aegis", "-v", "ON_ERROR_STOP=1",
        "-v", f"secrets_dir={secrets}", "-f", str(DEPLOY / "postgres" / "initdb" / "10-aegis.sql"),
    )  # fmt: skip
    try:
        yield Cluster(port, tls / "ca.crt", sock)
    finally:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(BIN / "pg_ctl"), "stop", "-D", str(root / "data"), "-m", "fast"],
            capture_output=True,
            timeout=60,
        )
        proc.wait(timeout=30)
        logfile.close()
        shutil.rmtree(root, ignore_errors=True)


def _tls(ca: Path, *, max_tls12: bool = False) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca))
    if max_tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


async def _connect(
    c: Cluster, ssl_arg: ssl.SSLContext | bool, password: str = PASSWORD, user: str = "aegis_app"
) -> asyncpg.Connection:
    return await asyncpg.connect(
        host="localhost", port=c.port, user=user, database="aegis", password=password, ssl=ssl_arg, timeout=10
    )


def test_tls13_with_a_password_works_and_pgcrypto_is_there(cluster: Cluster) -> None:
    async def go() -> tuple[str, str]:
        conn = await _connect(cluster, _tls(cluster.ca))
        try:
            version = await conn.fetchval("select version from pg_stat_ssl where pid = pg_backend_pid()")
            digest = await conn.fetchval("select encode(digest('aegis', 'sha256'), 'hex')")
            return str(version), str(digest)
        finally:
            await conn.close()

    version, digest = asyncio.run(go())
    assert version == "TLSv1.3"
    assert digest == hashlib.sha256(b"aegis").hexdigest()


def test_plain_tls12_and_wrong_passwords_are_refused(cluster: Cluster) -> None:
    async def refused(ssl_arg: ssl.SSLContext | bool, password: str = PASSWORD) -> str:
        try:
            conn = await _connect(cluster, ssl_arg, password)
        except (asyncpg.PostgresError, ssl.SSLError, ConnectionError, OSError) as exc:
            return type(exc).__name__ + ": " + str(exc)
        await conn.close()
        return ""

    plain = asyncio.run(refused(False))
    assert "no encryption" in plain or "pg_hba.conf rejects" in plain, plain
    assert asyncio.run(refused(_tls(cluster.ca, max_tls12=True)))
    assert "password authentication failed" in asyncio.run(refused(_tls(cluster.ca), "not-the-password"))


def test_the_superuser_cannot_log_in_over_the_network(cluster: Cluster) -> None:
    async def go() -> str:
        try:
            conn = await _connect(cluster, _tls(cluster.ca), SUPER_PASSWORD, user="postgres")
        except asyncpg.PostgresError as exc:
            return str(exc)
        await conn.close()
        return ""

    assert "pg_hba.conf rejects" in asyncio.run(go())


def test_aegis_migrates_over_verified_tls_with_the_deployment_settings(cluster: Cluster, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AEGIS_", "PG"))}
    env |= {
        "AEGIS_DATA_DIR": str(tmp_path),
        "AEGIS_DATABASE_URL": f"postgresql+asyncpg://aegis_app:{PASSWORD}@localhost:{cluster.port}/aegis",
        "AEGIS_MIGRATION_DATABASE_URL": (
            f"postgresql+asyncpg://aegis_owner:{quote(OWNER_PASSWORD, safe='')}@localhost:{cluster.port}/aegis"
        ),
        # As in deploy/compose.yml: asyncpg reads these, so the URL itself carries no TLS options.
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": str(cluster.ca),
    }
    up = subprocess.run([sys.executable, "-m", "aegis", "db", "upgrade"], env=env, capture_output=True, text=True)
    assert up.returncode == 0, up.stderr

    async def as_app() -> tuple[dict[str, str], bool, bool]:
        conn = await _connect(cluster, _tls(cluster.ca))
        refused: dict[str, str] = {}
        try:
            for sql in (
                "ALTER TABLE audit_log DISABLE TRIGGER ALL",
                "DROP TRIGGER audit_log_no_change ON audit_log",
                "DROP TABLE audit_log",
                "TRUNCATE audit_log",
                "DELETE FROM audit_log",
                "UPDATE audit_log SET actor = 'x'",
                "ALTER TABLE audit_head DISABLE TRIGGER ALL",
                "CREATE TABLE sneaky (x int)",
            ):
                try:
                    await conn.execute(sql)
                except asyncpg.PostgresError as exc:
                    refused[sql] = type(exc).__name__
            owner = await conn.fetchval("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'")
            superusers = await conn.fetchval("SELECT bool_or(rolsuper) FROM pg_roles WHERE rolname LIKE 'aegis_%'")
            reads = await conn.fetchval("SELECT count(*) FROM audit_log") is not None
            return refused | {"owner": str(owner)}, bool(superusers), reads
        finally:
            await conn.close()

    denied, superusers, reads = asyncio.run(as_app())
    assert denied.pop("owner") == "aegis_owner"
    assert set(denied.values()) == {"InsufficientPrivilegeError"} and len(denied) == 8, denied
    assert not superusers and reads
    env["PGSSLROOTCERT"] = str(tmp_path / "missing-ca.crt")
    refused = subprocess.run([sys.executable, "-m", "aegis", "db", "current"], env=env, capture_output=True, text=True)
    assert refused.returncode != 0  # verify-full without the CA: no connection
