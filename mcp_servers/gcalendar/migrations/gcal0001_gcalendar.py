"""gcalendar: Google Calendar events and sync state (calendar domain)

Revision ID: gcal0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision: str = "gcal0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("gcalendar",)
depends_on: str | Sequence[str] | None = "0007"


def upgrade() -> None:
    op.create_table(
        "gcalendar_accounts",
        sa.Column("calendar", sa.String(length=320), nullable=False),
        sa.Column("sync_token", sa.String(length=512), nullable=True),
        sa.Column("full_synced_at", UTCDateTime(), nullable=True),
        sa.Column("synced_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("calendar", name=op.f("pk_gcalendar_accounts")),
    )
    op.create_table(
        "gcalendar_events",
        sa.Column("id", sa.String(length=1024), nullable=False),
        sa.Column("calendar", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recurring_event_id", sa.String(length=1024), nullable=True),
        sa.Column("start_at", UTCDateTime(), nullable=True),
        sa.Column("end_at", UTCDateTime(), nullable=True),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("principal", sa.String(length=320), nullable=True),
        sa.Column("organizer_self", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.LargeBinary(), nullable=False),
        sa.Column("description", sa.LargeBinary(), nullable=False),
        sa.Column("location", sa.LargeBinary(), nullable=False),
        sa.Column("attendees", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gcalendar_events")),
    )
    with op.batch_alter_table("gcalendar_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gcalendar_events_calendar"), ["calendar"], unique=False)
        batch_op.create_index(batch_op.f("ix_gcalendar_events_start_at"), ["start_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("gcalendar_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gcalendar_events_start_at"))
        batch_op.drop_index(batch_op.f("ix_gcalendar_events_calendar"))
    op.drop_table("gcalendar_events")
    op.drop_table("gcalendar_accounts")
