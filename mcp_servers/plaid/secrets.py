"""Where the Plaid server puts an Item's access token: the shared scoped write path (:mod:`mcp_servers._secrets`)."""

from __future__ import annotations

from mcp_servers._secrets import (
    SECRET_TYPE,
    WRITE_SCOPE,
    BrokerSecretStore,
    MemorySecretStore,
    NoSecretStore,
    SecretStore,
    SecretStoreUnavailable,
)

__all__ = [
    "SECRET_TYPE",
    "WRITE_SCOPE",
    "BrokerSecretStore",
    "MemorySecretStore",
    "NoSecretStore",
    "SecretStore",
    "SecretStoreUnavailable",
]
