"""Secrets: decrypted SOPS values land where compose.yml expects them, owned by their one reader;
nothing unencrypted that looks like a secret is ever tracked by git.

``sops`` itself is neither in Debian (bookworm) nor on PyPI, so the SOPS step is not run here: these
tests feed deploy/secrets_install.py the JSON that ``sops --decrypt --output-type json`` prints.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VALUES = {
    "master_key": "aegis-master-key-v1:" + "ab" * 32,
    "broker_admin_token": "drill-admin-token-value",
    "database_url": "postgresql+asyncpg://aegis_app:pw-drill@postgres.svc.aegis.internal:5432/aegis",
    "migration_database_url": "postgresql+asyncpg://aegis_owner:pw-owner@postgres.svc.aegis.internal:5432/aegis",
    "postgres_password": "pw-superuser",
    "postgres_owner_password": "pw-owner",
    "postgres_app_password": "pw-drill",
    "console_api_key": "ak_console_drill",
    **{
        name: f"ak_{name}_drill"
        for name in (DEPLOY / "service-keys.txt").read_text(encoding="ascii").split()
        if name.endswith("_api_key")
    },
    "anthropic_api_key": "sk-drill",
    "tunnel_token": "tunnel-drill",
    "s3_access_key_id": "s3-id-drill",
    "s3_secret_access_key": "s3-secret-drill",
}


def _install(out: Path, values: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DEPLOY / "secrets_install.py"), str(out)],
        input=json.dumps(values),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _with_ca(tmp_path: Path) -> dict[str, str]:
    subprocess.run([str(DEPLOY / "make-ca.sh"), str(tmp_path / "ca")], check=True, capture_output=True, timeout=60)
    return {
        **VALUES,
        "tls_ca_key": (tmp_path / "ca" / "ca.key").read_text(),
        "tls_ca_crt": (tmp_path / "ca" / "ca.crt").read_text(),
    }


def test_every_compose_secret_file_exists_after_install_and_make_ca(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = _install(out, _with_ca(tmp_path))
    assert done.returncode == 0, done.stderr
    assert not any(v in done.stdout + done.stderr for v in VALUES.values())  # never printed
    subprocess.run([str(DEPLOY / "make-ca.sh"), str(out / "tls")], check=True, capture_output=True, timeout=60)
    subprocess.run([sys.executable, str(DEPLOY / "secrets_install.py"), "--own-tls", str(out)], check=True)

    compose = yaml.safe_load((DEPLOY / "compose.yml").read_text(encoding="utf-8"))
    for name, spec in compose["secrets"].items():
        path = Path(spec["file"].replace("${AEGIS_SECRETS_RUN:-/run/aegis-secrets}", str(out)))
        assert path.is_file(), f"secret {name}: {path} was not written"
    assert (out / "broker" / "master_key").read_text().strip() == VALUES["master_key"]
    # The CA that signed the service certificates is the one from SOPS: it was kept, not replaced.
    assert (out / "tls" / "ca.crt").read_text() == (tmp_path / "ca" / "ca.crt").read_text()
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(out / "tls" / "ca.crt"), str(out / "tls" / "console.crt")],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="ownership needs root, as on the server")
def test_each_secret_belongs_to_its_one_reader_and_nobody_else_reads_it(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert _install(out, _with_ca(tmp_path)).returncode == 0
    subprocess.run([str(DEPLOY / "make-ca.sh"), str(out / "tls")], check=True, capture_output=True, timeout=60)
    subprocess.run([sys.executable, str(DEPLOY / "secrets_install.py"), "--own-tls", str(out)], check=True)
    owners = {
        "tunnel_token": 65532,
        "postgres_password": 999,
        "postgres_app_password": 999,
        "database_url": 10001,
        "migration_database_url": 10001,
        "broker/master_key": 10001,
        "tls/postgres.key": 999,
        "tls/traefik.key": 10002,
        "tls/broker.key": 10001,
        "tls/whatsapp-bridge.key": 10003,
    }
    for rel, uid in owners.items():
        st = (out / rel).stat()
        assert st.st_uid == uid, rel
        assert stat.S_IMODE(st.st_mode) & 0o077 == 0, f"{rel} is readable by others"
    broker_dir = (out / "broker").stat()
    assert broker_dir.st_uid == 10001 and stat.S_IMODE(broker_dir.st_mode) == 0o700


def test_unknown_or_missing_names_are_refused_without_echoing_values(tmp_path: Path) -> None:
    extra = _install(tmp_path / "a", {**VALUES, "tls_ca_key": "k", "tls_ca_crt": "c", "typo_key": "v-secret-9"})
    assert extra.returncode == 1 and "typo_key" in extra.stderr and "v-secret-9" not in extra.stderr
    short = _install(tmp_path / "b", {"master_key": VALUES["master_key"]})
    assert short.returncode == 1 and "tunnel_token" in short.stderr


def test_the_service_keys_follow_the_installed_integrations() -> None:
    """Adding an integration is one line in integrations/installed.py: its broker key secret is then
    derived (deploy/service_keys.py); a stale compose file or template fails here."""
    from aegis.identities import server_identity
    from integrations import Catalog
    from integrations.installed import INSTALLED

    names = {server_identity(m).secret_name for m in Catalog.load()}
    assert len(names) == len(INSTALLED)
    check = subprocess.run(
        [sys.executable, str(DEPLOY / "service_keys.py"), "--check"], capture_output=True, text=True, timeout=120
    )
    assert check.returncode == 0, check.stderr
    compose = yaml.safe_load((DEPLOY / "compose.yml").read_text(encoding="utf-8"))
    console = set(compose["services"]["console"]["secrets"])
    assert names <= console and names <= set(compose["secrets"])
    assert {n for n in console if n.startswith("mcp_")} == names  # no key for an integration not installed


def test_a_stale_service_keys_block_is_reported(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("service_keys", DEPLOY / "service_keys.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = "a:\n  # >>> service keys (deploy/service_keys.py)\n  old: 1\n  # <<< service keys\nb: 2\n"
    out = module.render(text, [["  mcp_x_api_key: 1"]], tmp_path / "f.yml")
    assert out == "a:\n  # >>> service keys (deploy/service_keys.py)\n  mcp_x_api_key: 1\n  # <<< service keys\nb: 2\n"
    with pytest.raises(SystemExit, match="expected 2"):
        module.render(text, [[], []], tmp_path / "f.yml")


def test_the_template_names_exactly_what_the_installer_expects() -> None:
    spec = importlib.util.spec_from_file_location("secrets_install", DEPLOY / "secrets_install.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    template = yaml.safe_load((DEPLOY / "secrets.template.yaml").read_text(encoding="utf-8"))
    assert set(template) == set(module.LAYOUT)


# ---- git: nothing unencrypted ---------------------------------------------------------------------

PRIVATE_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----\s*\n[A-Za-z0-9+/=\s]{200,}?-----END")
LEAKS = {
    "a PEM private key": PRIVATE_PEM,
    "an age identity": re.compile(r"AGE-SECRET-KEY-1[0-9A-Z]{58}"),
    "an Aegis master key": re.compile(r"aegis-master-key-v1:[0-9a-f]{64}"),
}


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [p for p in out.stdout.split("\0") if p]


def _leaks(path: str, text: str) -> list[str]:
    found = [what for what, rx in LEAKS.items() if rx.search(text)]
    name = Path(path).name
    if name == ".env" or name.startswith(".env.") or name.endswith((".key", ".pem", ".p12", ".pfx", ".age")):
        found.append("a key or env file")
    if re.match(r"(deploy/)?secrets/", path) and name != ".gitignore":
        if not name.endswith(".enc.yaml"):
            found.append("a secrets file that is not SOPS-encrypted")
        else:
            doc = yaml.safe_load(text) or {}
            values = [v for k, v in doc.items() if k != "sops"]
            if "sops" not in doc or not all(isinstance(v, str) and v.startswith("ENC[") for v in values):
                found.append("a .enc.yaml file with plain values")
    return found


def test_no_tracked_file_looks_like_an_unencrypted_secret() -> None:
    problems = []
    for path in _tracked():
        full = ROOT / path
        if not full.is_file() or path == "tests/deploy/test_secrets_layout.py":
            continue
        text = full.read_text(encoding="utf-8", errors="replace")
        problems += [f"{path}: {what}" for what in _leaks(path, text)]
    assert problems == []


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("deploy/secrets/aegis.yaml", "master_key: x\n"),
        ("deploy/secrets/aegis.enc.yaml", "master_key: plain\nsops: {}\n"),
        ("data/master.key", "aegis-master-key-v1:" + "0f" * 32),
        ("notes.txt", "AGE-SECRET-KEY-1" + "Q" * 58),
        ("config/.env", "X=1"),
        (
            "certs/x.txt",
            "-----BEGIN EC PRIVATE KEY-----\n" + "A" * 64 + "\n" + "B" * 160 + "\n-----END EC PRIVATE KEY-----",
        ),
    ],
)
def test_the_leak_check_does_catch_each_kind(path: str, text: str) -> None:
    assert _leaks(path, text)


def test_a_sops_encrypted_file_passes_the_leak_check() -> None:
    doc = "master_key: ENC[AES256_GCM,data:abc=,iv:x=,tag:y=,type:str]\nsops:\n  age: []\n"
    assert _leaks("deploy/secrets/aegis.enc.yaml", doc) == []


@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        ("deploy/secrets/aegis.yaml", True),
        ("deploy/secrets/run/master_key", True),
        ("deploy/secrets/aegis.enc.yaml", False),
        (".env", True),
        ("data/master.key", True),
        ("deploy/backups/aegis-20260101T000000Z.tar.age", True),
    ],
)
def test_gitignore_keeps_plain_secrets_out(path: str, ignored: bool) -> None:
    run = subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT, capture_output=True)
    assert (run.returncode == 0) is ignored, path
