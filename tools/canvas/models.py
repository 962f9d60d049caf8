"""Typed views of the Canvas REST objects Aegis reads (only the fields it uses; others are ignored)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PEARSON_HOSTS = (".pearson.com", ".pearsoncmg.com", "mylabmastering")  # a host ending so, or Mastering


class _Canvas(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Term(_Canvas):
    id: int | None = None
    name: str | None = None


class Enrollment(_Canvas):
    """A course's enrollment of the token's user; with ``include[]=total_scores`` it carries the grade."""

    type: str | None = None
    enrollment_state: str | None = None
    computed_current_score: float | None = None
    computed_current_grade: str | None = None
    computed_final_score: float | None = None
    computed_final_grade: str | None = None


class Course(_Canvas):
    id: int
    name: str = ""
    course_code: str = ""
    workflow_state: str | None = None
    term: Term | None = None
    enrollments: tuple[Enrollment, ...] = ()

    @property
    def student(self) -> Enrollment | None:
        found = [e for e in self.enrollments if e.type in (None, "student", "StudentEnrollment")]
        return found[0] if found else None


class Submission(_Canvas):
    """``GET .../submissions/self`` or ``include[]=submission`` on an assignment."""

    assignment_id: int | None = None
    submitted_at: datetime | None = None
    score: float | None = None
    grade: str | None = None
    workflow_state: str | None = None  # unsubmitted | submitted | graded | pending_review
    late: bool = False
    missing: bool = False
    excused: bool | None = None
    attempt: int | None = None


class Assignment(_Canvas):
    id: int
    course_id: int
    name: str = ""
    description: str | None = None  # HTML written by the course's staff: untrusted
    due_at: datetime | None = None
    lock_at: datetime | None = None
    unlock_at: datetime | None = None
    points_possible: float | None = None
    html_url: str | None = None
    submission_types: tuple[str, ...] = ()
    has_submitted_submissions: bool | None = None
    external_tool_tag_attributes: dict[str, Any] | None = None
    submission: Submission | None = None

    @property
    def source(self) -> str:
        """ "Pearson Mastering" for an external-tool assignment that launches Pearson, else "Canvas"."""
        url = str((self.external_tool_tag_attributes or {}).get("url") or "").lower()
        if "external_tool" in self.submission_types and any(h in url for h in PEARSON_HOSTS):
            return "Pearson Mastering"
        return "Canvas"


class Announcement(_Canvas):
    """A DiscussionTopic from ``GET /api/v1/announcements`` (with the added ``context_code``)."""

    id: int
    title: str = ""
    message: str | None = None  # HTML: untrusted
    posted_at: datetime | None = None
    context_code: str = ""
    html_url: str | None = None
    user_name: str | None = None


class CalendarEvent(_Canvas):
    id: int
    title: str = ""
    description: str | None = None  # HTML: untrusted
    start_at: datetime | None = None
    end_at: datetime | None = None
    location_name: str | None = None
    context_code: str = ""
    context_name: str | None = None
    html_url: str | None = None
    all_day: bool = False


class Page(_Canvas):
    """One page of a list and the ``rel="next"`` URL of the ``Link`` header (None: the last page)."""

    items: tuple[dict[str, Any], ...] = Field(default=())
    next_url: str | None = None
