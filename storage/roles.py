"""PostgreSQL: the application's role may read and write rows, never change the schema.

Migrations run as the role that owns the tables (``AEGIS_MIGRATION_DATABASE_URL``); the application
connects as another role (``AEGIS_DATABASE_URL``) that :func:`grant_app_role` gives plain row
access. Only a table's owner (or a superuser) can alter, drop or truncate it, or drop or disable
its triggers, so the application's role cannot switch the audit log's append-only triggers off;
it is not even granted UPDATE, DELETE or TRUNCATE on ``audit_log``, nor INSERT or DELETE on the
chain head. On SQLite there are no roles: see the README.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import Database

_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# What the application may do, per table; every other table gets plain row access.
_LIMITED = {
    "audit_log": "SELECT, INSERT",
    "audit_head": "SELECT, UPDATE",
    "alembic_version": "SELECT",
}


class RoleError(Exception):
    """The roles are misconfigured (the operator fixes the settings)."""


def app_role(app_url: str, migration_url: str) -> str | None:
    """The role to grant, or None when both URLs name the same role (one role: nothing to split)."""
    app, owner = make_url(app_url), make_url(migration_url)
    if app.get_backend_name() != "postgresql" or owner.get_backend_name() != "postgresql":
        return None
    if app.username is None or app.username == owner.username:
        return None
    return app.username


async def grant_app_role(db: Database, role: str) -> None:
    """Run as the owning role after the migrations: row access for ``role`` in the current schema."""
    if not _ROLE.match(role):
        raise RoleError("the application's database role must be a plain lower-case name")
    async with db.engine.begin() as conn:
        owns = await conn.execute(
            text("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tableowner = :r"), {"r": role}
        )
        if int(owns.scalar_one()):
            raise RoleError(f"the application's role {role} owns tables: reassign them to the migration role")
        schema = str((await conn.exec_driver_sql("SELECT current_schema()")).scalar_one())
        tables = (
            await conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
            )
        ).scalars()
        q = '"' + schema.replace('"', '""') + '"'
        await conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA {q} TO "{role}"')
        await conn.exec_driver_sql(f'REVOKE CREATE ON SCHEMA {q} FROM "{role}"')
        for table in list(tables):
            name = f'{q}."' + str(table).replace('"', '""') + '"'
            await conn.exec_driver_sql(f'REVOKE ALL ON {name} FROM "{role}"')
            await conn.exec_driver_sql(
                f'GRANT {_LIMITED.get(str(table), "SELECT, INSERT, UPDATE, DELETE")} ON {name} TO "{role}"'
            )
        await conn.exec_driver_sql(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {q} TO "{role}"')
