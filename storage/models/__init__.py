"""All mapped tables, imported here so Alembic sees one metadata."""

from storage.crypto.columns import EncryptedColumn
from storage.models import broker
from storage.models.audit import AuditHeadRow, AuditRow
from storage.models.base import Base
from storage.models.broker import (
    ApiKeyRow,
    IssuedTokenRow,
    PrincipalRow,
    SecretRow,
    SecretVersionRow,
    SigningKeyRow,
)
from storage.models.keys import DataKeyRow, KeyRotationRow

ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (*broker.ENCRYPTED,)

__all__ = [
    "ENCRYPTED_COLUMNS",
    "ApiKeyRow",
    "AuditHeadRow",
    "AuditRow",
    "Base",
    "DataKeyRow",
    "IssuedTokenRow",
    "KeyRotationRow",
    "PrincipalRow",
    "SecretRow",
    "SecretVersionRow",
    "SigningKeyRow",
]
