"""integrations: Gmail messages and sync state (mail domain), Plaid items, accounts, transactions (finance)

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_accounts",
        sa.Column("account", sa.String(length=320), nullable=False),
        sa.Column("history_id", sa.String(length=32), nullable=True),
        sa.Column("full_synced_at", UTCDateTime(), nullable=True),
        sa.Column("synced_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_mail_accounts")),
    )
    op.create_table(
        "mail_messages",
        sa.Column("id", sa.String(length=256), nullable=False),
        sa.Column("account", sa.String(length=320), nullable=False),
        sa.Column("thread_id", sa.String(length=256), nullable=False),
        sa.Column("label_ids", sa.Text(), nullable=False),
        sa.Column("internal_date", sa.BigInteger(), nullable=True),
        sa.Column("history_id", sa.String(length=32), nullable=True),
        sa.Column("principal", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.LargeBinary(), nullable=False),
        sa.Column("sender", sa.LargeBinary(), nullable=False),
        sa.Column("recipients", sa.LargeBinary(), nullable=False),
        sa.Column("snippet", sa.LargeBinary(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_messages")),
    )
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mail_messages_account"), ["account"], unique=False)
        batch_op.create_index(batch_op.f("ix_mail_messages_internal_date"), ["internal_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_mail_messages_thread_id"), ["thread_id"], unique=False)

    op.create_table(
        "plaid_items",
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=True),
        sa.Column("secret_name", sa.String(length=128), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("synced_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_plaid_items")),
    )
    op.create_table(
        "plaid_accounts",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("subtype", sa.String(length=64), nullable=True),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("name", sa.LargeBinary(), nullable=False),
        sa.Column("official_name", sa.LargeBinary(), nullable=True),
        sa.Column("mask", sa.LargeBinary(), nullable=True),
        sa.Column("balances", sa.LargeBinary(), nullable=False),
        sa.Column("balances_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_plaid_accounts")),
    )
    with op.batch_alter_table("plaid_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plaid_accounts_item_id"), ["item_id"], unique=False)

    op.create_table(
        "plaid_transactions",
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("category_primary", sa.String(length=64), nullable=True),
        sa.Column("category_detailed", sa.String(length=128), nullable=True),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("amount", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.LargeBinary(), nullable=False),
        sa.Column("merchant_name", sa.LargeBinary(), nullable=True),
        sa.Column("details", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("transaction_id", name=op.f("pk_plaid_transactions")),
    )
    with op.batch_alter_table("plaid_transactions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plaid_transactions_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_plaid_transactions_date"), ["date"], unique=False)
        batch_op.create_index(batch_op.f("ix_plaid_transactions_item_id"), ["item_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("plaid_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plaid_transactions_item_id"))
        batch_op.drop_index(batch_op.f("ix_plaid_transactions_date"))
        batch_op.drop_index(batch_op.f("ix_plaid_transactions_account_id"))

    op.drop_table("plaid_transactions")
    with op.batch_alter_table("plaid_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plaid_accounts_item_id"))

    op.drop_table("plaid_accounts")
    op.drop_table("plaid_items")
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_messages_thread_id"))
        batch_op.drop_index(batch_op.f("ix_mail_messages_internal_date"))
        batch_op.drop_index(batch_op.f("ix_mail_messages_account"))

    op.drop_table("mail_messages")
    op.drop_table("mail_accounts")
