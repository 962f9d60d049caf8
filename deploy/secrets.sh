#!/usr/bin/env bash
# Decrypt the SOPS file (deploy/secrets/aegis.enc.yaml, age recipients in .sops.yaml) into Docker
# secret files on a tmpfs, then issue the services' TLS certificates from the internal CA.
#
#   sudo deploy/secrets.sh        (root: it mounts the tmpfs and gives each file to its one reader)
#
# Nothing is written to a disk: `sops` decrypts to a pipe, deploy/secrets_install.py writes the
# files to the tmpfs at AEGIS_SECRETS_RUN (default /run/aegis-secrets), which a reboot empties; run
# this again before `docker compose up`. Your age identity is read by sops from
# SOPS_AGE_KEY_FILE (default ~/.config/sops/age/keys.txt); keep it off this server when you can.
set -euo pipefail
umask 077
here="$(cd "$(dirname "$0")" && pwd)"
run="${AEGIS_SECRETS_RUN:-/run/aegis-secrets}"
src="${AEGIS_SOPS_FILE:-$here/secrets/aegis.enc.yaml}"
command -v sops >/dev/null || { echo "secrets: install sops 3.10 or later (deploy/README.md)" >&2; exit 2; }
[ -f "$src" ] || { echo "secrets: no $src; see deploy/README.md, 'Secrets'" >&2; exit 2; }

mkdir -p "$run"
if ! mountpoint -q "$run"; then
    mount -t tmpfs -o size=16m,mode=0755,nosuid,nodev,noexec tmpfs "$run"
fi
sops --decrypt --output-type json "$src" | python3 "$here/secrets_install.py" "$run"
"$here/make-ca.sh" "$run/tls"
python3 "$here/secrets_install.py" --own-tls "$run"
echo "secrets ready on the tmpfs at $run"
