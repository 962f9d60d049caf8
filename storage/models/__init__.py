"""All mapped tables, imported here so Alembic sees one metadata.

The core tables are below. Each installed integration keeps its own tables in
``mcp_servers/<name>/models.py`` (with its ``ENCRYPTED`` columns); :func:`load_integration_models`
imports them by the installed list, so one metadata and one list of encrypted columns cover all.
"""

import importlib
from functools import cache

from storage.crypto.columns import EncryptedColumn
from storage.models import agent, broker, console, content, jobs, money, voice
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
from storage.models.console import (
    AdminAccountRow,
    ConsoleSessionRow,
    LoginAddressRow,
    RecoveryCodeRow,
    RefreshTokenRow,
)
from storage.models.keys import DataKeyRow, KeyRotationRow
from storage.models.passkeys import PasskeyRow, WebAuthnChallengeRow

CORE_ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (
    *broker.ENCRYPTED,
    *console.ENCRYPTED,
    *agent.ENCRYPTED,
    *jobs.ENCRYPTED,
    *money.ENCRYPTED,
    *content.ENCRYPTED,
    *voice.ENCRYPTED,
)


@cache
def load_integration_models() -> tuple[EncryptedColumn, ...]:
    """Import the installed integrations' table modules (into :data:`Base.metadata`) and return
    their encrypted columns."""
    from integrations import Catalog

    out: list[EncryptedColumn] = []
    for module in Catalog.load().models_modules():
        out += getattr(importlib.import_module(module), "ENCRYPTED", ())
    return tuple(out)


def encrypted_columns() -> tuple[EncryptedColumn, ...]:
    """Every encrypted column: the core's and the installed integrations'."""
    return (*CORE_ENCRYPTED_COLUMNS, *load_integration_models())


__all__ = [
    "CORE_ENCRYPTED_COLUMNS",
    "AdminAccountRow",
    "ApiKeyRow",
    "AuditHeadRow",
    "AuditRow",
    "Base",
    "ConsoleSessionRow",
    "DataKeyRow",
    "IssuedTokenRow",
    "KeyRotationRow",
    "LoginAddressRow",
    "PasskeyRow",
    "PrincipalRow",
    "RecoveryCodeRow",
    "RefreshTokenRow",
    "SecretRow",
    "SecretVersionRow",
    "SigningKeyRow",
    "WebAuthnChallengeRow",
    "encrypted_columns",
    "load_integration_models",
]
