"""The broker's configuration, built by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BrokerConfig:
    database_url: str
    master_key_path: Path
    admin_token: str
    issuer: str = "http://127.0.0.1:8421"
    audience: str = "aegis"
    max_ttl: int = 1800
    leeway: int = 60
    lockout_threshold: int = 5
    lockout_seconds: int = 300
    key_max_days: int = 365
    ip_rate: float = 200.0
    ip_burst: float = 400.0
    key_rate: float = 100.0
    key_burst: float = 200.0
    auth_fail_rate: float = 1.0
    auth_fail_burst: float = 10.0
    checkpoint_path: Path | None = None  # signed audit-chain checkpoints; None: none are written
    checkpoint_seconds: float = 60.0
    keyset_refresh_seconds: float = 30.0
    late_write_sweep_seconds: float = 120.0  # after a data-key rotation: re-seal what stale writers wrote
    body_timeout_seconds: float = 10.0

    def __repr__(self) -> str:
        return f"BrokerConfig(issuer={self.issuer!r}, audience={self.audience!r})"
