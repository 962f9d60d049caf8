"""The demo profile's first start: every demo sandbox connected and every integration synced once,
so the home page has figures at once, on any day, instead of waiting hours for each job's slot.

It runs in the background once the console answers; each integration on its own (one that fails
is reported and skipped). Integrations that need the owner (a QR pairing, a token) are left alone.
"""

from __future__ import annotations

import structlog

from integrations.manifest import Manifest
from web.data import ConsoleData

log = structlog.get_logger("aegis.web.warmup")


async def warm_demo(data: ConsoleData) -> dict[str, str]:
    """Connect the sandboxes not yet connected, then sync what has never synced. Returns what
    happened per integration (``connected``, ``synced``, ``skipped: ...``, ``failed: ...``)."""
    if not data.sandbox or data.tools is None:
        return {}
    out: dict[str, str] = {}
    for manifest in data.catalog:
        out[manifest.name] = await _one(data, manifest)
    log.debug("demo ready", **out)
    return out


async def _one(data: ConsoleData, manifest: Manifest) -> str:
    assert data.tools is not None
    said = []
    tool = manifest.connect.sandbox_tool
    if tool is not None and not await data.connected(manifest):
        result = await data.tools.console_only(tool)
        data.forget(manifest.name)
        if not result.ok:
            return f"failed: {result.error}"
        said.append("connected")
    if not manifest.jobs:
        return ", ".join(said) or "skipped: nothing to sync"
    status = await data.status(manifest)
    if status.last_sync is not None:
        return ", ".join(said) or "skipped: synced before"
    synced = await data.sync_now(manifest)
    said.append("synced" if synced.ok else f"skipped: {synced.error}")
    return ", ".join(said)
