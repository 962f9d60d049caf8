"""One round trip per group commit on PostgreSQL.

The writer keeps the chain head it last wrote. A single statement moves the head from that exact
(seq, hash) to the batch's last row and inserts the batch, in the statement's own transaction: the
``UPDATE`` matches only if no one else appended in between (under READ COMMITTED, PostgreSQL
re-checks the row a concurrent writer changed), and the ``INSERT`` runs only if the ``UPDATE`` did.
Another process (an MCP server writes its own rows) moves the head: zero rows are inserted, the
head is read again and the batch is chained anew. Every committed state keeps ``max(seq) ==
head.seq`` and a valid chain, as :func:`storage.audit.verify_chain` expects.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from storage.audit import AuditError, AuditEvent, AuditLog, audit_columns
from storage.models import AuditRow

MAX_TRIES = 8
_COLUMNS = audit_columns()
_TYPES = {"seq": "bigint", "ts": "timestamptz"}
_ARRAYS = ", ".join(f"${i + 5}::{_TYPES.get(c, 'text')}[]" for i, c in enumerate(_COLUMNS))
_MOVE = "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3 AND hash = $4 RETURNING 1"
_INTO = f"INSERT INTO audit_log ({', '.join(_COLUMNS)}) SELECT * FROM unnest({_ARRAYS})"  # noqa: S608 - model columns
_APPEND = f"WITH moved AS ({_MOVE}) {_INTO} WHERE EXISTS (SELECT 1 FROM moved)"  # noqa: S608 - constants
_HEAD = "SELECT seq, hash FROM audit_head WHERE id = 1"


class PgAppender:
    """Appends batches on a bare asyncpg connection outside any open transaction."""

    def __init__(self, log: AuditLog) -> None:
        self._log = log
        self._head: tuple[int, str] | None = None

    async def append(self, raw: asyncpg.Connection, events: Sequence[AuditEvent]) -> list[AuditRow]:
        if raw.is_in_transaction():
            raise AuditError("audit write failed: the connection is inside a transaction")
        for _ in range(MAX_TRIES):
            if self._head is None:
                found = await raw.fetchrow(_HEAD)
                if found is None:
                    raise AuditError("audit write failed: the chain head row is missing")
                self._head = (int(found[0]), str(found[1]))
            seq, prev = self._head
            rows = self._log.chain(seq, prev, events)
            columns = [[getattr(r, c) for r in rows] for c in _COLUMNS]
            status = await raw.execute(_APPEND, rows[-1].seq, rows[-1].row_hash, seq, prev, *columns)
            if status == f"INSERT 0 {len(rows)}":
                self._head = (rows[-1].seq, rows[-1].row_hash)
                return rows
            self._head = None  # someone else appended: read the head again and chain anew
        raise AuditError("audit write failed: the chain head kept moving")
