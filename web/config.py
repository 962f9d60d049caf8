"""The console's configuration, built by the composition root (``aegis up``) or by tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from argon2 import Parameters, profiles


@dataclass(frozen=True)
class ConsoleConfig:
    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (e.g. the tunnel's local end).
    trusted_proxies: tuple[str, ...] = ()
    # The console's address as the owner's browser sees it (AEGIS_CONSOLE_URL): the passkeys'
    # relying party id and origin come from it. The embedded default is served on localhost.
    public_url: str = "http://localhost:8420"
    # Cookies carry Secure (and the __Host- prefix). Browsers accept Secure cookies on http://127.0.0.1.
    secure_cookies: bool = True
    clock: Callable[[], float] = time.time
    argon2: Parameters = field(default_factory=lambda: profiles.RFC_9106_LOW_MEMORY)
    access_ttl: int = 15 * 60
    refresh_ttl: int = 7 * 24 * 3600
    session_max_age: int = 30 * 24 * 3600
    totp_skew: int = 1
    backoff_after: int = 3
    backoff_cap: int = 300
    lockout_after: int = 10
    lockout_seconds: int = 15 * 60  # per client address
    # Failures from all addresses together, since the last success: the account then refuses
    # password and authenticator logins from addresses the owner has not logged in from lately.
    global_lockout_after: int = 20
    global_lockout_seconds: int = 30 * 60
    known_address_days: int = 30
    # Token buckets per client IP: (per second, burst).
    auth_rate: tuple[float, float] = (10 / 60, 10)
    api_rate: tuple[float, float] = (20.0, 60)
