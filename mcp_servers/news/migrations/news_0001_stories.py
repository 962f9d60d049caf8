"""news: stories, events and settings, encrypted

Revision ID: news_0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision: str = "news_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("news",)
depends_on: str | Sequence[str] | None = "0007"


def upgrade() -> None:
    op.create_table(
        "news_stories",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_news_stories")),
    )
    with op.batch_alter_table("news_stories", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_news_stories_published_at"), ["published_at"], unique=False)
    op.create_table(
        "news_events",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("start_at", UTCDateTime(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_news_events")),
    )
    with op.batch_alter_table("news_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_news_events_start_at"), ["start_at"], unique=False)
    op.create_table(
        "news_settings",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_news_settings")),
    )


def downgrade() -> None:
    op.drop_table("news_settings")
    with op.batch_alter_table("news_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_news_events_start_at"))
    op.drop_table("news_events")
    with op.batch_alter_table("news_stories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_news_stories_published_at"))
    op.drop_table("news_stories")
