"""gmail: the model's analysis of each stored message, beside the rules' one (mail domain)

Revision ID: gmail0002
Revises: gmail0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "gmail0002"
down_revision: str | None = "gmail0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model_state", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("model_analysis", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.drop_column("model_analysis")
        batch_op.drop_column("model_state")
