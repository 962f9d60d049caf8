#!/usr/bin/env bash
# An encrypted backup of Aegis, uploaded offsite.
#
#   deploy/backup.sh [OUT_DIR]          (default OUT_DIR: deploy/backups)
#
# 1. Snapshots the database (production: pg_dump in the postgres container; embedded: SQLite's online
#    backup) and the audit log's signed checkpoints (the file the broker appends to:
#    AEGIS_BACKUP_CHECKPOINT_FILE, default <data dir>/audit-checkpoints.jsonl; in production the
#    broker's volume) into a folder on a tmpfs, with a SHA256SUMS of every file.
# 2. Streams that folder through `age` to the recipients in deploy/backup-recipients.txt (public keys,
#    one per line; AEGIS_BACKUP_RECIPIENTS overrides). No plaintext reaches a disk.
# 3. With AEGIS_BACKUP_S3_ENDPOINT and AEGIS_BACKUP_S3_BUCKET set, uploads the archive and a manifest
#    (size, SHA-256) to the S3-compatible store and deletes backups older than AEGIS_BACKUP_KEEP_DAYS
#    (30), always keeping the AEGIS_BACKUP_KEEP_MIN (7) newest.
#
# The master key is NOT in the backup: keep its own offline copy apart from these files.
set -euo pipefail
umask 077
here="$(cd "$(dirname "$0")" && pwd)"
mode="${AEGIS_MODE:-embedded}"
recipients="${AEGIS_BACKUP_RECIPIENTS:-$here/backup-recipients.txt}"
out="${1:-$here/backups}"
data="${AEGIS_DATA_DIR:-data}"
checkpoints="${AEGIS_BACKUP_CHECKPOINT_FILE:-$data/audit-checkpoints.jsonl}"
read -ra py <<< "${AEGIS_PYTHON:-uv run --frozen python}"
compose=(docker compose -f "$here/compose.yml")

[ -s "$recipients" ] || { echo "backup: no age recipients in $recipients" >&2; exit 2; }
name="aegis-$(date -u +%Y%m%dT%H%M%SZ)"
stage="$(mktemp -d "${AEGIS_BACKUP_STAGE:-/dev/shm}/aegis-backup.XXXXXX")"   # a tmpfs
trap 'rm -rf "$stage"' EXIT
mkdir -p "$out" "$stage/$name"

if [ "$mode" = production ]; then
    "${compose[@]}" exec -T postgres pg_dump -U aegis_owner -d aegis --format=custom > "$stage/$name/aegis.pgdump"
    for f in audit-checkpoints.jsonl audit-checkpoints.pub; do
        "${compose[@]}" cp "broker:/var/lib/aegis/$f" "$stage/$name/$f" 2>/dev/null \
            || echo "backup: no $f in the broker's volume yet" >&2
    done
else
    "${py[@]}" -m aegis.offsite snapshot-sqlite "$data/aegis.db" "$stage/$name/aegis.db"
    if [ -f "$checkpoints" ]; then
        cp "$checkpoints" "$stage/$name/audit-checkpoints.jsonl"
        # The public half of the checkpoints' Ed25519 key: verifies them offline, holds no secret.
        if [ -f "${checkpoints%.jsonl}.pub" ]; then cp "${checkpoints%.jsonl}.pub" "$stage/$name/audit-checkpoints.pub"; fi
    else
        echo "backup: no audit checkpoints at $checkpoints yet" >&2
    fi
fi
(cd "$stage/$name" && find . -type f -print0 | sort -z | xargs -0 sha256sum > "$stage/SHA256SUMS" && mv "$stage/SHA256SUMS" .)

tar -C "$stage" -cf - "$name" | age --encrypt --recipients-file "$recipients" --output "$out/$name.tar.age"
echo "wrote $out/$name.tar.age"

if [ -n "${AEGIS_BACKUP_S3_ENDPOINT:-}" ]; then
    if [ "$mode" = production ]; then
        "${compose[@]}" --profile ops run --rm -e AEGIS_BACKUP_S3_ENDPOINT -e AEGIS_BACKUP_S3_BUCKET \
            -e AEGIS_BACKUP_S3_REGION -e AEGIS_BACKUP_PREFIX -e AEGIS_BACKUP_KEEP_DAYS -e AEGIS_BACKUP_KEEP_MIN \
            -v "$out:/backups:ro" backup push "/backups/$name.tar.age"
    else
        "${py[@]}" -m aegis.offsite push "$out/$name.tar.age"
    fi
fi
