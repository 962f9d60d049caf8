"""groceries: grocery plans and settings, encrypted

Revision ID: g001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision: str = "g001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("groceries",)
depends_on: str | Sequence[str] | None = "0007"


def upgrade() -> None:
    op.create_table(
        "grocery_plans",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grocery_plans")),
    )
    with op.batch_alter_table("grocery_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grocery_plans_start_date"), ["start_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_grocery_plans_status"), ["status"], unique=False)
    op.create_table(
        "grocery_settings",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grocery_settings")),
    )


def downgrade() -> None:
    op.drop_table("grocery_settings")
    with op.batch_alter_table("grocery_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grocery_plans_status"))
        batch_op.drop_index(batch_op.f("ix_grocery_plans_start_date"))
    op.drop_table("grocery_plans")
