"""Coursework synced by the Canvas MCP server, encrypted under the ``coursework`` data-key domain.

Plain columns are what sync and range queries need: Canvas ids, the course of a row, due and posted
times, and the submission state (for "what haven't I started?"). Everything written by people
(course names, assignment names and descriptions, announcements, scores and grades) is one
encrypted JSON document per row, bound to its row id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class CanvasCourseRow(Base):
    __tablename__ = "canvas_courses"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the Canvas course id
    data: Mapped[bytes] = mapped_column(LargeBinary)  # {name, code, term, score, grade}
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CanvasAssignmentRow(Base):
    __tablename__ = "canvas_assignments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the Canvas assignment id
    course_id: Mapped[str] = mapped_column(String(32), index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    state: Mapped[str] = mapped_column(String(32))  # unsubmitted | submitted | graded | pending_review
    missing: Mapped[bool] = mapped_column(default=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)  # {name, description, points, score, grade, url, ...}
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CanvasAnnouncementRow(Base):
    __tablename__ = "canvas_announcements"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    course_id: Mapped[str] = mapped_column(String(32), index=True)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)  # {title, message, author, url}


class CanvasEventRow(Base):
    __tablename__ = "canvas_events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    course_id: Mapped[str] = mapped_column(String(32), index=True)
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)  # {title, description, location, end, url}


class CanvasGradePointRow(Base):
    """A course's current score on one day (the last sync of the day wins): grades over time."""

    __tablename__ = "canvas_grade_points"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)  # "<course id>:<yyyy-mm-dd>"
    course_id: Mapped[str] = mapped_column(String(32), index=True)
    day: Mapped[str] = mapped_column(String(10), index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)  # {score, grade}


class CanvasSyncRow(Base):
    """When Canvas was last synced, and how many of each it held (one row)."""

    __tablename__ = "canvas_sync"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


ENCRYPTED = tuple(
    EncryptedColumn(table, "data", "coursework")
    for table in (
        "canvas_courses",
        "canvas_assignments",
        "canvas_announcements",
        "canvas_events",
        "canvas_grade_points",
    )
)
