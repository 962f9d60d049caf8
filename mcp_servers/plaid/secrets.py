"""Where the Plaid server puts an Item's access token: the shared broker secret store."""

from __future__ import annotations

from mcp_servers._secrets import (
    BrokerSecretStore,
    MemorySecretStore,
    NoSecretStore,
    SecretStore,
    SecretStoreUnavailable,
)

__all__ = ["BrokerSecretStore", "MemorySecretStore", "NoSecretStore", "SecretStore", "SecretStoreUnavailable"]
