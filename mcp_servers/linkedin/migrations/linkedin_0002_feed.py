"""linkedin: the owner's feed read in a browser (posts encrypted), its status and stop snapshots

Revision ID: linkedin_0002
Revises: linkedin_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision: str = "linkedin_0002"
down_revision: str | None = "linkedin_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "linkedin_feed",
        sa.Column("post_id", sa.String(length=80), nullable=False),
        sa.Column("posted_at", UTCDateTime(), nullable=True),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_linkedin_feed")),
    )
    with op.batch_alter_table("linkedin_feed", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_linkedin_feed_posted_at"), ["posted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_linkedin_feed_seen_at"), ["seen_at"], unique=False)
    op.create_table(
        "linkedin_feed_status",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", UTCDateTime(), nullable=True),
        sa.Column("synced_at", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.Column("since", UTCDateTime(), nullable=True),
        sa.Column("snapshot_id", sa.String(length=64), nullable=True),
        sa.Column("session_tag", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linkedin_feed_status")),
    )
    op.create_table(
        "linkedin_snapshots",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linkedin_snapshots")),
    )
    with op.batch_alter_table("linkedin_snapshots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_linkedin_snapshots_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("linkedin_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_linkedin_snapshots_created_at"))
    op.drop_table("linkedin_snapshots")
    op.drop_table("linkedin_feed_status")
    with op.batch_alter_table("linkedin_feed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_linkedin_feed_seen_at"))
        batch_op.drop_index(batch_op.f("ix_linkedin_feed_posted_at"))
    op.drop_table("linkedin_feed")
