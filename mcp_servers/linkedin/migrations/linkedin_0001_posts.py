"""linkedin: the posts Aegis published, their approved text encrypted

Revision ID: linkedin_0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision: str = "linkedin_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("linkedin",)
depends_on: str | Sequence[str] | None = "0007"


def upgrade() -> None:
    op.create_table(
        "linkedin_posts",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("urn", sa.String(length=80), nullable=True),
        sa.Column("text", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_linkedin_posts")),
    )
    with op.batch_alter_table("linkedin_posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_linkedin_posts_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_linkedin_posts_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("linkedin_posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_linkedin_posts_created_at"))
        batch_op.drop_index(batch_op.f("ix_linkedin_posts_state"))
    op.drop_table("linkedin_posts")
