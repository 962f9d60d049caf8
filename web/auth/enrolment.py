"""The core of ``aegis admin init``, callable with a Keyring and a Database (no broker, no terminal)."""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio

from storage.audit import AuditEvent, AuditLog, ChainKey
from storage.crypto.keyring import Keyring
from storage.db import Database
from web.auth import recovery, totp
from web.auth.account import Account
from web.auth.passwords import check_strength
from web.config import ConsoleConfig

CLI_ADDRESS = "cli:admin-init"  # where `aegis admin init` checks the current factors from


@dataclass
class Enrolment:
    """A pending enrolment: the new TOTP secret is shown, then confirmed with a first code."""

    email: str
    passphrase: str
    secret: bytes = field(default_factory=totp.new_secret, repr=False)

    @property
    def uri(self) -> str:
        return totp.provisioning_uri(self.secret, self.email)

    def confirm(self, code: str, now: float) -> int | None:
        """The step of a correct first code (allowing ±1 step), else None."""
        return totp.match_step(self.secret, code, now)


class AdminSetup:
    def __init__(self, db: Database, keyring: Keyring, config: ConsoleConfig) -> None:
        self._db = db
        self._config = config
        self._account = Account(keyring, config)
        self._audit = AuditLog(lambda v: keyring.blind_index("audit", v), key=ChainKey.of(keyring))

    def now(self) -> float:
        return self._config.clock()

    async def exists(self) -> bool:
        async with self._db.transaction() as s:
            return await self._account.exists(s)

    async def current_email(self) -> str | None:
        async with self._db.transaction() as s:
            return await self._account.email(s)

    async def verify_current(self, passphrase: str, code: str) -> bool:
        """Re-running init needs the current passphrase plus a TOTP or recovery code (same rules as login)."""
        now = self._config.clock()
        async with self._db.transaction() as s:
            email = await self._account.email(s) or ""
            pre = await self._account.precheck(s, email, passphrase, code, now, address=CLI_ADDRESS)
        async with self._db.transaction() as s:
            decision = await self._account.settle(s, pre, now, address=CLI_ADDRESS)
            await self._audit.append(
                s,
                AuditEvent(
                    actor="admin" if decision.ok else "anonymous",
                    action="admin.reinit_check",
                    result="ok" if decision.ok else "fail",
                    reason=decision.reason,
                    resource="cli:admin init",
                ),
            )
        return decision.ok

    def start(self, email: str, passphrase: str) -> Enrolment:
        """Raises :class:`web.auth.passwords.WeakPassphrase` with a reason the admin can act on."""
        check_strength(passphrase, email)
        return Enrolment(email=email.strip(), passphrase=passphrase)

    async def finish(self, enrolment: Enrolment, confirmed_step: int, *, via: str = "cli:admin init") -> list[str]:
        """Store the account; return the ten recovery codes (shown once, stored hashed). ``via``: the
        audited resource (the CLI or the browser setup)."""
        now = self._config.clock()
        codes = recovery.new_codes()
        passphrase_hash = await anyio.to_thread.run_sync(self._account.hasher.hash, enrolment.passphrase)
        async with self._db.transaction() as s:
            replaced = await self._account.exists(s)
            await self._account.enroll(
                s,
                email=enrolment.email,
                passphrase_hash=passphrase_hash,
                secret=enrolment.secret,
                confirmed_step=confirmed_step,
                codes=codes,
                now=now,
            )
            await self._audit.append(
                s,
                AuditEvent(
                    actor="admin",
                    action="admin.init",
                    result="ok",
                    reason="replaced" if replaced else "created",
                    resource=via,
                ),
            )
        return codes
