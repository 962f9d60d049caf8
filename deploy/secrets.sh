#!/usr/bin/env bash
# Decrypt the SOPS-encrypted secrets (secrets/*.enc, age recipients in .sops.yaml) into
# secrets/run/, one file per secret, mode 0600, for Docker secrets. Never commit secrets/run/.
set -euo pipefail
cd "$(dirname "$0")/secrets"
umask 077
mkdir -p run
for f in *.enc; do
    [ -e "$f" ] || { echo "no secrets/*.enc files; see deploy/README.md" >&2; exit 1; }
    name="${f%.enc}"
    sops --decrypt --output "run/$name" "$f"
    chmod 600 "run/$name"
done
echo "decrypted $(ls run | wc -l) secrets into deploy/secrets/run (mode 0600)"
