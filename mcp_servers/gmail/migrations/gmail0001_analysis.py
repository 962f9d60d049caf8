"""gmail: the encrypted mail analysis of each stored message (mail domain)

Revision ID: gmail0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "gmail0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("gmail",)
depends_on: str | Sequence[str] | None = "0006"


def upgrade() -> None:
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("analysis", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.drop_column("analysis")
