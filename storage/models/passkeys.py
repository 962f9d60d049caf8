"""The owner's passkeys (WebAuthn credentials) and the one-time challenges issued for them.

A credential's public key and signature counter are not secret, so they are stored plain; what
matters is that a revoked passkey and a used challenge are never accepted again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class PasskeyRow(Base):
    __tablename__ = "passkeys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)  # base64url, as the browser sends it
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE key
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    name: Mapped[str] = mapped_column(String(64))
    transports: Mapped[str] = mapped_column(String(256), default="[]")  # JSON list
    use_for_login: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebAuthnChallengeRow(Base):
    """A challenge handed to the browser: single use, short-lived, bound to what it was issued for
    (a registration in one session, a login, or one approval with its arguments' hash)."""

    __tablename__ = "webauthn_challenges"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))  # register, login, approval
    challenge: Mapped[bytes] = mapped_column(LargeBinary)
    session_id: Mapped[str | None] = mapped_column(String(36))
    approval_id: Mapped[str | None] = mapped_column(String(64))
    args_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
