"""blackboard: courses, coursework, announcements, grade points, run status, cookies, snapshots

Revision ID: blackboard_0001
Revises:
"""

from collections.abc import Sequence

from mcp_servers._coursework_schema import create_v1, drop_v1

revision: str = "blackboard_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("blackboard",)
depends_on: str | Sequence[str] | None = "0007"


def upgrade() -> None:
    create_v1("blackboard", notices=True)


def downgrade() -> None:
    drop_v1("blackboard", notices=True)
