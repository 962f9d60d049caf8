#!/usr/bin/env bash
# An encrypted PostgreSQL backup: pg_dump inside the postgres container, piped straight into age.
# Recipients (public keys, one per line) in deploy/backup-recipients.txt; the plaintext never
# touches the disk. Keep the master key backup separate from these files.
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-backups}/aegis-$(date -u +%Y%m%dT%H%M%SZ).sql.age"
mkdir -p "$(dirname "$out")"
docker compose exec -T postgres pg_dump -U aegis -d aegis --format=custom \
    | age --encrypt --recipients-file backup-recipients.txt --output "$out"
echo "wrote $out"
