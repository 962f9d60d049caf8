"""Typed views of the Blackboard Learn REST objects Aegis reads (other fields are ignored)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _Learn(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class User(_Learn):
    id: str
    user_name: str | None = Field(default=None, alias="userName")


class Availability(_Learn):
    available: str | None = None  # "Yes" | "No" | "Disabled" | "Term"


class Membership(_Learn):
    """``GET /v1/users/{userId}/courses``: one course the user is enrolled in."""

    id: str | None = None
    course_id: str = Field(alias="courseId")
    course_role_id: str | None = Field(default=None, alias="courseRoleId")  # "Student", "Instructor"...
    availability: Availability | None = None


class Course(_Learn):
    """``GET /v3/courses/{courseId}``."""

    id: str
    course_id: str = Field(default="", alias="courseId")  # the readable id, e.g. "CS-260-001-202615"
    name: str = ""
    term_id: str | None = Field(default=None, alias="termId")
    external_access_url: str | None = Field(default=None, alias="externalAccessUrl")


class Score(_Learn):
    possible: float | None = None


class Grading(_Learn):
    type: str | None = None  # "Attempts" | "Calculated" | "Manual" | "Scorm"
    due: datetime | None = None


class Column(_Learn):
    """``GET /v2/courses/{courseId}/gradebook/columns``: a gradable item (assignment, test...)."""

    id: str
    name: str = ""
    display_name: str | None = Field(default=None, alias="displayName")
    description: str | None = None
    external_grade: bool = Field(default=False, alias="externalGrade")  # the course's overall grade
    score: Score | None = None
    grading: Grading | None = None
    availability: Availability | None = None
    content_id: str | None = Field(default=None, alias="contentId")


class DisplayGrade(_Learn):
    scale_type: str | None = Field(default=None, alias="scaleType")
    score: float | None = None
    text: str | None = None


class Grade(_Learn):
    """``GET /v1/courses/{courseId}/gradebook/users/{userId}``: the user's grade in one column."""

    column_id: str = Field(alias="columnId")
    status: str | None = None  # "Graded" | "NeedsGrading"
    score: float | None = None
    text: str | None = None
    exempt: bool = False
    display_grade: DisplayGrade | None = Field(default=None, alias="displayGrade")


class Announcement(_Learn):
    id: str
    title: str = ""
    body: str | None = None
    created: datetime | None = None
    creator: str | None = None
