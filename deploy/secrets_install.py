"""Write decrypted secrets (a JSON object on stdin, from ``sops --decrypt --output-type json``) as
Docker secret files under OUT_DIR (a tmpfs), each owned by the one container user that reads it.

    sops --decrypt --output-type json deploy/secrets/aegis.enc.yaml \
        | python3 deploy/secrets_install.py /run/aegis-secrets

Standard library only: it runs on the host, before any image. Plaintext lives in this process and
on the tmpfs only. Values are never printed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

AEGIS, TRAEFIK, POSTGRES, CLOUDFLARED, BRIDGE = 10001, 10002, 999, 65532, 10003
# secret name -> (path under OUT_DIR, owner uid)
LAYOUT: dict[str, tuple[str, int]] = {
    "master_key": ("broker/master_key", AEGIS),  # a folder only the broker mounts: rotation replaces it
    "broker_admin_token": ("broker_admin_token", AEGIS),
    "database_url": ("database_url", AEGIS),  # the application's role, aegis_app
    "migration_database_url": ("migration_database_url", AEGIS),  # the owner, aegis_owner: the migrate service only
    "postgres_password": ("postgres_password", POSTGRES),  # the bootstrap superuser (init script only)
    "postgres_owner_password": ("postgres_owner_password", POSTGRES),
    "postgres_app_password": ("postgres_app_password", POSTGRES),
    "console_api_key": ("console_api_key", AEGIS),
    "anthropic_api_key": ("anthropic_api_key", AEGIS),
    "tunnel_token": ("tunnel_token", CLOUDFLARED),
    "s3_access_key_id": ("s3_access_key_id", AEGIS),
    "s3_secret_access_key": ("s3_secret_access_key", AEGIS),
    "tls_ca_key": ("tls/ca.key", os.getuid()),  # read by deploy/make-ca.sh on the host only
    "tls_ca_crt": ("tls/ca.crt", os.getuid()),
}
# One broker API key per installed integration, read by the console: the names are generated from
# integrations/installed.py into service-keys.txt by deploy/service_keys.py.
SERVICE_KEYS = Path(__file__).resolve().parent / "service-keys.txt"
LAYOUT |= {
    name: (name, AEGIS)
    for name in (line.strip() for line in SERVICE_KEYS.read_text(encoding="ascii").splitlines())
    if name and not name.startswith("#")
}
# Service TLS keys issued by make-ca.sh into OUT_DIR/tls, and who reads each.
TLS_OWNERS = {
    "traefik.key": TRAEFIK,
    "console.key": AEGIS,
    "broker.key": AEGIS,
    "postgres.key": POSTGRES,
    "whatsapp-bridge.key": BRIDGE,
}


class LayoutError(Exception):
    pass


def install(values: dict[str, str], out: Path, *, chown: bool) -> list[str]:
    unknown = sorted(set(values) - set(LAYOUT))
    if unknown:
        raise LayoutError(f"unknown secret names in the SOPS file: {', '.join(unknown)}")
    missing = sorted(set(LAYOUT) - set(values) - {"anthropic_api_key", "s3_access_key_id", "s3_secret_access_key"})
    if missing:
        raise LayoutError(f"missing from the SOPS file: {', '.join(missing)}")
    out.mkdir(mode=0o755, parents=True, exist_ok=True)
    written = []
    for name, value in sorted(values.items()):
        rel, uid = LAYOUT[name]
        path = out / rel
        path.parent.mkdir(mode=0o700, exist_ok=True)
        public = name == "tls_ca_crt"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o444 if public else 0o400)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(value.strip() + "\n")
        os.chmod(path, 0o444 if public else 0o400)
        if chown:
            os.chown(path, uid, uid)
            if path.parent != out:
                os.chown(path.parent, uid, uid)
        written.append(rel)
    if chown:
        os.chmod(out / "broker", 0o700)  # the broker writes its next master key here when it rotates it
        os.chmod(out / "broker" / "master_key", 0o600)
    return written


def own_tls(out: Path) -> None:
    """After make-ca.sh: each service key readable by its service's user alone."""
    tls = out / "tls"
    os.chmod(tls, 0o755)  # noqa: S103 - a folder the containers' users traverse; each key in it is 0400
    for name, uid in TLS_OWNERS.items():
        if (tls / name).exists():
            os.chown(tls / name, uid, uid)
            os.chmod(tls / name, 0o400)


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--own-tls":
        own_tls(Path(argv[1]))
        return 0
    if len(argv) != 1:
        sys.stderr.write("usage: secrets_install.py OUT_DIR < decrypted.json | secrets_install.py --own-tls OUT_DIR\n")
        return 2
    try:
        values = json.load(sys.stdin)
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise LayoutError("expected a flat mapping of secret names to strings")
        written = install({k: v for k, v in values.items() if k != "sops"}, Path(argv[0]), chown=os.geteuid() == 0)
    except (LayoutError, json.JSONDecodeError) as exc:
        sys.stderr.write(f"secrets: {exc}\n")
        return 1
    sys.stdout.write(f"installed {len(written)} secrets under {argv[0]}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
