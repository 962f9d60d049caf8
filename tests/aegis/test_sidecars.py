"""The sidecar supervisor with a real child process (a stand-in HTTP server): started and probed,
restarted with backoff after ``kill -9`` while /health's part says so, stopped cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from aegis.sidecars import SidecarProcess, free_port
from tools.sidecar import SidecarSpec

pytestmark = pytest.mark.anyio


def _spec(tmp_path: Path, port: int) -> SidecarSpec:
    return SidecarSpec(
        argv=(sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"),
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        url=f"http://127.0.0.1:{port}",
        data_dir=tmp_path / "sidecar-data",
        probe_path="/",
    )


async def _until(check: object, seconds: float = 20.0) -> None:
    async with asyncio.timeout(seconds):
        while not check():  # type: ignore[operator]  # noqa: ASYNC110 - the supervisor exposes state
            await asyncio.sleep(0.05)


async def test_a_sidecar_is_probed_restarted_with_backoff_and_stopped(tmp_path: Path) -> None:
    process = SidecarProcess("stand-in", "a stand-in", _spec(tmp_path, free_port()), backoff=0.2, probe_every=0.2)
    await process.start(wait_seconds=20)
    try:
        assert process.status() | {"title": None} == {
            "state": "up",
            "up": True,
            "restarts": 0,
            "error": None,
            "title": None,
        }
        data = tmp_path / "sidecar-data"
        assert data.is_dir() and data.stat().st_mode & 0o777 == 0o700  # only its own user may enter
        assert process.proc is not None
        first = process.proc.pid
        os.kill(first, signal.SIGKILL)
        await _until(lambda: process.state == "restarting")
        assert process.status()["up"] is False and "status -9" in str(process.status()["error"])
        await _until(lambda: process.state == "up" and process.restarts == 1)
        assert process.proc.pid != first
    finally:
        await process.stop()
    assert process.state == "stopped" and process.proc.returncode is not None


async def test_a_sidecar_that_keeps_failing_backs_off_longer_each_time(tmp_path: Path) -> None:
    spec = SidecarSpec(
        argv=(sys.executable, "-c", "raise SystemExit(3)"),
        cwd=tmp_path,
        env={},
        url=f"http://127.0.0.1:{free_port()}",
        data_dir=tmp_path / "d",
    )
    process = SidecarProcess("failing", "a failing one", spec, backoff=0.1, max_backoff=0.4, probe_every=0.05)
    await process.start(wait_seconds=2)
    loop = asyncio.get_running_loop()
    began = loop.time()
    try:
        await _until(lambda: process.restarts >= 4)
        # 0.1 + 0.2 + 0.4 + 0.4 seconds at least between the five launches: it never spins.
        assert loop.time() - began >= 1.0
        assert process.status()["error"] == "exited with status 3" and not process.status()["up"]
    finally:
        await process.stop()


def test_in_production_a_server_learns_where_its_sidecar_runs_and_nothing_else() -> None:
    from aegis.sidecars import deployed_env
    from integrations import Catalog

    catalog = Catalog.load()
    with_sidecar = [m for m in catalog if m.sidecar is not None and m.sidecar.deployed_env]
    assert with_sidecar, "an installed integration runs a sidecar"
    environ = {n: f"https://{n.lower()}.svc.example:8443" for m in with_sidecar for n in m.sidecar.deployed_env}
    environ |= {"AEGIS_MASTER_KEY_FILE": "/run/secrets/master", "HOME": "/root"}
    out = deployed_env(catalog, environ)
    assert set(out) == {m.name for m in with_sidecar}
    for m in with_sidecar:
        assert out[m.name] == {n: environ[n] for n in m.sidecar.deployed_env}
    assert deployed_env(catalog, {}) == {}  # unset: the server keeps its own default


def test_a_manifest_cannot_hand_aegis_settings_to_a_server() -> None:
    import pydantic

    from integrations.manifest import Sidecar

    with pytest.raises(pydantic.ValidationError, match="Aegis's own settings"):
        Sidecar(title="t", factory="tools.x:f", deployed_env=("AEGIS_MASTER_KEY_FILE",))
    with pytest.raises(pydantic.ValidationError):
        Sidecar(title="t", factory="tools.x:f", deployed_env=("lower_case",))
