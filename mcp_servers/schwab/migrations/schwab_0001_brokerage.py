"""schwab: brokerage accounts, transactions, orders, order intents, settings and daily snapshots (finance domain)

Revision ID: schwab_0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision: str = "schwab_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("schwab",)
depends_on: str | Sequence[str] | None = "0007"


def upgrade() -> None:
    op.create_table(
        "schwab_accounts",
        sa.Column("account_hash", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("mask", sa.LargeBinary(), nullable=False),
        sa.Column("balances", sa.LargeBinary(), nullable=False),
        sa.Column("positions", sa.LargeBinary(), nullable=False),
        sa.Column("synced_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_hash", name=op.f("pk_schwab_accounts")),
    )
    op.create_table(
        "schwab_transactions",
        sa.Column("activity_id", sa.String(length=32), nullable=False),
        sa.Column("account_hash", sa.String(length=128), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("type", sa.String(length=48), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("activity_id", name=op.f("pk_schwab_transactions")),
    )
    with op.batch_alter_table("schwab_transactions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_schwab_transactions_account_hash"), ["account_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_schwab_transactions_date"), ["date"], unique=False)
    op.create_table(
        "schwab_orders",
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("account_hash", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("entered_at", UTCDateTime(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_schwab_orders")),
    )
    with op.batch_alter_table("schwab_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_schwab_orders_account_hash"), ["account_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_schwab_orders_entered_at"), ["entered_at"], unique=False)
    op.create_table(
        "schwab_intents",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("account_hash", sa.String(length=128), nullable=False),
        sa.Column("spec_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=True),
        sa.Column("spec", sa.LargeBinary(), nullable=False),
        sa.Column("result", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_schwab_intents")),
    )
    with op.batch_alter_table("schwab_intents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_schwab_intents_day"), ["day"], unique=False)
    op.create_table(
        "schwab_settings",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_schwab_settings")),
    )
    op.create_table(
        "schwab_snapshots",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("taken_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_schwab_snapshots")),
    )


def downgrade() -> None:
    op.drop_table("schwab_snapshots")
    op.drop_table("schwab_settings")
    with op.batch_alter_table("schwab_intents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schwab_intents_day"))
    op.drop_table("schwab_intents")
    with op.batch_alter_table("schwab_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schwab_orders_entered_at"))
        batch_op.drop_index(batch_op.f("ix_schwab_orders_account_hash"))
    op.drop_table("schwab_orders")
    with op.batch_alter_table("schwab_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schwab_transactions_date"))
        batch_op.drop_index(batch_op.f("ix_schwab_transactions_account_hash"))
    op.drop_table("schwab_transactions")
    op.drop_table("schwab_accounts")
