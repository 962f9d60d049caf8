"""activitywatch: one encrypted usage summary per day (coursework domain)

Revision ID: activitywatch_0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision: str = "activitywatch_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("activitywatch",)
depends_on: str | Sequence[str] | None = "0007"


def upgrade() -> None:
    op.create_table(
        "device_usage_days",
        sa.Column("id", sa.String(length=10), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("synced_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_usage_days")),
    )


def downgrade() -> None:
    op.drop_table("device_usage_days")
