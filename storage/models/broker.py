"""The credential broker's tables: principals, API keys, signing keys, issued tokens and the vault."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class PrincipalRow(Base):
    """A service or job identity. ``max_scopes``/``max_resources`` are its absolute ceiling:
    NULL = unconstrained, ``[]`` = deny all (JSON lists)."""

    __tablename__ = "principals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str | None] = mapped_column(String(256))
    max_scopes: Mapped[str | None] = mapped_column(Text)
    max_resources: Mapped[str | None] = mapped_column(Text)
    # The audiences its tokens may be exchanged for (RFC 8693), besides their own: NULL/[] = none.
    may_act_for: Mapped[str | None] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    principal_id: Mapped[str] = mapped_column(ForeignKey("principals.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    allowed_scopes: Mapped[str | None] = mapped_column(Text)
    allowed_resources: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SigningKeyRow(Base):
    """An ES256 signing key. The private key is field-encrypted; the public JWK is published while
    ``published`` is true (active keys, and retired keys until their last tokens expire)."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_key: Mapped[bytes] = mapped_column(LargeBinary)
    public_jwk: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unpublish_after: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IssuedTokenRow(Base):
    """Every minted token's metadata (never the token), for introspection and cascading revocation."""

    __tablename__ = "issued_tokens"
    __table_args__ = (Index("ix_issued_tokens_parent", "parent_jti"),)

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    principal_id: Mapped[str] = mapped_column(String(36), index=True)
    key_id: Mapped[str] = mapped_column(String(32), index=True)
    parent_jti: Mapped[str | None] = mapped_column(String(64))
    depth: Mapped[int] = mapped_column(Integer, default=0)
    audience: Mapped[str] = mapped_column(String(256))
    scope: Mapped[str] = mapped_column(Text)
    resource: Mapped[str] = mapped_column(String(256))
    txn: Mapped[str] = mapped_column(String(64), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(String(128))


class SecretRow(Base):
    """A vault secret's metadata. Values live in :class:`SecretVersionRow`."""

    __tablename__ = "secrets"
    __table_args__ = (UniqueConstraint("owner", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(32))
    resource: Mapped[str | None] = mapped_column(String(256))
    current_version: Mapped[int] = mapped_column(Integer)
    meta: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SecretVersionRow(Base):
    """One version of a secret value, encrypted under its own data key (``wrapped_dek``), which the
    vault domain key wraps. Purging sets ``wrapped_dek`` to NULL: the value can never be read again."""

    __tablename__ = "secret_versions"
    __table_args__ = (UniqueConstraint("secret_id", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    secret_id: Mapped[str] = mapped_column(ForeignKey("secrets.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    wrapped_dek: Mapped[bytes | None] = mapped_column(LargeBinary)
    value: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


ENCRYPTED = (
    EncryptedColumn("signing_keys", "private_key", "broker", pk="kid"),
    EncryptedColumn("secret_versions", "wrapped_dek", "vault"),
)
