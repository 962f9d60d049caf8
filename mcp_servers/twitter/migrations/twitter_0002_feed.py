"""twitter: the synced home timeline and mentions, and the sync's cursors, social domain

Revision ID: twitter_0002
Revises: twitter_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision: str = "twitter_0002"
down_revision: str | None = "twitter_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "twitter_feed",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("home", sa.Boolean(), nullable=False),
        sa.Column("mention", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("synced_at", UTCDateTime(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_twitter_feed")),
    )
    op.create_index(op.f("ix_twitter_feed_created_at"), "twitter_feed", ["created_at"])
    op.create_table(
        "twitter_cursors",
        sa.Column("stream", sa.String(length=16), nullable=False),
        sa.Column("since_id", sa.String(length=32), nullable=True),
        sa.Column("synced_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("stream", name=op.f("pk_twitter_cursors")),
    )


def downgrade() -> None:
    op.drop_table("twitter_cursors")
    op.drop_index(op.f("ix_twitter_feed_created_at"), table_name="twitter_feed")
    op.drop_table("twitter_feed")
