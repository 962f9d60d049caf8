"""Decrypt every encrypted value once: the restore drill's proof that the data and the key agree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from storage.crypto.columns import EncryptedColumn
from storage.crypto.errors import CryptoError
from storage.crypto.field import FieldCipher
from storage.crypto.keystore import load_keyring
from storage.crypto.master import KeyEncryptionKey
from storage.db import Database
from storage.models import Base


@dataclass
class DecryptReport:
    values: int = 0
    per_column: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # "table.column pk=...: reason", never a value

    @property
    def ok(self) -> bool:
        return not self.failures


async def decrypt_everything(
    db: Database, kek: KeyEncryptionKey, columns: Sequence[EncryptedColumn], *, batch: int = 500
) -> DecryptReport:
    """Read every non-null value of ``columns`` and decrypt it; plaintexts are dropped at once."""
    report = DecryptReport()
    async with db.transaction() as session:
        cipher = FieldCipher(await load_keyring(session, kek))
    for spec in columns:
        table = Base.metadata.tables[spec.table]
        pk = table.c[spec.pk]
        cols = [pk, table.c[spec.column], *([table.c[spec.owner]] if spec.owner else [])]
        name, count, last = f"{spec.table}.{spec.column}", 0, None
        while True:
            q = select(*cols).where(table.c[spec.column].is_not(None)).order_by(pk).limit(batch)
            if last is not None:
                q = q.where(pk > last)
            async with db.transaction() as session:
                rows = [dict(r._mapping) for r in (await session.execute(q)).all()]
            for row in rows:
                try:
                    cipher.decrypt(spec.domain, spec.context(row), row[spec.column])
                    count += 1
                except CryptoError as exc:
                    report.failures.append(f"{name} {spec.pk}={row[spec.pk]}: {exc}")
            if len(rows) < batch:
                break
            last = rows[-1][spec.pk]
        report.per_column[name] = count
        report.values += count
    return report
