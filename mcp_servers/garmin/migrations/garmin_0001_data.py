"""garmin: days, activities and the sync status, encrypted (health domain)

Revision ID: garmin_0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision: str = "garmin_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("garmin",)
depends_on: str | Sequence[str] | None = "0007"


def upgrade() -> None:
    op.create_table(
        "garmin_days",
        sa.Column("id", sa.String(length=10), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("synced_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_garmin_days")),
    )
    op.create_table(
        "garmin_activities",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("synced_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_garmin_activities")),
    )
    op.create_index(op.f("ix_garmin_activities_day"), "garmin_activities", ["day"])
    op.create_table(
        "garmin_status",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_garmin_status")),
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_garmin_activities_day"), table_name="garmin_activities")
    op.drop_table("garmin_status")
    op.drop_table("garmin_activities")
    op.drop_table("garmin_days")
