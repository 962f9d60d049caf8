"""A helper process an integration runs beside its MCP server (its manifest's ``sidecar``), e.g. a
bridge to a vendor's web app. The integration's own factory turns :class:`SidecarSettings` into a
:class:`SidecarSpec` (command, working folder, whole environment), or raises
:class:`SidecarUnavailable` listing what is missing on this machine, one sentence each.
``aegis up`` starts and supervises what the spec describes (:mod:`aegis.sidecars`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tools.errors import InvalidRequest


@dataclass(frozen=True)
class SidecarSettings:
    """What the core tells a sidecar factory: where data lives, whom the sidecar trusts, and the
    loopback port the core picked for it (free when picked; kept across restarts)."""

    data_dir: Path
    broker_issuer: str
    broker_jwks_url: str
    port: int
    demo: bool = False


@dataclass(frozen=True)
class SidecarSpec:
    """How to run the sidecar. ``url`` + ``probe_path``: any HTTP answer there means it is up.
    ``server_env``: what the integration's MCP server is told (e.g. where the sidecar listens)."""

    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str] = field(repr=False)
    url: str
    data_dir: Path
    probe_path: str = "/"
    server_env: Mapping[str, str] = field(default_factory=dict)


class SidecarUnavailable(InvalidRequest):
    """The sidecar cannot start here; ``missing`` lists what to install, one sentence each."""

    def __init__(self, what: str, missing: list[str], *, integration: str) -> None:
        super().__init__(f"{what} cannot start: " + "; ".join(missing), integration=integration)
        self.missing = missing
