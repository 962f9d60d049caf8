"""twitter: approved posts (the idempotency record of each), social domain

Revision ID: twitter_0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision: str = "twitter_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("twitter",)
depends_on: str | Sequence[str] | None = "0007"


def upgrade() -> None:
    op.create_table(
        "twitter_posts",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("post_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_twitter_posts")),
    )
    op.create_index(op.f("ix_twitter_posts_post_id"), "twitter_posts", ["post_id"])
    op.create_index(op.f("ix_twitter_posts_created_at"), "twitter_posts", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_twitter_posts_created_at"), table_name="twitter_posts")
    op.drop_index(op.f("ix_twitter_posts_post_id"), table_name="twitter_posts")
    op.drop_table("twitter_posts")
