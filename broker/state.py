"""The broker's runtime state: sealed until the master key unlocks the keyring."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from broker.config import BrokerConfig
from broker.errors import Unavailable
from broker.ratelimit import RateLimiter
from broker.tokens import SigningKey
from broker.verify import KeySet, verify_token
from storage.audit import AuditLog
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import Keyring
from storage.db import Database
from storage.models import SigningKeyRow

Clock = Callable[[], float]


@dataclass
class Unsealed:
    keyring: Keyring
    cipher: FieldCipher
    audit: AuditLog
    pepper: bytes = field(repr=False)
    kek_id: str


@dataclass
class BrokerState:
    config: BrokerConfig
    db: Database
    clock: Clock = time.time
    unsealed: Unsealed | None = None
    sealed_reason: str = "not started"
    signing: dict[str, SigningKey] = field(default_factory=dict)
    active_kid: str | None = None
    keyset: KeySet = field(default_factory=lambda: KeySet.from_jwks({"keys": []}))
    jwks_doc: dict[str, object] = field(default_factory=lambda: {"keys": []})
    background: set[asyncio.Task[None]] = field(default_factory=set)
    ip_limiter: RateLimiter = field(init=False)
    key_limiter: RateLimiter = field(init=False)
    fail_limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        c = self.config
        self.ip_limiter = RateLimiter(c.ip_rate, c.ip_burst, self.clock)
        self.key_limiter = RateLimiter(c.key_rate, c.key_burst, self.clock)
        self.fail_limiter = RateLimiter(c.auth_fail_rate, c.auth_fail_burst, self.clock)

    @property
    def sealed(self) -> bool:
        return self.unsealed is None

    def keys(self) -> Unsealed:
        if self.unsealed is None:
            raise Unavailable("sealed", "the broker is sealed")
        return self.unsealed

    def now(self) -> int:
        return int(self.clock())

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def seal(self, reason: str) -> None:
        self.unsealed = None
        self.signing.clear()
        self.active_kid = None
        self.sealed_reason = reason

    def active_signing_key(self) -> SigningKey:
        if self.active_kid is None:
            raise Unavailable("no_signing_key", "no active signing key")
        return self.signing[self.active_kid]

    async def load_signing_keys(self) -> None:
        """Load every published signing key; the JWKS and the broker's own verifier follow it."""
        unsealed = self.keys()
        from storage.models.broker import ENCRYPTED

        spec = ENCRYPTED[0]
        now = self.now_dt()
        async with self.db.transaction() as s:
            rows = (await s.scalars(select(SigningKeyRow).where(SigningKeyRow.state != "retired"))).all()
        signing: dict[str, SigningKey] = {}
        active: str | None = None
        published: list[dict[str, object]] = []
        for row in rows:
            if row.state == "retiring" and row.unpublish_after is not None and row.unpublish_after <= now:
                continue
            pem = unsealed.cipher.decrypt(spec.domain, spec.context({"kid": row.kid}), row.private_key)
            signing[row.kid] = SigningKey.from_pem(row.kid, pem, int(row.created_at.timestamp()))
            published.append(json.loads(row.public_jwk))
            if row.state == "active":
                active = row.kid
        self.signing, self.active_kid = signing, active
        self.jwks_doc = {"keys": published}
        self.keyset = KeySet.from_jwks(self.jwks_doc)

    def verify_own_token(self, token: str) -> dict[str, Any]:
        """Verify a token addressed to the broker itself (its own audience). Raises VerificationError."""
        return verify_token(
            token,
            keys=self.keyset,
            issuer=self.config.issuer,
            audience=self.config.audience,
            leeway=self.config.leeway,
            max_lifetime=self.config.max_ttl,
            now=self.now(),
        )

    def retire_window(self) -> timedelta:
        return timedelta(seconds=self.config.max_ttl + self.config.leeway)
