"""Wrapped data keys: one keyring per domain, with versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class DataKeyRow(Base):
    """A data key wrapped by the key-encryption key. ``kid`` is ``<domain>.<purpose>.v<version>``."""

    __tablename__ = "data_keys"
    __table_args__ = (UniqueConstraint("domain", "purpose", "version"),)

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    domain: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    kek_id: Mapped[str] = mapped_column(String(32))
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class KeyRotationRow(Base):
    """Progress of one domain-key rotation, so a crashed rewrap resumes where it stopped."""

    __tablename__ = "key_rotations"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    domain: Mapped[str] = mapped_column(String(32))
    target_kid: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    column_index: Mapped[int] = mapped_column(Integer, default=0)
    cursor: Mapped[str | None] = mapped_column(String(128))
    rows_done: Mapped[int] = mapped_column(BigInteger, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
