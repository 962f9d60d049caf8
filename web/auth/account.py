"""The admin account: enrolment, login checks with replay protection, backoff and lockout, step-up.

A check runs in two phases so the slow argon2 work never holds a database lock:

1. :meth:`Account.precheck` reads the row and verifies the passphrase (and a recovery code) in a
   worker thread. It always runs argon2, for an unknown email too, so timing does not tell.
2. :meth:`Account.settle` runs in the caller's transaction: it locks the row, refuses a replayed
   TOTP step, consumes a recovery code, counts failures and sets the backoff or lockout.

Failures are counted per client address (a keyed hash of it): after ``backoff_after`` each further
attempt from that address waits 1, 2, 4... seconds, after ``lockout_after`` it is locked for
``lockout_seconds``; another address is not affected. Failures from every address also add up on
the account: after ``global_lockout_after`` since the last success the account is locked for
``global_lockout_seconds``, except for an address the owner logged in from within
``known_address_days`` and for recovery codes. So an attacker spread over many addresses gets
no more guesses than one address got before, and cannot lock the owner out.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
from argon2 import Parameters, Type
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto.field import FieldCipher
from storage.crypto.keyring import Keyring
from storage.models import AdminAccountRow, LoginAddressRow, RecoveryCodeRow
from storage.models.console import ENCRYPTED
from web.auth import recovery, totp
from web.auth.passwords import Hasher
from web.config import ConsoleConfig

ACCOUNT_ID = 1
STALE_ADDRESS_SECONDS = 24 * 3600  # longer than any address lockout
_TOTP_COLUMN = ENCRYPTED[0]
# Recovery codes carry 60 random bits, so a lighter argon2id cost is enough (OWASP's minimum).
RECOVERY_PARAMS = Parameters(
    type=Type.ID, version=19, salt_len=16, hash_len=32, time_cost=2, memory_cost=19456, parallelism=1
)


@dataclass(frozen=True, slots=True)
class Precheck:
    """What phase 1 learned; only :meth:`Account.settle` turns it into a decision."""

    account_exists: bool
    email_ok: bool
    passphrase_ok: bool
    totp_step: int | None
    recovery_id: int | None
    code_kind: str  # "totp", "recovery", "malformed", or "passkey" once the caller verified one
    locked_for: int  # seconds left of a backoff or lockout when phase 1 started (0 = free)


@dataclass(frozen=True, slots=True)
class Decision:
    ok: bool
    reason: str  # ok, unknown_email, bad_passphrase, bad_code, replayed_code, used_recovery_code, backoff, locked...
    retry_after: int = 0
    failures: int = 0  # from this client address
    locked: bool = False
    account_locked: bool = False  # this failure locked the account for unknown addresses


def _dt(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


class Account:
    def __init__(self, keyring: Keyring, config: ConsoleConfig) -> None:
        self._cipher = FieldCipher(keyring)
        self._keyring = keyring
        self._config = config
        self.hasher = Hasher(config.argon2)
        self.recovery_hasher = Hasher(RECOVERY_PARAMS)
        self._dummy = self.hasher.hash("aegis-dummy-passphrase-for-even-timing")
        self._dummy_recovery = self.recovery_hasher.hash("AAAA-AAAA-AAAA")

    # --- the secret -------------------------------------------------------------------------
    def encrypt_secret(self, secret: bytes) -> bytes:
        return self._cipher.encrypt("auth", _TOTP_COLUMN.context({"id": ACCOUNT_ID}), secret)

    def decrypt_secret(self, row: AdminAccountRow) -> bytes:
        return self._cipher.decrypt("auth", _TOTP_COLUMN.context(row), row.totp_secret)

    # --- enrolment ----------------------------------------------------------------------------
    async def enroll(
        self,
        session: AsyncSession,
        *,
        email: str,
        passphrase_hash: str,
        secret: bytes,
        confirmed_step: int,
        codes: list[str],
        now: float,
    ) -> None:
        """Create or replace the account and its recovery codes (the caller checked the old factors)."""
        hashes = [await anyio.to_thread.run_sync(self.recovery_hasher.hash, c) for c in codes]
        row = await session.get(AdminAccountRow, ACCOUNT_ID, with_for_update=True)
        if row is None:
            row = AdminAccountRow(id=ACCOUNT_ID, created_at=_dt(now))
            session.add(row)
        row.email = email
        row.passphrase_hash = passphrase_hash
        row.totp_secret = self.encrypt_secret(secret)
        # The new secret's first code was just confirmed: never accept it (or an earlier one) again.
        row.totp_last_step = confirmed_step
        row.failed_attempts = 0
        row.locked_until = None
        row.updated_at = _dt(now)
        await session.execute(delete(RecoveryCodeRow))
        session.add_all(RecoveryCodeRow(code_hash=h, created_at=_dt(now)) for h in hashes)

    async def exists(self, session: AsyncSession) -> bool:
        return await session.get(AdminAccountRow, ACCOUNT_ID) is not None

    async def email(self, session: AsyncSession) -> str | None:
        row = await session.get(AdminAccountRow, ACCOUNT_ID)
        return None if row is None else row.email

    # --- login, phase 1 -----------------------------------------------------------------------
    async def precheck(
        self, session: AsyncSession, email: str, passphrase: str, code: str, now: float, *, address: str = "local"
    ) -> Precheck:
        row = await session.get(AdminAccountRow, ACCOUNT_ID, populate_existing=True)
        place = await session.get(LoginAddressRow, self._address_key(address), populate_existing=True)
        codes: list[tuple[int, str]] = []
        if row is not None:
            q = select(RecoveryCodeRow.id, RecoveryCodeRow.code_hash).where(RecoveryCodeRow.used_at.is_(None))
            codes = [(int(i), str(h)) for i, h in (await session.execute(q)).all()]
        code = code.strip().replace(" ", "")
        kind = "totp" if totp.looks_like_code(code) else ("recovery" if recovery.normalize(code) else "malformed")
        locked_for = self._blocked(row, place, kind, now)
        if locked_for:
            # Refused without any work: the lock is not secret and the attacker caused it.
            return Precheck(row is not None, False, False, None, None, kind, locked_for)
        stored = row.passphrase_hash if row is not None else self._dummy
        passphrase_ok = await anyio.to_thread.run_sync(self.hasher.verify, stored, passphrase)
        email_ok = row is not None and hmac.compare_digest(
            row.email.strip().lower().encode(), email.strip().lower().encode()
        )
        step: int | None = None
        recovery_id: int | None = None
        if row is not None and kind == "totp":
            step = totp.match_step(self.decrypt_secret(row), code, now, skew=self._config.totp_skew)
        elif kind == "recovery":
            recovery_id = await self._match_recovery(codes, recovery.normalize(code))
        return Precheck(row is not None, email_ok, passphrase_ok, step, recovery_id, kind, 0)

    async def _match_recovery(self, codes: list[tuple[int, str]], code: str) -> int | None:
        """Always ten verifications (dummies fill the used slots): the time says nothing."""
        slots = codes + [(-1, self._dummy_recovery)] * max(0, recovery.COUNT - len(codes))
        found: int | None = None
        for code_id, stored in slots:
            ok = await anyio.to_thread.run_sync(self.recovery_hasher.verify, stored, code)
            if ok and found is None and code_id > 0:
                found = code_id
        return found

    # --- login, phase 2 -----------------------------------------------------------------------
    async def settle(
        self, session: AsyncSession, pre: Precheck, now: float, *, step_up: bool = False, address: str = "local"
    ) -> Decision:
        row = await session.get(AdminAccountRow, ACCOUNT_ID, with_for_update=True, populate_existing=True)
        if row is None:
            return Decision(False, "no_account")
        key = self._address_key(address)
        place = await session.get(LoginAddressRow, key, with_for_update=True, populate_existing=True)
        if place is None:
            place = LoginAddressRow(address=key, failed_attempts=0, updated_at=_dt(now))
            session.add(place)
        left = self._blocked(row, place, pre.code_kind, now)
        if left or pre.locked_for:
            cfg = self._config
            locked = place.failed_attempts >= cfg.lockout_after or row.failed_attempts >= cfg.global_lockout_after
            return Decision(False, "locked" if locked else "backoff", max(left, 1), place.failed_attempts, True)
        reason = "ok"
        if not pre.email_ok and not step_up:
            reason = "unknown_email"
        elif not pre.passphrase_ok and not step_up:
            reason = "bad_passphrase"
        elif pre.totp_step is not None:
            if pre.totp_step <= row.totp_last_step:
                reason = "replayed_code"
        elif pre.recovery_id is not None and not step_up:
            code_row = await session.get(RecoveryCodeRow, pre.recovery_id, with_for_update=True)
            if code_row is None or code_row.used_at is not None:
                reason = "used_recovery_code"
        elif pre.code_kind == "passkey" and not step_up:
            pass  # the caller verified a passkey assertion in place of the code
        else:
            reason = "bad_code"
        if reason != "ok":
            # Addresses that failed long ago and never logged in are forgotten: a botnet's cost.
            stale = _dt(now - STALE_ADDRESS_SECONDS)
            await session.execute(
                delete(LoginAddressRow).where(
                    LoginAddressRow.last_success_at.is_(None),
                    LoginAddressRow.updated_at < stale,
                    LoginAddressRow.address != key,
                )
            )
            return self._fail(row, place, reason, now)
        if pre.totp_step is not None:
            row.totp_last_step = pre.totp_step
        elif pre.recovery_id is not None:
            code_row = await session.get(RecoveryCodeRow, pre.recovery_id)
            assert code_row is not None
            code_row.used_at = _dt(now)
        row.failed_attempts = 0
        row.locked_until = None
        row.updated_at = _dt(now)
        place.failed_attempts, place.locked_until = 0, None
        place.last_success_at = place.updated_at = _dt(now)
        if pre.code_kind == "passkey":
            return Decision(True, "ok_passkey")
        return Decision(True, "ok" if pre.recovery_id is None else "ok_recovery_code")

    def _fail(self, row: AdminAccountRow, place: LoginAddressRow, reason: str, now: float) -> Decision:
        cfg = self._config
        place.failed_attempts += 1
        n = place.failed_attempts
        wait = 0
        if n >= cfg.lockout_after:
            wait = cfg.lockout_seconds
        elif n >= cfg.backoff_after:
            wait = min(2 ** (n - cfg.backoff_after), cfg.backoff_cap)
        place.locked_until = _dt(now + wait) if wait else None
        place.updated_at = _dt(now)
        row.failed_attempts += 1  # the account-wide count, slower to lock and not for the owner's places
        account_locked = row.failed_attempts >= cfg.global_lockout_after
        if account_locked:
            row.locked_until = _dt(now + cfg.global_lockout_seconds)
        row.updated_at = _dt(now)
        return Decision(False, reason, wait, n, n >= cfg.lockout_after, account_locked)

    def _address_key(self, address: str) -> str:
        return self._keyring.blind_index("auth", "login-address:" + address)

    def _blocked(self, row: AdminAccountRow | None, place: LoginAddressRow | None, kind: str, now: float) -> int:
        """Seconds this attempt must wait: the address's own backoff or lockout, and the account's
        lockout unless the address is one the owner uses or the code is a recovery code."""
        own = _until(place.locked_until if place is not None else None, now)
        known = (
            place is not None
            and place.last_success_at is not None
            and (_dt(now) - place.last_success_at).total_seconds() < self._config.known_address_days * 86400
        )
        return own if known or kind == "recovery" else max(own, _locked_for(row, now))

    # --- step-up ------------------------------------------------------------------------------
    async def step_up_precheck(
        self, session: AsyncSession, code: str, now: float, *, address: str = "local"
    ) -> Precheck:
        row = await session.get(AdminAccountRow, ACCOUNT_ID, populate_existing=True)
        place = await session.get(LoginAddressRow, self._address_key(address), populate_existing=True)
        locked_for = self._blocked(row, place, "totp", now)
        step = None
        if row is not None and not locked_for:
            step = totp.match_step(self.decrypt_secret(row), code, now, skew=self._config.totp_skew)
        return Precheck(row is not None, True, True, step, None, "totp", locked_for)


def _locked_for(row: AdminAccountRow | None, now: float) -> int:
    return _until(None if row is None else row.locked_until, now)


def _until(when: datetime | None, now: float) -> int:
    if when is None:
        return 0
    left = (when - _dt(now)).total_seconds()
    return max(0, int(-(-left // 1))) if left > 0 else 0
