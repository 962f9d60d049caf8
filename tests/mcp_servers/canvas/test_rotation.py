"""A data-key rotation of the ``coursework`` domain rewraps Canvas's and ActivityWatch's rows: after it,
everything reads back under the new key only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from mcp_servers._common import audit_log
from mcp_servers.activitywatch.models import DeviceUsageDayRow
from mcp_servers.activitywatch.service import UsageService
from mcp_servers.canvas.models import CanvasAssignmentRow
from mcp_servers.canvas.service import CanvasService
from mcp_servers.canvas.store import CourseworkStore
from storage.crypto.field import FieldCipher, kid_of
from storage.crypto.keyring import Keyring
from storage.crypto.keystore import ensure_keys, load_keyring
from storage.crypto.master import KeyEncryptionKey, generate_master_key_file, load_master_key
from storage.crypto.rotation import run_rotation, start_rotation
from storage.db import Database
from storage.models import encrypted_columns
from tests.mcp_servers.canvas.conftest import NOW, TODAY
from tests.mcp_servers.conftest import NO_RETRY_WAIT
from tools._http import build_http_client
from tools.activitywatch.client import ActivityWatchClient
from tools.activitywatch.demo import DemoActivityWatch
from tools.activitywatch.demo import demo_transport as aw_transport
from tools.canvas.client import CanvasClient
from tools.canvas.demo import DemoCanvas, demo_credentials, demo_transport
from tools.credentials import StaticCredentials

pytestmark = pytest.mark.anyio


async def _keyring(db: Database, kek: KeyEncryptionKey) -> Keyring:
    async with db.transaction() as s:
        return await load_keyring(s, kek)


async def _kids(db: Database) -> set[str]:
    async with db.transaction() as s:
        blobs = [*(await s.scalars(select(CanvasAssignmentRow.data))).all()]
        blobs += (await s.scalars(select(DeviceUsageDayRow.data))).all()
    return {kid_of(b) for b in blobs}


async def test_rotating_the_coursework_key_keeps_every_row_readable(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    generate_master_key_file(path)
    kek = KeyEncryptionKey(load_master_key(path))
    async with db.transaction() as s:
        await ensure_keys(s, kek)
    keyring = await _keyring(db, kek)
    clock: Callable[[], datetime] = lambda: NOW  # noqa: E731 - a fixed clock
    async with build_http_client(transport=demo_transport(DemoCanvas(TODAY))) as http:
        cipher = FieldCipher(keyring)
        canvas = CanvasService(
            CanvasClient(http, StaticCredentials(demo_credentials()), retry=NO_RETRY_WAIT),
            CourseworkStore(db, cipher),
            audit_log(keyring, "coursework"),
            clock=clock,
        )
        await canvas.sync({})
    async with build_http_client(transport=aw_transport(DemoActivityWatch(TODAY))) as http:
        usage = UsageService(
            ActivityWatchClient(http, StaticCredentials({}), retry=NO_RETRY_WAIT),
            db,
            FieldCipher(keyring),
            audit_log(keyring, "coursework"),
            clock=lambda: datetime(2026, 12, 2, 23, tzinfo=UTC),
        )
        await usage.sync({})
    assert await _kids(db) == {"coursework.enc.v1"}

    rid = await start_rotation(db, kek, "coursework")
    changed = await run_rotation(db, kek, rid, encrypted_columns(), batch_size=7)
    assert changed > 0
    assert await _kids(db) == {"coursework.enc.v2"}

    fresh = await _keyring(db, kek)
    store = CourseworkStore(db, FieldCipher(fresh))
    names = {a.name for a in await store.assignments()}
    assert "Project 3: Balanced trees" in names
    assert [c.code for c in await store.courses()] == ["CS 260", "MATH 221", "PHYS 102", "ENGL 103"]
