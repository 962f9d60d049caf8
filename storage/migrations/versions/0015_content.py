"""content_drafts, content_settings: the content engine's drafts and the owner's content settings

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXED = ("integration", "day", "status", "approval_id")


def upgrade() -> None:
    op.create_table(
        "content_drafts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("integration", sa.String(length=32), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("approval_id", sa.String(length=64), nullable=True),
        sa.Column("post_id", sa.String(length=128), nullable=True),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_drafts")),
    )
    for col in _INDEXED:
        op.create_index(op.f(f"ix_content_drafts_{col}"), "content_drafts", [col])
    op.create_table(
        "content_settings",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_settings")),
    )


def downgrade() -> None:
    op.drop_table("content_settings")
    for col in _INDEXED:
        op.drop_index(op.f(f"ix_content_drafts_{col}"), table_name="content_drafts")
    op.drop_table("content_drafts")
