"""whatsapp: messages stored by the WhatsApp MCP server (messages domain, encrypted)

Revision ID: whatsapp_0001
Revises: (none; the whatsapp branch, after core 0007)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision: str = "whatsapp_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("whatsapp",)
depends_on: str | Sequence[str] | None = "0007"


def upgrade() -> None:
    op.create_table(
        "whatsapp_messages",
        sa.Column("id", sa.String(length=256), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("is_group", sa.Boolean(), nullable=False),
        sa.Column("from_me", sa.Boolean(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=True),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("chat_name", sa.LargeBinary(), nullable=False),
        sa.Column("sender_names", sa.LargeBinary(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("links", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_messages")),
    )
    with op.batch_alter_table("whatsapp_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_whatsapp_messages_chat_id"), ["chat_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_whatsapp_messages_timestamp"), ["timestamp"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("whatsapp_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_whatsapp_messages_timestamp"))
        batch_op.drop_index(batch_op.f("ix_whatsapp_messages_chat_id"))
    op.drop_table("whatsapp_messages")
