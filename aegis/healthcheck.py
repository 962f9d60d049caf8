"""``python -m aegis.healthcheck URL``: exit 0 when ``URL`` answers 200, for container health checks.

The internal CA comes from ``AEGIS_BROKER_CA_FILE``, as for every call between Aegis services.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx

from broker.tls import client_verify


async def check(url: str, ca_file: Path | None) -> bool:
    verify = client_verify(ca_file)
    try:
        async with httpx.AsyncClient(timeout=5, verify=verify, trust_env=False, follow_redirects=False) as http:
            r = await http.get(url)
    except httpx.HTTPError:
        return False
    return r.status_code == 200


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m aegis.healthcheck URL\n")
        return 2
    ca = os.environ.get("AEGIS_BROKER_CA_FILE")
    return 0 if asyncio.run(check(argv[0], Path(ca) if ca else None)) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
