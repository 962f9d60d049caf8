"""How ``aegis up`` starts the bridge: :func:`bridge_process_spec` builds the command, its working
folder and its whole environment (nothing inherited: the bridge needs no secret), or raises
:class:`BridgeUnavailable` saying exactly what is missing (Node, the installed packages, chromium).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import structlog

from tools.sidecar import SidecarSettings, SidecarSpec, SidecarUnavailable

log = structlog.get_logger("aegis.tools.whatsapp")
BRIDGE_DIR = Path(__file__).resolve().parents[2] / "whatsapp-bridge"
ENTRY = "src/main.js"
DEMO_ENTRY = "src/demo-main.js"  # the same bridge with a fake WhatsApp, for the demo profile
CHROMIUM = Path("/usr/bin/chromium")
MIN_NODE_MAJOR = 20


class BridgeUnavailable(SidecarUnavailable):
    """The bridge cannot start here; ``missing`` lists what to install, one sentence each."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__("the WhatsApp bridge", missing, integration="whatsapp")


BridgeProcessSpec = SidecarSpec


def bridge_process_spec(
    *,
    data_dir: Path,
    broker_issuer: str,
    broker_jwks_url: str | None = None,
    host: str = "127.0.0.1",
    port: int = 3001,
    allow_network: bool = False,
    tls_files: tuple[Path, Path] | None = None,
    bridge_dir: Path = BRIDGE_DIR,
    entry: str = ENTRY,
    chromium: Path | None = CHROMIUM,
    which: Callable[[str], str | None] = shutil.which,
) -> BridgeProcessSpec:
    """The bridge's process: ``node <entry>`` in ``bridge_dir``, its data in ``data_dir/whatsapp-bridge``.

    ``tls_files`` (certificate, key): the bridge serves HTTPS, TLS 1.3 only. Without, plain HTTP, which
    the bridge allows on loopback alone (the embedded stack, like the broker there)."""
    missing: list[str] = []
    node = which("node")
    if node is None:
        missing.append(f"Node.js {MIN_NODE_MAJOR}+ is not installed (Debian: apt-get install nodejs npm)")
    if not (bridge_dir / "node_modules" / "whatsapp-web.js").is_dir():
        missing.append(f"its packages are not installed (run: cd {bridge_dir} && PUPPETEER_SKIP_DOWNLOAD=true npm ci)")
    if chromium is not None and not chromium.exists():
        missing.append(f"{chromium} is missing (Debian: apt-get install chromium)")
    if missing:
        raise BridgeUnavailable(missing)
    assert node is not None
    bridge_data = (data_dir / "whatsapp-bridge").resolve()
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(bridge_data),
        "NODE_ENV": "production",
        "WHATSAPP_BRIDGE_HOST": host,
        "WHATSAPP_BRIDGE_PORT": str(port),
        "WHATSAPP_BRIDGE_DATA_DIR": str(bridge_data),
        "WHATSAPP_BRIDGE_CHROMIUM": str(chromium or ""),
        "AEGIS_BROKER_ISSUER": broker_issuer,
        "AEGIS_BROKER_JWKS_URL": broker_jwks_url or broker_issuer.rstrip("/") + "/.well-known/jwks.json",
    }
    if allow_network:
        env["WHATSAPP_BRIDGE_ALLOW_NETWORK"] = "true"
    if tls_files is not None:
        env["WHATSAPP_BRIDGE_TLS_CERT_FILE"] = str(tls_files[0].resolve())
        env["WHATSAPP_BRIDGE_TLS_KEY_FILE"] = str(tls_files[1].resolve())
    url_host = f"[{host}]" if ":" in host else host
    url = f"{'https' if tls_files else 'http'}://{url_host}:{port}"
    return SidecarSpec(
        argv=(node, entry),
        cwd=bridge_dir,
        env=env,
        url=url,
        data_dir=bridge_data,
        probe_path="/v1/status",  # answers 401 without a token: that is the bridge, up
        server_env={"WHATSAPP_BRIDGE_URL": url},
    )


def install_packages(bridge_dir: Path = BRIDGE_DIR, which: Callable[[str], str | None] = shutil.which) -> bool:
    """A fresh clone: install the bridge's pinned packages once (``npm ci``, never a browser
    download: Debian's chromium is the one it drives). Returns whether they are there now."""
    if (bridge_dir / "node_modules" / "whatsapp-web.js").is_dir():
        return True
    npm = which("npm")
    if npm is None or not (bridge_dir / "package-lock.json").is_file():
        return False
    log.info("installing the WhatsApp bridge's packages (npm ci, once)")
    done = subprocess.run(  # noqa: S603 - npm from PATH, fixed arguments, our own lock file
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=bridge_dir,
        env={**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "true"},
        capture_output=True,
        check=False,
        timeout=600,
    )
    return done.returncode == 0 and (bridge_dir / "node_modules" / "whatsapp-web.js").is_dir()


def sidecar(settings: SidecarSettings) -> SidecarSpec:
    """The manifest's sidecar: the real bridge, or in the demo profile the bridge with its fake
    WhatsApp (no browser needed; it pairs by itself and receives a message now and then)."""
    install_packages()
    return bridge_process_spec(
        data_dir=settings.data_dir,
        broker_issuer=settings.broker_issuer,
        broker_jwks_url=settings.broker_jwks_url,
        port=settings.port,
        bridge_dir=BRIDGE_DIR,
        which=shutil.which,
        entry=DEMO_ENTRY if settings.demo else ENTRY,
        chromium=None if settings.demo else CHROMIUM,
    )
