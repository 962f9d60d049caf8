"""The installed integrations' manifests, and everything derived from them.

:class:`Catalog` is built once by the composition root (``Catalog.load()``) and handed to whoever
needs it: the broker identities, the tool registry and pins, call scopes, job grants, the MCP
host's server table, the console's integrations page, panels and briefing sections. Nothing else
in Aegis names an integration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from integrations import fit, health_views, money, prep
from integrations import merged as merged_views
from integrations.installed import INSTALLED
from integrations.manifest import (
    ContentChannel,
    ContentInput,
    Job,
    MailAnalysis,
    Manifest,
    ManifestError,
    Provides,
    View,
)
from integrations.merged import Merged

SERVERS_DIR = Path(__file__).resolve().parents[1] / "mcp_servers"


def manifest_path(name: str) -> Path:
    return SERVERS_DIR / name / "manifest.yaml"


def pins_path(name: str) -> Path:
    return SERVERS_DIR / name / "pins.yaml"


def load_manifest(name: str) -> Manifest:
    path = manifest_path(name)
    if not path.is_file():
        raise ManifestError(f"{name}: no manifest at {path}")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ManifestError(f"{name}: the manifest must be a mapping")
    try:
        manifest = Manifest.model_validate(_tuples(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ManifestError(f"{name}: {where}: {first['msg']}") from None
    if manifest.name != name:
        raise ManifestError(f"{name}: the manifest names itself {manifest.name!r}")
    return manifest


def _tuples(value: Any) -> Any:
    """YAML lists become tuples (the models are strict and frozen); registry entries stay as written."""
    if isinstance(value, dict):
        return {k: (v if k == "entry" else _tuples(v)) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def load_pins(name: str) -> dict[str, str]:
    path = pins_path(name)
    if not path.is_file():
        return {}
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    pins = raw.get("pins") or {}
    if not isinstance(pins, dict) or not all(str(v).startswith("sha256:") for v in pins.values()):
        raise ManifestError(f"{name}: pins.yaml must map tool names to 'sha256:<hex>'")
    prefix = f"{name}."
    foreign = [k for k in pins if not str(k).startswith(prefix)]
    if foreign:
        raise ManifestError(f"{name}: pins.yaml pins another integration's tools: {foreign}")
    return {str(k): str(v) for k, v in pins.items()}


@dataclass(frozen=True)
class JobMember:
    """One integration's part in a recurring job: its tool, and the grant its token carries."""

    integration: str
    tool: str
    audience: str
    resource: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class PlacedView:
    integration: str  # "" for a view the core merges across integrations (``merged``)
    view: View
    merged: Merged | None = None


class Catalog:
    """The manifests of the installed integrations, in the order of the list."""

    def __init__(self, manifests: Iterable[Manifest]) -> None:
        self.manifests: dict[str, Manifest] = {}
        for m in manifests:
            if m.name in self.manifests:
                raise ManifestError(f"{m.name}: installed twice")
            self.manifests[m.name] = m

    @classmethod
    def load(cls, names: Sequence[str] = INSTALLED) -> Catalog:
        return cls(load_manifest(n) for n in names)

    def __contains__(self, name: object) -> bool:
        return name in self.manifests

    def __iter__(self) -> Any:
        return iter(self.manifests.values())

    def get(self, name: str) -> Manifest | None:
        return self.manifests.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.manifests)

    # -- the gateway --------------------------------------------------------------------------

    @cached_property
    def tool_scopes(self) -> Mapping[str, str]:
        """The broker scope of every tool's call token. A tool missing here cannot run."""
        return {t: spec.scope for m in self for t, spec in m.tools.items()}

    def registry_tools(self, *, demo: bool = True) -> dict[str, dict[str, Any]]:
        return {t: dict(spec.entry) for m in self for t, spec in m.tools.items() if demo or not spec.demo_only}

    def demo_only_tools(self) -> frozenset[str]:
        return frozenset(t for m in self for t, spec in m.tools.items() if spec.demo_only)

    def pins(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for m in self:
            out |= load_pins(m.name)
        return out

    def vendor_token_patterns(self) -> tuple[tuple[str, str], ...]:
        """(integration, regex) for every credential format a manifest declares."""
        return tuple((m.name, p) for m in self for p in m.vendor_token_patterns)

    def owner_of(self, tool: str) -> Manifest | None:
        return self.manifests.get(tool.partition(".")[0])

    # -- jobs -----------------------------------------------------------------------------------

    @cached_property
    def jobs(self) -> Mapping[str, tuple[JobMember, ...]]:
        """Job id -> the integrations that take part, in install order."""
        out: dict[str, list[JobMember]] = {}
        for m in self:
            for j in m.jobs:
                member = JobMember(m.name, j.tool, m.principal, m.resource, j.grant)
                out.setdefault(j.job, []).append(member)
        return {k: tuple(v) for k, v in out.items()}

    def default_schedule(self) -> dict[str, dict[str, Any]]:
        """The owner's default schedule of the installed integrations' jobs."""
        out: dict[str, dict[str, Any]] = {}
        for m in self:
            for j in m.jobs:
                out.setdefault(j.job, _plain(j.schedule))
        return out

    def providers(self, figure: str) -> list[tuple[str, Provides]]:
        """Every installed integration that provides ``figure`` (in installed order), and how it is read."""
        return [(m.name, m.provides[figure]) for m in self if figure in m.provides]

    def jobs_of(self, name: str) -> tuple[Job, ...]:
        m = self.manifests.get(name)
        return () if m is None else m.jobs

    # -- the console and the briefing -----------------------------------------------------------

    def _merged(self, view: View, tools: list[tuple[str, str]], sort_key: str | None) -> list[PlacedView]:
        if not tools:
            return []
        return [PlacedView("", view, Merged(view, tuple(tools), sort_key))]

    def _health(self, views: Sequence[View]) -> list[PlacedView]:
        tools = tuple((m.name, m.health.tool) for m in self if m.health is not None)
        return [PlacedView("", v, Merged(v, tools, health=True)) for v in views] if tools else []

    def deadline_sources(self) -> list[tuple[str, str]]:
        return [(m.name, m.deadlines) for m in self if m.deadlines]

    def meeting_sources(self) -> list[tuple[str, str]]:
        return [(m.name, m.meetings) for m in self if m.meetings]

    def thread_sources(self) -> list[tuple[str, str]]:
        return [(m.name, m.mail_threads) for m in self if m.mail_threads]

    def mail_analysers(self, job: str | None = None) -> list[tuple[str, MailAnalysis]]:
        """The integrations whose mail the model analyses (after ``job``, when given)."""
        return [(m.name, m.mail_analysis) for m in self if m.mail_analysis and job in (None, m.mail_analysis.after)]

    def suggestion_sources(self) -> list[tuple[str, str]]:
        return [(m.name, m.event_suggestions) for m in self if m.event_suggestions]

    def attention_sources(self) -> list[tuple[str, str]]:
        return [(m.name, m.connect.status_tool) for m in self if m.connect.status_tool]

    def content_channels(self) -> list[tuple[str, ContentChannel]]:
        """The networks the content engine drafts for, in the list's order."""
        return [(m.name, m.content) for m in self if m.content]

    def content_inputs(self) -> list[tuple[str, ContentInput]]:
        """What the content engine may draft from besides the owner's posts, in the list's order."""
        return [(m.name, i) for m in self for i in m.content_inputs]

    def net_worth_sources(self) -> list[money.Source]:
        """Every installed integration that reports its part of the owner's net worth."""
        return [money.Source(m.name, m.title, m.net_worth.part, m.net_worth.tool) for m in self if m.net_worth]

    def _worth(self, view: View) -> list[PlacedView]:
        return self._merged(view, [(s.integration, s.tool) for s in self.net_worth_sources()], None)

    def panels(self) -> list[PlacedView]:
        mine = [PlacedView(m.name, v) for m in self for v in m.panels]
        merged = self._merged(merged_views.PANEL, self.deadline_sources(), "due_at") + self._worth(money.PANEL)
        merged += self._health([health_views.PANEL])
        return sorted([*mine, *merged], key=lambda p: p.view.order)

    def briefing(self) -> list[PlacedView]:
        mine = [PlacedView(m.name, v) for m in self for v in m.briefing]
        merged = self._merged(merged_views.ATTENTION, self.attention_sources(), None)
        merged += self._merged(merged_views.BRIEFING, self.deadline_sources(), "due_at")
        merged += self._merged(prep.VIEW, self.meeting_sources(), None)  # mailboxes: thread_sources()
        merged += self._health(health_views.BRIEFING)
        merged += self._merged(fit.VIEW, self.suggestion_sources(), None)  # calendars: meeting_sources()
        merged += self._worth(money.BRIEFING)
        return sorted([*mine, *merged], key=lambda p: p.view.order)

    def digest(self) -> list[PlacedView]:
        mine = [PlacedView(m.name, v) for m in self for v in m.digest]
        merged = self._merged(merged_views.DIGEST, self.deadline_sources(), "due_at") + self._worth(money.DIGEST)
        merged += self._health(health_views.DIGEST)
        return sorted([*mine, *merged], key=lambda p: p.view.order)

    def money(self) -> list[PlacedView]:
        """The money page's sections: the net worth across every money integration, then what each
        installed integration declares."""
        mine = [PlacedView(m.name, v) for m in self for v in m.money]
        return sorted([*self._worth(money.MONEY), *mine], key=lambda p: p.view.order)

    def models_modules(self) -> list[str]:
        """The integrations' table modules (``mcp_servers.<name>.models``), for one metadata."""
        return [f"mcp_servers.{m.name}.models" for m in self if (SERVERS_DIR / m.name / "models.py").is_file()]

    def migration_dirs(self) -> list[Path]:
        """Per-integration Alembic versions (``mcp_servers/<name>/migrations``), when it has any."""
        return [d for m in self if (d := SERVERS_DIR / m.name / "migrations").is_dir()]


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value
