"""voice transcripts: encrypted text and optional audio, with provenance

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voice_transcripts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("speaker", sa.String(length=16), nullable=False),
        sa.Column("engine", sa.String(length=32), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("audio", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_transcripts")),
    )
    with op.batch_alter_table("voice_transcripts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voice_transcripts_conversation_id"), ["conversation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_voice_transcripts_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("voice_transcripts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_transcripts_created_at"))
        batch_op.drop_index(batch_op.f("ix_voice_transcripts_conversation_id"))
    op.drop_table("voice_transcripts")
