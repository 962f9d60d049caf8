"""Recurring work: the run history, each job's persisted schedule state, and encrypted briefings.

The schedule itself is configuration (``agent/jobs/schedule.yaml``); only what must survive a restart
lives here. ``(job_id, scheduled_for)`` is unique, so a slot can be claimed once and never run twice.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class JobRunRow(Base):
    """One run of one job for one scheduled slot. ``error`` is a short, secret-free reason;
    ``summary`` is a small JSON object of counts (never message text or credentials)."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job_id", "scheduled_for"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64))
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime)
    trigger: Mapped[str] = mapped_column(String(16))  # schedule | manual
    outcome: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(256))
    summary: Mapped[str | None] = mapped_column(Text)
    alerted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JobStateRow(Base):
    """What the scheduler must remember per job: paused or not, and the next slot to fire.
    ``trigger_key`` names the schedule the slot was computed from; when the owner edits the
    schedule the key changes and the next slot is computed afresh."""

    __tablename__ = "job_state"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_slot: Mapped[datetime | None] = mapped_column(UTCDateTime)
    trigger_key: Mapped[str | None] = mapped_column(String(256))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BriefingRow(Base):
    """A generated briefing or digest. ``content`` is encrypted JSON (sections and prose)."""

    __tablename__ = "briefings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # daily | weekly
    for_date: Mapped[date] = mapped_column(Date)
    run_id: Mapped[str | None] = mapped_column(String(36))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class NotificationRow(Base):
    """A notification for the owner (briefing ready, job failed, approval waiting). ``content`` is
    encrypted JSON with the title and body; ``ref`` is what it links to (a briefing, run or approval id)."""

    __tablename__ = "notifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str | None] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


ENCRYPTED = (
    EncryptedColumn("briefings", "content", "conversation"),
    EncryptedColumn("notifications", "content", "conversation"),
)
