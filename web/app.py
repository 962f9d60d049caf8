"""The console application. ``create_app`` is called by the composition root with its dependencies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from storage.crypto.keyring import Keyring
from storage.db import Database


def create_app(db: Database, *, keyring: Keyring, version: str = "0.1.0") -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await db.dispose()

    app = FastAPI(title="Aegis", version=version, lifespan=lifespan, docs_url=None, redoc_url=None)

    @app.get("/health")
    async def health() -> JSONResponse:
        body: dict[str, Any] = {"status": "ok", "version": version}
        try:
            async with db.engine.connect() as conn:
                body["schema"] = await conn.scalar(text("SELECT version_num FROM alembic_version"))
            body["database"] = "ok"
        except Exception:  # noqa: BLE001 - health reports, never raises
            body["status"], body["database"] = "degraded", "unreachable"
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    return app
