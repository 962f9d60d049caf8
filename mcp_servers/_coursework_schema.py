"""The tables of a coursework source (see :mod:`mcp_servers._coursework`), named ``<prefix>_*``.

:func:`lms_tables` declares them on the models' metadata (an integration's ``models.py``);
:func:`create_v1` and :func:`drop_v1` are what its first migration runs, from the same declaration,
so the schema and the models cannot drift. A later change is a new migration, never an edit here.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table

from mcp_servers._coursework import LmsTables
from storage.models.base import UTCDateTime


def _tables(prefix: str, metadata: MetaData, notices: bool) -> list[Table]:
    out = [
        Table(
            f"{prefix}_courses",
            metadata,
            Column("id", String(40), primary_key=True),
            Column("data", LargeBinary, nullable=False),
            Column("synced_at", UTCDateTime, nullable=False),
        ),
        Table(
            f"{prefix}_work",
            metadata,
            Column("id", String(80), primary_key=True),
            Column("course_id", String(40), nullable=False, index=True),
            Column("due_at", UTCDateTime, nullable=True, index=True),
            Column("state", String(16), nullable=False),
            Column("data", LargeBinary, nullable=False),
            Column("synced_at", UTCDateTime, nullable=False),
        ),
        Table(
            f"{prefix}_grade_points",
            metadata,
            Column("id", String(60), primary_key=True),
            Column("course_id", String(40), nullable=False, index=True),
            Column("day", String(10), nullable=False, index=True),
            Column("data", LargeBinary, nullable=False),
        ),
        Table(
            f"{prefix}_status",
            metadata,
            Column("id", Integer, primary_key=True, autoincrement=False),
            Column("synced_at", UTCDateTime, nullable=True),
            Column("reason", String(32), nullable=True),
            Column("detail", String(300), nullable=True),
            Column("since", UTCDateTime, nullable=True),
            Column("snapshot_id", String(64), nullable=True),
            Column("mode", String(16), nullable=True),
        ),
        Table(
            f"{prefix}_snapshots",
            metadata,
            Column("id", String(64), primary_key=True),
            Column("created_at", UTCDateTime, nullable=False, index=True),
            Column("reason", String(32), nullable=False),
            Column("data", LargeBinary, nullable=False),
        ),
        Table(
            f"{prefix}_cookies",
            metadata,
            Column("id", Integer, primary_key=True, autoincrement=False),
            Column("data", LargeBinary, nullable=False),
        ),
    ]
    if notices:
        out.append(
            Table(
                f"{prefix}_notices",
                metadata,
                Column("id", String(40), primary_key=True),
                Column("course_id", String(40), nullable=False, index=True),
                Column("posted_at", UTCDateTime, nullable=True, index=True),
                Column("data", LargeBinary, nullable=False),
            )
        )
    return out


def lms_tables(prefix: str, metadata: MetaData, *, notices: bool) -> LmsTables:
    t = _tables(prefix, metadata, notices)
    return LmsTables(
        courses=t[0],
        work=t[1],
        grade_points=t[2],
        status=t[3],
        snapshots=t[4],
        cookies=t[5],
        notices=t[6] if notices else None,
    )


def create_v1(prefix: str, *, notices: bool) -> None:
    """The first migration of a coursework source's branch."""
    from alembic import op

    from storage.models.base import Base

    scratch = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in _tables(prefix, scratch, notices):
        op.create_table(
            table.name,
            *[c._copy() for c in table.columns],
            sa.PrimaryKeyConstraint(*[c.name for c in table.primary_key.columns], name=op.f(f"pk_{table.name}")),
        )  # indexes come with the columns


def drop_v1(prefix: str, *, notices: bool) -> None:
    from alembic import op

    for table in reversed(_tables(prefix, MetaData(), notices)):
        op.drop_table(table.name)
