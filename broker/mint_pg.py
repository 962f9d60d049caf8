"""The mint of a verified key on PostgreSQL in one statement: one round trip and one commit.

The statement, in its own implicit transaction, locks the key's row and finds it exactly as the
broker last verified it (same hash and principal, the same four lists, not revoked, locked or
expired, no failed attempts, the principal enabled, the resource not deleted); only then does it
move the audit chain head, insert the token's row and the audit row and stamp the key's last use.
Either all of it commits before the token is returned, or nothing does:

* a key revoked meanwhile: the revocation locks the same row; it either commits first (the row
  is re-checked after the wait and fails) or sees this token's row and revokes it;
* the chain head: the audit row is chained to the head this process wrote last, and the head
  moves only from exactly that (seq, hash) (PostgreSQL re-checks a row a concurrent writer
  changed), so the chain stays one valid chain whoever else appends. When another writer moved
  it, the head is read again and the statement runs again;
* anything else (a changed key, an error, a head that keeps moving) writes nothing, and the
  caller answers through the transactional path, exactly as before.

The mints of this process take turns (a lock in the process), as they did on the head row.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import asyncpg

from broker.keycache import VerifiedKey
from storage.audit import AuditError, AuditEvent, AuditLog, audit_columns
from storage.db import Database

MAX_TRIES = 3
LAST_USED_EVERY = 60  # seconds: a key's last use is stamped at most this often
_COLUMNS = audit_columns()
_TYPES = {"seq": "bigint", "ts": "timestamptz"}
_FIRST = 21  # the audit row's values follow the 20 parameters below
_ROW = ", ".join(f"${_FIRST + i}::{_TYPES.get(c, 'text')}" for i, c in enumerate(_COLUMNS))
_MINT = f"""
WITH k AS (
    SELECT k.key_id FROM api_keys k JOIN principals p ON p.id = k.principal_id
    WHERE k.key_id = $1 AND k.key_hash = $2 AND k.principal_id = $3 AND k.revoked_at IS NULL
      AND (k.locked_until IS NULL OR k.locked_until <= $4) AND (k.expires_at IS NULL OR k.expires_at > $4)
      AND k.failed_attempts = 0 AND NOT p.disabled
      AND k.allowed_scopes IS NOT DISTINCT FROM $5 AND k.allowed_resources IS NOT DISTINCT FROM $6
      AND p.max_scopes IS NOT DISTINCT FROM $7 AND p.max_resources IS NOT DISTINCT FROM $8
      AND COALESCE((SELECT min(CASE WHEN s.deleted_at IS NULL THEN 0 ELSE 1 END)
                    FROM secrets s WHERE s.resource = $9), 0) = 0
    FOR UPDATE OF k
), moved AS (
    UPDATE audit_head SET seq = $11, hash = $12
    WHERE id = 1 AND seq = $13 AND hash = $14 AND EXISTS (SELECT 1 FROM k) RETURNING 1
), stamped AS (
    UPDATE api_keys SET last_used_at = $4
    WHERE key_id = $1 AND (last_used_at IS NULL OR last_used_at <= $10) AND EXISTS (SELECT 1 FROM moved)
    RETURNING 1
), issued AS (
    INSERT INTO issued_tokens
        (jti, principal_id, key_id, parent_jti, depth, audience, scope, resource, txn, issued_at, expires_at)
    SELECT $15, $3, $1, NULL, 0, $16, $17, $9, $18, $19, $20 FROM moved RETURNING 1
), logged AS (
    INSERT INTO audit_log ({", ".join(_COLUMNS)}) SELECT {_ROW} FROM moved RETURNING 1
)
SELECT (SELECT count(*) FROM k), (SELECT count(*) FROM issued), (SELECT count(*) FROM logged)
"""  # noqa: S608 - the model's column names; every value is bound
_HEAD = "SELECT seq, hash FROM audit_head WHERE id = 1"


class Outcome(Enum):
    ISSUED = "issued"  # committed: the token may be returned
    CHANGED = "changed"  # the key is not as verified: nothing written
    CONTENDED = "contended"  # the chain head kept moving, or the statement failed: nothing written


@dataclass(frozen=True, slots=True)
class TokenRow:
    jti: str
    audience: str
    scope: str
    resource: str
    txn: str
    issued_at: datetime
    expires_at: datetime


class OneStatementMint:
    """The chain head this process last wrote, and the turn its mints take."""

    def __init__(self, stamp_every: float = LAST_USED_EVERY) -> None:
        self._stamp_every = timedelta(seconds=stamp_every)
        self._turn = asyncio.Lock()
        self._head: tuple[int, str] | None = None

    async def issue(
        self,
        db: Database,
        log: AuditLog,
        key: tuple[str, VerifiedKey],
        token: TokenRow,
        event: AuditEvent,
        now: datetime,
    ) -> Outcome:
        key_id, known = key
        limits = known.limits
        fixed = (
            *(key_id, known.key_hash, known.principal_id, now),
            *(limits.key_scopes, limits.key_resources, limits.principal_scopes, limits.principal_resources),
            *(token.resource, now - self._stamp_every),
        )
        issued = (token.jti, token.audience, token.scope, token.txn, token.issued_at, token.expires_at)
        async with self._turn, db.driver_connection() as raw:
            if not isinstance(raw, asyncpg.Connection) or raw.is_in_transaction():
                return Outcome.CONTENDED
            for _ in range(MAX_TRIES):
                try:
                    if self._head is None:
                        found = await raw.fetchrow(_HEAD)
                        if found is None:
                            return Outcome.CONTENDED
                        self._head = (int(found[0]), str(found[1]))
                    seq, prev = self._head
                    row = log.chain(seq, prev, [event])[0]
                    values = tuple(getattr(row, c) for c in _COLUMNS)
                    result = await raw.fetchrow(_MINT, *fixed, row.seq, row.row_hash, seq, prev, *issued, *values)
                except (AuditError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                    self._head = None  # whatever happened, read the head again next time
                    return Outcome.CONTENDED
                checked, inserted, logged = (int(v) for v in result)
                if checked and inserted == logged == 1:
                    self._head = (row.seq, row.row_hash)
                    return Outcome.ISSUED
                self._head = None
                if not checked:
                    return Outcome.CHANGED
        return Outcome.CONTENDED
