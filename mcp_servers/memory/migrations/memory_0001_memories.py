"""memories with provenance, and their history (the memory integration's tables)

Revision ID: memory_0001
Revises: (none; the memory branch, after core 0007)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision: str = "memory_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("memory",)
depends_on: str | Sequence[str] | None = "0007"


def upgrade() -> None:
    op.create_table(
        "memories",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("integrity", sa.String(length=16), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("confirmed_how", sa.String(length=32), nullable=False),
        sa.Column("text", sa.LargeBinary(), nullable=False),
        sa.Column("provenance", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memories")),
    )
    with op.batch_alter_table("memories", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_memories_state"), ["state"], unique=False)
    op.create_table(
        "memory_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("memory_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.LargeBinary(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memory_events")),
    )
    with op.batch_alter_table("memory_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_memory_events_memory_id"), ["memory_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("memory_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_memory_events_memory_id"))
    op.drop_table("memory_events")
    with op.batch_alter_table("memories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_memories_state"))
    op.drop_table("memories")
