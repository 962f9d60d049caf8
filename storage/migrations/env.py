"""Alembic environment. Run through ``aegis db`` or :mod:`storage.migrate`, which pass the URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from storage.db import Database
from storage.models import Base, load_integration_models

config = context.config
load_integration_models()  # the installed integrations' tables join the one metadata
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    existing = config.attributes.get("connection")
    if existing is not None:
        _run(existing)
        return
    db = Database(config.get_main_option("sqlalchemy.url") or "")
    try:
        async with db.engine.connect() as conn:
            await conn.run_sync(_run)
            await conn.commit()
    finally:
        await db.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported")
existing_conn = config.attributes.get("connection")
if existing_conn is not None:
    _run(existing_conn)
else:
    asyncio.run(_main())
