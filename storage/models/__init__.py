"""All mapped tables, imported here so Alembic sees one metadata."""

from storage.crypto.columns import EncryptedColumn
from storage.models.audit import AuditHeadRow, AuditRow
from storage.models.base import Base
from storage.models.keys import DataKeyRow, KeyRotationRow

ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = ()

__all__ = ["ENCRYPTED_COLUMNS", "AuditHeadRow", "AuditRow", "Base", "DataKeyRow", "KeyRotationRow"]
