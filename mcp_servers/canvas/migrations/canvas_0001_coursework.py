"""canvas: courses, assignments, announcements, calendar events, grade points (coursework domain)

Revision ID: canvas_0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision: str = "canvas_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("canvas",)
depends_on: str | Sequence[str] | None = "0007"

_INDEXED = {
    "canvas_assignments": ("course_id", "due_at"),
    "canvas_announcements": ("course_id", "posted_at"),
    "canvas_events": ("course_id", "start_at"),
    "canvas_grade_points": ("course_id", "day"),
}


def upgrade() -> None:
    op.create_table(
        "canvas_courses",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("synced_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canvas_courses")),
    )
    op.create_table(
        "canvas_assignments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("course_id", sa.String(length=32), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("missing", sa.Boolean(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("synced_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canvas_assignments")),
    )
    op.create_table(
        "canvas_announcements",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("course_id", sa.String(length=32), nullable=False),
        sa.Column("posted_at", UTCDateTime(), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canvas_announcements")),
    )
    op.create_table(
        "canvas_events",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("course_id", sa.String(length=32), nullable=False),
        sa.Column("start_at", UTCDateTime(), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canvas_events")),
    )
    op.create_table(
        "canvas_grade_points",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("course_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canvas_grade_points")),
    )
    op.create_table(
        "canvas_sync",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("synced_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canvas_sync")),
    )
    for table, columns in _INDEXED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def downgrade() -> None:
    for table in reversed(list(_INDEXED)):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in _INDEXED[table]:
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
    for table in (
        "canvas_sync",
        "canvas_grade_points",
        "canvas_events",
        "canvas_announcements",
        "canvas_assignments",
        "canvas_courses",
    ):
        op.drop_table(table)
