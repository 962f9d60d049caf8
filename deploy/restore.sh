#!/usr/bin/env bash
# Restore a backup into an EMPTY stack, then prove it: every encrypted value decrypts and the audit
# chain verifies.
#
#   deploy/restore.sh NAME|latest|FILE.tar.age --identity AGE_KEY_FILE [--master-key FILE]
#
# NAME/latest is pulled from the S3-compatible store (AEGIS_BACKUP_S3_*; the archive must match its
# manifest), a FILE is used as is. The stock `age` CLI decrypts it onto a tmpfs and SHA256SUMS is
# checked before anything is restored.
#   embedded (AEGIS_MODE unset): into AEGIS_DATA_DIR, which must hold no database yet; --master-key
#     installs the master key from its own offline backup (mode 0600).
#   production: pg_restore into the freshly created, empty database of `docker compose up -d postgres`
#     and the checkpoints into the broker's volume; the master key comes from SOPS as usual.
# The audit chain is verified against the backup's signed checkpoints: a database whose tail was cut
# or whose history was rewritten after the checkpoint fails the drill.
set -euo pipefail
umask 077
here="$(cd "$(dirname "$0")" && pwd)"
mode="${AEGIS_MODE:-embedded}"
read -ra py <<< "${AEGIS_PYTHON:-uv run --frozen python}"
compose=(docker compose -f "$here/compose.yml")
what="${1:?usage: restore.sh NAME|latest|FILE.tar.age --identity AGE_KEY_FILE [--master-key FILE]}"
shift
identity="" master_key=""
while [ $# -gt 0 ]; do
    case "$1" in
        --identity) identity="$2"; shift 2 ;;
        --master-key) master_key="$2"; shift 2 ;;
        *) echo "restore: unknown option $1" >&2; exit 2 ;;
    esac
done
[ -n "$identity" ] || { echo "restore: --identity AGE_KEY_FILE is required" >&2; exit 2; }

stage="$(mktemp -d "${AEGIS_BACKUP_STAGE:-/dev/shm}/aegis-restore.XXXXXX")"   # a tmpfs
trap 'rm -rf "$stage"' EXIT
if [ -f "$what" ]; then
    archive="$what"
else
    archive="$("${py[@]}" -m aegis.offsite pull "$what" "$stage/download")"
fi
mkdir "$stage/x"
age --decrypt --identity "$identity" "$archive" | tar -C "$stage/x" -xf -
name="$(ls "$stage/x")"
src="$stage/x/$name"
(cd "$src" && sha256sum --quiet --strict -c SHA256SUMS)
echo "restore: $name decrypted and every file matches SHA256SUMS"

if [ "$mode" = production ]; then
    "${compose[@]}" exec -T postgres pg_restore -U aegis_owner -d aegis --exit-on-error --single-transaction < "$src/aegis.pgdump"
    cp_args=()
    if [ -f "$src/audit-checkpoints.jsonl" ]; then
        cp_args=(-v "$src/audit-checkpoints.jsonl:/restore/audit-checkpoints.jsonl:ro")
    fi
    "${compose[@]}" run --rm --no-deps "${cp_args[@]}" --entrypoint python broker -m aegis.restore_check \
        ${cp_args:+--checkpoints /restore/audit-checkpoints.jsonl}
else
    data="${AEGIS_DATA_DIR:-data}"
    if [ -e "$data/aegis.db" ]; then
        echo "restore: $data/aegis.db exists; restore only into an empty data folder" >&2
        exit 1
    fi
    mkdir -p -m 700 "$data"
    install -m 600 "$src/aegis.db" "$data/aegis.db"
    if [ -n "$master_key" ]; then install -m 600 "$master_key" "$data/master.key"; fi
    check=()
    if [ -f "$src/audit-checkpoints.jsonl" ]; then check=(--checkpoints "$src/audit-checkpoints.jsonl"); fi
    AEGIS_DATA_DIR="$data" "${py[@]}" -m aegis.restore_check "${check[@]}"
fi
echo "restore: done"
