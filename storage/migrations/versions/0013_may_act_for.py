"""principals.may_act_for: the audiences a principal's tokens may be exchanged for (RFC 8693)

Revision ID: 0013
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
# Chained on 0011 until 0012 (another change) lands; then "0012".
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A JSON list; NULL or [] means a token may be exchanged only for its own audience.
    with op.batch_alter_table("principals") as batch:
        batch.add_column(sa.Column("may_act_for", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("principals") as batch:
        batch.drop_column("may_act_for")
