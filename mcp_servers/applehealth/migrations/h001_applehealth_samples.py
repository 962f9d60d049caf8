"""applehealth: health samples pushed from the phone, encrypted

Revision ID: h001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision: str = "h001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("applehealth",)
depends_on: str | Sequence[str] | None = "0007"


def upgrade() -> None:
    op.create_table(
        "health_samples",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("start", UTCDateTime(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("units", sa.String(length=32), nullable=False),
        sa.Column("source", sa.LargeBinary(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_samples")),
    )
    with op.batch_alter_table("health_samples", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_health_samples_metric"), ["metric"], unique=False)
        batch_op.create_index(batch_op.f("ix_health_samples_start"), ["start"], unique=False)
        batch_op.create_index(batch_op.f("ix_health_samples_day"), ["day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("health_samples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_samples_day"))
        batch_op.drop_index(batch_op.f("ix_health_samples_start"))
        batch_op.drop_index(batch_op.f("ix_health_samples_metric"))
    op.drop_table("health_samples")
