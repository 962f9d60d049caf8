"""Apply, revert and check migrations programmatically (Alembic is the only way to change the schema)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from storage.db import Database
from storage.models import Base, load_integration_models
from storage.roles import app_role, grant_app_role

SCRIPTS = Path(__file__).parent / "migrations"


def version_locations() -> list[Path]:
    """The core's migrations and each installed integration's own (``mcp_servers/<name>/migrations``,
    an Alembic branch labelled with its name that ``depends_on`` the core revision it needs)."""
    from integrations import Catalog

    return [SCRIPTS / "versions", *Catalog.load().migration_dirs()]


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(str(p) for p in version_locations()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def _with_connection(db: Database, fn: Any, *args: Any) -> Any:
    async with db.engine.connect() as conn:

        def run(sync_conn: Connection) -> Any:
            cfg = alembic_config(str(db.url))
            cfg.attributes["connection"] = sync_conn
            return fn(cfg, *args)

        out = await conn.run_sync(run)
        await conn.commit()
        return out


async def upgrade(db: Database, revision: str = "heads") -> None:
    await _with_connection(db, command.upgrade, revision)


async def downgrade(db: Database, revision: str = "base") -> None:
    await _with_connection(db, command.downgrade, revision)


async def current(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        heads = await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_heads())
    return ",".join(sorted(heads)) or None


async def diff(db: Database) -> list[Any]:
    """What autogenerate would change between the database and the models (empty = in sync)."""

    def compare(c: Connection) -> list[Any]:
        ctx = MigrationContext.configure(c, opts={"compare_type": True, "render_as_batch": c.dialect.name == "sqlite"})
        load_integration_models()
        return list(compare_metadata(ctx, Base.metadata))

    async with db.engine.connect() as conn:
        return await conn.run_sync(compare)


async def upgrade_owned(app_url: str, migration_url: str | None, revision: str = "heads") -> None:
    """Apply migrations as the owning role (``migration_url``), then give the application's role
    (the user of ``app_url``, when it differs) only row access: see storage/roles.py."""
    db = Database(migration_url or app_url)
    try:
        await upgrade(db, revision)
        role = app_role(app_url, migration_url) if migration_url else None
        if role is not None:
            await grant_app_role(db, role)
    finally:
        await db.dispose()


def upgrade_sync(url: str) -> None:
    async def go() -> None:
        db = Database(url)
        try:
            await upgrade(db)
        finally:
            await db.dispose()

    asyncio.run(go())
