"""Passkeys (WebAuthn) for the owner: registration, login and approval step-up.

The verification is py_webauthn's; this module only decides what is expected. Every challenge is
stored, used once, expires after :data:`CHALLENGE_TTL` seconds and is bound to what it was issued
for: a registration in one session, a login, or one approval. An approval's challenge carries the
approval id and the hash of its arguments (``nonce || SHA-256(approval id, args hash)``), and the
stored row names both, so an assertion made for one approval cannot approve another.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.parse_authentication_credential_json import parse_authentication_credential_json
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from storage.models.passkeys import PasskeyRow, WebAuthnChallengeRow

CHALLENGE_TTL = 300
MAX_NAME = 64
MAX_PASSKEYS = 20
USER_HANDLE = b"aegis-owner"  # one owner: a fixed, non-identifying user handle


class PasskeyRejected(Exception):
    """The browser's answer was not accepted (wrong origin, replay, counter, revoked, ...). ``reason``
    is for the audit log; the owner is only told that the passkey was not accepted."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PasskeyInputError(Exception):
    """The owner can fix it: a missing or too long name, too many passkeys."""


@dataclass(frozen=True, slots=True)
class RelyingParty:
    rp_id: str
    origin: str
    name: str = "Aegis"

    @classmethod
    def from_url(cls, url: str) -> RelyingParty:
        """The console's configured address. Browsers refuse an IP address as the RP id, so the
        embedded ``http://127.0.0.1:<port>`` becomes ``localhost`` (open the console there)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in {"http", "https"} or not host:
            raise ValueError("the console address must be an http(s) URL")
        if host in {"127.0.0.1", "::1"}:
            host = "localhost"
        if parts.scheme == "http" and host != "localhost":
            raise ValueError("passkeys need the console's https address (http only on localhost)")
        port = f":{parts.port}" if parts.port else ""
        return cls(host, f"{parts.scheme}://{host}{port}")


@dataclass(frozen=True, slots=True)
class PasskeyView:
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    use_for_login: bool


@dataclass(frozen=True, slots=True)
class Challenge:
    """A challenge taken (marked used) in its own committed transaction, before the answer is checked."""

    purpose: str
    value: bytes
    approval_id: str | None
    args_hash: str | None


def approval_binding(approval_id: str, args_hash: str) -> bytes:
    return hashlib.sha256(f"aegis-approval\0{approval_id}\0{args_hash}".encode()).digest()


def _dt(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


class Passkeys:
    def __init__(self, rp: RelyingParty) -> None:
        self.rp = rp

    # --- registration -----------------------------------------------------------------------
    async def registration_options(self, s: AsyncSession, session_id: str, now: float) -> dict[str, Any]:
        active = await self._active(s)
        if len(active) >= MAX_PASSKEYS:
            raise PasskeyInputError(f"at most {MAX_PASSKEYS} passkeys")
        challenge = os.urandom(32)
        options = generate_registration_options(
            rp_id=self.rp.rp_id,
            rp_name=self.rp.name,
            user_name="owner",
            user_id=USER_HANDLE,
            user_display_name="Aegis owner",
            challenge=challenge,
            timeout=CHALLENGE_TTL * 1000,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
            exclude_credentials=[_descriptor(r) for r in active],
        )
        cid = await self._issue(s, "register", challenge, now, session_id=session_id)
        return {"challenge_id": cid, "options": json.loads(options_to_json(options))}

    async def register(
        self, s: AsyncSession, *, challenge: Challenge, credential: str, name: str, now: float
    ) -> PasskeyView:
        name = clean_name(name)
        if challenge.purpose != "register":
            raise PasskeyRejected("unknown_challenge")
        try:
            verified = verify_registration_response(
                credential=credential,
                expected_challenge=challenge.value,
                expected_rp_id=self.rp.rp_id,
                expected_origin=self.rp.origin,
            )
        except WebAuthnException as exc:
            raise PasskeyRejected(f"registration: {exc}"[:128]) from exc
        transports = _transports(credential)
        key = PasskeyRow(
            id=str(uuid.uuid4()),
            credential_id=bytes_to_base64url(verified.credential_id),
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            name=name,
            transports=json.dumps(transports),
            use_for_login=False,
            created_at=_dt(now),
        )
        s.add(key)
        return _view(key)

    # --- management -------------------------------------------------------------------------
    async def listing(self, s: AsyncSession) -> list[PasskeyView]:
        return [_view(r) for r in await self._active(s)]

    async def rename(self, s: AsyncSession, passkey_id: str, name: str) -> PasskeyView:
        row = await self._get_active(s, passkey_id)
        row.name = clean_name(name)
        return _view(row)

    async def set_login(self, s: AsyncSession, passkey_id: str, enabled: bool) -> PasskeyView:
        row = await self._get_active(s, passkey_id)
        row.use_for_login = enabled
        return _view(row)

    async def revoke(self, s: AsyncSession, passkey_id: str, now: float) -> PasskeyView:
        row = await self._get_active(s, passkey_id)
        row.revoked_at = _dt(now)
        row.use_for_login = False
        return _view(row)

    async def any_for_login(self, s: AsyncSession) -> bool:
        return any(r.use_for_login for r in await self._active(s))

    # --- assertions -------------------------------------------------------------------------
    async def approval_options(
        self, s: AsyncSession, *, session_id: str, approval_id: str, args_hash: str, now: float
    ) -> dict[str, Any]:
        challenge = os.urandom(16) + approval_binding(approval_id, args_hash)
        active = await self._active(s)
        if not active:
            raise PasskeyInputError("no passkey is registered")
        cid = await self._issue(
            s, "approval", challenge, now, session_id=session_id, approval_id=approval_id, args_hash=args_hash
        )
        options = self._request_options(challenge, active, UserVerificationRequirement.REQUIRED)
        return {"challenge_id": cid, "options": options}

    async def verify_approval(
        self, s: AsyncSession, *, challenge: Challenge, approval_id: str, args_hash: str, credential: str, now: float
    ) -> PasskeyView:
        if challenge.purpose != "approval":
            raise PasskeyRejected("unknown_challenge")
        if challenge.approval_id != approval_id or challenge.args_hash != args_hash:
            raise PasskeyRejected("challenge_for_another_approval")
        if challenge.value[16:] != approval_binding(approval_id, args_hash):
            raise PasskeyRejected("challenge_binding")
        return await self._verify_assertion(s, challenge.value, credential, now, login=False)

    async def login_options(self, s: AsyncSession, now: float) -> dict[str, Any]:
        """Discoverable credentials only: the anonymous login page learns no credential id."""
        challenge = os.urandom(32)
        cid = await self._issue(s, "login", challenge, now)
        options = self._request_options(challenge, [], UserVerificationRequirement.PREFERRED)
        return {"challenge_id": cid, "options": options}

    async def verify_login(self, s: AsyncSession, *, challenge: Challenge, credential: str, now: float) -> PasskeyView:
        if challenge.purpose != "login":
            raise PasskeyRejected("unknown_challenge")
        return await self._verify_assertion(s, challenge.value, credential, now, login=True)

    # --- internals --------------------------------------------------------------------------
    def _request_options(self, challenge: bytes, allow: list[PasskeyRow], uv: UserVerificationRequirement) -> Any:
        options = generate_authentication_options(
            rp_id=self.rp.rp_id,
            challenge=challenge,
            timeout=CHALLENGE_TTL * 1000,
            allow_credentials=[_descriptor(r) for r in allow],
            user_verification=uv,
        )
        return json.loads(options_to_json(options))

    async def _verify_assertion(
        self, s: AsyncSession, challenge: bytes, credential: str, now: float, *, login: bool
    ) -> PasskeyView:
        try:
            parsed = parse_authentication_credential_json(credential)
        except WebAuthnException as exc:
            raise PasskeyRejected("malformed_credential") from exc
        q = select(PasskeyRow).where(PasskeyRow.credential_id == bytes_to_base64url(parsed.raw_id))
        key = (await s.execute(q.with_for_update())).scalar_one_or_none()
        if key is None:
            raise PasskeyRejected("unknown_passkey")
        if key.revoked_at is not None:
            raise PasskeyRejected("revoked_passkey")
        if login and not key.use_for_login:
            raise PasskeyRejected("passkey_not_for_login")
        try:
            verified = verify_authentication_response(
                credential=parsed,
                expected_challenge=challenge,
                expected_rp_id=self.rp.rp_id,
                expected_origin=self.rp.origin,
                credential_public_key=key.public_key,
                credential_current_sign_count=key.sign_count,
                # An approval rests on the passkey alone (with the session): the authenticator must
                # verify the owner (biometric or PIN), not only their presence.
                require_user_verification=not login,
            )
        except WebAuthnException as exc:
            raise PasskeyRejected(_reason(str(exc))) from exc
        key.sign_count = verified.new_sign_count
        key.last_used_at = _dt(now)
        return _view(key)

    async def _issue(self, s: AsyncSession, purpose: str, challenge: bytes, now: float, **bound: str | None) -> str:
        await s.execute(delete(WebAuthnChallengeRow).where(WebAuthnChallengeRow.expires_at < _dt(now)))
        cid = str(uuid.uuid4())
        s.add(
            WebAuthnChallengeRow(
                id=cid,
                purpose=purpose,
                challenge=challenge,
                created_at=_dt(now),
                expires_at=_dt(now) + timedelta(seconds=CHALLENGE_TTL),
                **bound,
            )
        )
        return cid

    async def take(
        self, s: AsyncSession, challenge_id: str, purpose: str, now: float, *, session_id: str | None = None
    ) -> Challenge:
        """Mark a challenge used. Call it in a transaction of its own, committed before the answer is
        checked, so a challenge is spent whatever the outcome."""
        row = await s.get(WebAuthnChallengeRow, challenge_id[:36], with_for_update=True)
        if row is None or row.purpose != purpose:
            raise PasskeyRejected("unknown_challenge")
        if row.used_at is not None:
            raise PasskeyRejected("replayed_challenge")
        if row.expires_at <= _dt(now):
            raise PasskeyRejected("expired_challenge")
        if session_id is not None and row.session_id != session_id:
            raise PasskeyRejected("challenge_of_another_session")
        row.used_at = _dt(now)
        return Challenge(row.purpose, row.challenge, row.approval_id, row.args_hash)

    async def _active(self, s: AsyncSession) -> list[PasskeyRow]:
        q = select(PasskeyRow).where(PasskeyRow.revoked_at.is_(None)).order_by(PasskeyRow.created_at)
        return list((await s.execute(q)).scalars())

    async def _get_active(self, s: AsyncSession, passkey_id: str) -> PasskeyRow:
        row = await s.get(PasskeyRow, passkey_id[:36], with_for_update=True)
        if row is None or row.revoked_at is not None:
            raise PasskeyInputError("no such passkey")
        return row


def _reason(message: str) -> str:
    low = message.lower()
    for needle, reason in (
        ("origin", "wrong_origin"),
        ("sign count", "counter_not_increased"),
        ("challenge", "wrong_challenge"),
        ("rp id", "wrong_rp_id"),
        ("signature", "bad_signature"),
        ("user verification", "user_not_verified"),
    ):
        if needle in low:
            return reason
    return "invalid_assertion"


def clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise PasskeyInputError(f"a name of 1 to {MAX_NAME} characters")
    return name


def _transports(credential: str) -> list[str]:
    try:
        found = json.loads(credential).get("response", {}).get("transports", [])
    except (ValueError, AttributeError):
        return []
    known = {t.value for t in AuthenticatorTransport}
    return [t for t in found if isinstance(t, str) and t in known] if isinstance(found, list) else []


def _descriptor(row: PasskeyRow) -> PublicKeyCredentialDescriptor:
    transports = [AuthenticatorTransport(t) for t in json.loads(row.transports)]
    return PublicKeyCredentialDescriptor(id=base64url_to_bytes(row.credential_id), transports=transports or None)


def _view(row: PasskeyRow) -> PasskeyView:
    return PasskeyView(row.id, row.name, row.created_at, row.last_used_at, row.use_for_login)
