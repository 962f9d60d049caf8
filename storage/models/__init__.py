"""All mapped tables, imported here so Alembic sees one metadata."""

from storage.crypto.columns import EncryptedColumn
from storage.models import agent, broker, console, finance, jobs, mail, voice
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
from storage.models.console import AdminAccountRow, ConsoleSessionRow, RecoveryCodeRow, RefreshTokenRow
from storage.models.keys import DataKeyRow, KeyRotationRow

ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (
    *broker.ENCRYPTED,
    *console.ENCRYPTED,
    *agent.ENCRYPTED,
    *mail.ENCRYPTED,
    *finance.ENCRYPTED,
    *jobs.ENCRYPTED,
    *voice.ENCRYPTED,
)

__all__ = [
    "ENCRYPTED_COLUMNS",
    "AdminAccountRow",
    "ApiKeyRow",
    "AuditHeadRow",
    "AuditRow",
    "Base",
    "ConsoleSessionRow",
    "DataKeyRow",
    "IssuedTokenRow",
    "KeyRotationRow",
    "PrincipalRow",
    "RecoveryCodeRow",
    "RefreshTokenRow",
    "SecretRow",
    "SecretVersionRow",
    "SigningKeyRow",
]
