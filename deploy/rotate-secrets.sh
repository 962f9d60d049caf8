#!/usr/bin/env bash
# Rotate every secret Aegis can rotate itself; run it at least every 90 days (Aegis warns at day 80).
#
#   deploy/rotate-secrets.sh            with the stack running (embedded `aegis up`, or `docker compose up`)
#
# In order: the broker's signing key, every data key (re-encrypting its data), the master key
# (re-wrapping every data key), the console's and MCP servers' broker API keys, the broker admin
# token; in production also the PostgreSQL password, the service TLS certificates and the SOPS files
# (new data key, new values). Then it lists the vendor credentials to rotate by hand.
# Embedded: restart `aegis up` afterwards (new service keys and admin token take effect at start).
# Production: the script restarts the broker, the console and the WhatsApp bridge itself.
set -euo pipefail
umask 077
here="$(cd "$(dirname "$0")" && pwd)"
mode="${AEGIS_MODE:-embedded}"
read -ra py <<< "${AEGIS_PYTHON:-uv run --frozen python}"
compose=(docker compose -f "$here/compose.yml")
run="${AEGIS_SECRETS_RUN:-/run/aegis-secrets}"
sops_file="${AEGIS_SOPS_FILE:-$here/secrets/aegis.enc.yaml}"

step() { printf '\n== %s ==\n' "$*"; }
if [ "$mode" = production ]; then
    helper() { "${compose[@]}" exec -T broker python -m aegis.rotate "$@"; }
else
    helper() { "${py[@]}" -m aegis.rotate "$@"; }
fi

step "broker signing key, data keys (each domain's data re-encrypted), master key (data keys re-wrapped)"
helper broker-keys

step "service API keys"
if [ "$mode" = production ]; then
    helper service-keys --out /run/aegis-keys/rotation
    helper admin-token --out /run/aegis-keys/rotation
else
    helper service-keys
fi

if [ "$mode" = production ]; then
    step "PostgreSQL passwords (the application's role and the schema's owner)"
    new="$run/broker/rotation"
    for pair in "aegis_app:database_url:postgres_app_password" "aegis_owner:migration_database_url:postgres_owner_password"; do
        IFS=: read -r role url_name pw_name <<< "$pair"
        password="$(openssl rand -hex 32)"
        # The statement goes through stdin, never argv; the password never reaches a log.
        printf "ALTER ROLE %s PASSWORD '%s';\n" "$role" "$password" \
            | "${compose[@]}" exec -T postgres psql -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -U postgres -d aegis
        printf '%s\n' "$password" > "$new/$pw_name"
        printf 'postgresql+asyncpg://%s:%s@postgres.svc.aegis.internal:5432/aegis\n' "$role" "$password" > "$new/$url_name"
    done
    unset password

    step "service TLS certificates"
    "$here/make-ca.sh" "$run/tls" --renew

    step "SOPS: new values, new data key"
    cp "$run/broker/master_key" "$new/master_key"
    for f in "$new"/*; do
        name="$(basename "$f")"
        [ "$name" = retired_key_ids ] && continue
        # --value-file keeps the value out of argv (sops 3.10+); the value is a JSON string.
        "${py[@]}" -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read().strip()))' "$f" > "$f.json"
        sops set --value-file "$sops_file" "[\"$name\"]" "$f.json"
        rm -f "$f.json"
    done
    sops rotate --in-place "$sops_file"
    "$here/secrets.sh"
    "${compose[@]}" up -d --force-recreate broker console whatsapp-bridge
    helper revoke-retired --out /run/aegis-keys/rotation
    rm -rf "$new"
    find "$run/broker" -name 'master_key.*' -type f -delete   # the previous master key: SOPS holds the new one
else
    step "broker admin token"
    helper admin-token
fi

step "by hand: vendor credentials"
cat <<'LIST'
Aegis cannot rotate these itself. Make a new one at each vendor, store it, then revoke the old one:
  - Anthropic API key            console.anthropic.com, then: the anthropic_api_key secret
  - Google OAuth client secret   Google Cloud console (Gmail), then: the google_client_secret secret
  - Plaid secret                 Plaid dashboard, then: `aegis secrets rotate` for the Plaid entry
  - Cloudflare Tunnel token      Zero Trust > Networks > Tunnels > Refresh token, then: tunnel_token
  - Offsite backup keys          your S3/MinIO console, then: s3_access_key_id, s3_secret_access_key
  - Phone push token (ntfy)      your ntfy server, then: push_token
  - The age key for backups and SOPS: a new key pair every year (deploy/README.md, "Secrets")
LIST

if [ "$mode" != production ]; then
    echo
    echo "Done. Restart Aegis now (Ctrl-C, then 'aegis up'): new service keys and the admin token take effect at start."
    echo "Back up the new master key file offline, then destroy the previous copy named in the output above."
fi
