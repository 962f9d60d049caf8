"""The registry of encrypted columns: what rotation rewraps and how each value's context is built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage.crypto.field import FieldContext


@dataclass(frozen=True, slots=True)
class EncryptedColumn:
    table: str
    column: str
    domain: str
    pk: str = "id"
    owner: str | None = None

    def context(self, row: Any) -> FieldContext:
        """``row`` is any mapping-like or attribute object holding the pk and owner columns."""
        get = row.get if isinstance(row, dict) else (lambda k: getattr(row, k))
        owner = "" if self.owner is None else str(get(self.owner))
        return FieldContext(self.table, self.column, str(get(self.pk)), owner)
