"""outlook: Outlook mail, events and delta links (mail domain)

Revision ID: out0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision: str = "out0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("outlook",)
depends_on: str | Sequence[str] | None = "0007"


def upgrade() -> None:
    op.create_table(
        "outlook_state",
        sa.Column("stream", sa.String(length=32), nullable=False),
        sa.Column("delta_link", sa.String(length=4096), nullable=True),
        sa.Column("window_start", UTCDateTime(), nullable=True),
        sa.Column("window_end", UTCDateTime(), nullable=True),
        sa.Column("full_synced_at", UTCDateTime(), nullable=True),
        sa.Column("synced_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("stream", name=op.f("pk_outlook_state")),
    )
    op.create_table(
        "outlook_messages",
        sa.Column("id", sa.String(length=512), nullable=False),
        sa.Column("folder", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=512), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=True),
        sa.Column("principal", sa.String(length=320), nullable=True),
        sa.Column("is_read", sa.Boolean(), nullable=False),
        sa.Column("subject", sa.LargeBinary(), nullable=False),
        sa.Column("sender", sa.LargeBinary(), nullable=False),
        sa.Column("recipients", sa.LargeBinary(), nullable=False),
        sa.Column("preview", sa.LargeBinary(), nullable=False),
        sa.Column("analysis", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outlook_messages")),
    )
    with op.batch_alter_table("outlook_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outlook_messages_folder"), ["folder"], unique=False)
        batch_op.create_index(batch_op.f("ix_outlook_messages_conversation_id"), ["conversation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outlook_messages_received_at"), ["received_at"], unique=False)
    op.create_table(
        "outlook_events",
        sa.Column("id", sa.String(length=512), nullable=False),
        sa.Column("series_master_id", sa.String(length=512), nullable=True),
        sa.Column("start_at", UTCDateTime(), nullable=True),
        sa.Column("end_at", UTCDateTime(), nullable=True),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("show_as", sa.String(length=24), nullable=False),
        sa.Column("principal", sa.String(length=320), nullable=True),
        sa.Column("organizer_self", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.LargeBinary(), nullable=False),
        sa.Column("description", sa.LargeBinary(), nullable=False),
        sa.Column("location", sa.LargeBinary(), nullable=False),
        sa.Column("attendees", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outlook_events")),
    )
    with op.batch_alter_table("outlook_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outlook_events_start_at"), ["start_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outlook_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outlook_events_start_at"))
    op.drop_table("outlook_events")
    with op.batch_alter_table("outlook_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outlook_messages_received_at"))
        batch_op.drop_index(batch_op.f("ix_outlook_messages_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_outlook_messages_folder"))
    op.drop_table("outlook_messages")
    op.drop_table("outlook_state")
