"""TLS between Aegis services: TLS 1.3 only, certificates from the deployment's internal CA.

Embedded mode uses none of it (everything is on 127.0.0.1). The deployed setup sets
``AEGIS_TLS_CERT_FILE``/``AEGIS_TLS_KEY_FILE`` (this process serves HTTPS) and
``AEGIS_BROKER_CA_FILE`` (the CA that the broker's certificate must chain to).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

MIN_VERSION = ssl.TLSVersion.TLSv1_3


def server_options(cert_file: Path | None, key_file: Path | None) -> dict[str, Any]:
    """Keyword arguments for :class:`uvicorn.Config`: HTTPS with TLS 1.3 as the floor, or nothing."""
    if cert_file is None or key_file is None:
        return {}

    def factory(config: Any, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        ctx = default()
        ctx.minimum_version = MIN_VERSION
        return ctx

    return {"ssl_certfile": str(cert_file), "ssl_keyfile": str(key_file), "ssl_context_factory": factory}


def client_verify(ca_file: Path | None) -> ssl.SSLContext | bool:
    """What httpx's ``verify`` gets for calls to other Aegis services.

    With a CA file: only that CA is trusted, hostnames are checked, TLS 1.3 is the floor.
    Without: httpx's default (the public roots), which plain-HTTP loopback URLs never use.
    """
    if ca_file is None:
        return True
    ctx = ssl.create_default_context(cafile=str(ca_file))
    ctx.minimum_version = MIN_VERSION
    return ctx
