"""The broker's runtime state: sealed until the master key unlocks the keyring."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from broker.config import BrokerConfig
from broker.errors import Unavailable
from broker.keycache import VerifiedKeys
from broker.mint_pg import OneStatementMint
from broker.ratelimit import RateLimiter
from broker.sealed_audit import FILE_NAME as PENDING_FILE
from broker.sealed_audit import PendingAudit
from broker.signing import PUBLISHED_STATES, SigningSet, load_rows
from broker.tokens import SigningKey
from broker.verify import KeySet, verify_token
from storage.audit import AuditLog
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import Keyring
from storage.db import Database
from storage.flood_trace import FloodTrace
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
    signing_set: SigningSet = field(default_factory=SigningSet)
    background: set[asyncio.Task[None]] = field(default_factory=set)
    ip_limiter: RateLimiter = field(init=False)
    key_limiter: RateLimiter = field(init=False)
    fail_limiter: RateLimiter = field(init=False)
    verified_keys: VerifiedKeys = field(default_factory=VerifiedKeys)  # immutable facts of verified keys
    one_statement: OneStatementMint = field(default_factory=OneStatementMint)  # PostgreSQL mints (broker.mint_pg)
    flood: FloodTrace | None = None  # aggregated rows for 429s and unknown routes (set by the app)
    # Sealed, there is no chain key: refusals wait here and become keyed rows at unseal.
    pending_audit: PendingAudit = field(init=False)

    def __post_init__(self) -> None:
        c = self.config
        self.ip_limiter = RateLimiter(c.ip_rate, c.ip_burst, self.clock)
        self.key_limiter = RateLimiter(c.key_rate, c.key_burst, self.clock)
        self.fail_limiter = RateLimiter(c.auth_fail_rate, c.auth_fail_burst, self.clock)
        folder = None if c.checkpoint_path is None else c.checkpoint_path.with_name(PENDING_FILE)
        self.pending_audit = PendingAudit(folder, clock=self.now_dt)

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
        self.signing_set = SigningSet()
        self.sealed_reason = reason

    def current_keys(self) -> SigningSet:
        """The signing set now: a key past its retirement time is gone at once, reload or not."""
        current = self.signing_set.at(self.clock())
        if current is not self.signing_set:
            self.signing_set = current
        return current

    @property
    def signing(self) -> dict[str, SigningKey]:
        return self.current_keys().signing

    @property
    def active_kid(self) -> str | None:
        return self.current_keys().active_kid

    @property
    def keyset(self) -> KeySet:
        return self.current_keys().keyset

    @property
    def jwks_doc(self) -> dict[str, object]:
        return self.current_keys().jwks_doc

    def active_signing_key(self) -> SigningKey:
        keys = self.current_keys()
        if keys.active_kid is None:
            raise Unavailable("no_signing_key", "no active signing key")
        return keys.signing[keys.active_kid]

    async def load_signing_keys(self) -> None:
        """Reload the published keys and mark the ones past their time retired (run on a schedule)."""
        unsealed = self.keys()
        now = self.now_dt()
        async with self.db.transaction() as s:
            await s.execute(
                update(SigningKeyRow)
                .where(SigningKeyRow.state == "retiring", SigningKeyRow.unpublish_after <= now)
                .values(state="retired")
            )
            rows = (await s.scalars(select(SigningKeyRow).where(SigningKeyRow.state.in_(PUBLISHED_STATES)))).all()
            loaded = load_rows(unsealed.cipher, rows, now)
        self.signing_set = loaded

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
