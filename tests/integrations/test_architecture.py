"""An integration is one place: nothing outside its own folders names it.

Every tracked source, template, script, style and configuration file of the product is read. The
name of an installed integration may appear only in its own folders (``tools/<name>/``,
``mcp_servers/<name>/``, ``tests/tools/<name>/``, ``tests/mcp_servers/<name>/``) and in the one
list (``integrations/installed.py``). Adding an integration therefore touches its own folders and
one line.

Another integration's folders may mention the word as content (a device-usage source naming the
"Canvas" window title, say); what they may not do is reach into it: import its modules, call its
tools or use its broker identity or resource.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from integrations import Catalog, Manifest
from integrations.installed import INSTALLED

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("aegis", "agent", "broker", "integrations", "mcp_servers", "storage", "tools", "voice", "web")
SUFFIXES = {".py", ".html", ".js", ".css", ".yaml", ".yml", ".json", ".toml", ".sh", ".mako", ".webmanifest"}
# Places that may name integrations, each for a reason that is not "it was easier":
EXEMPT = {
    # Applied migration history: revisions that ran on real databases are never edited. New
    # integrations keep their tables in their own Alembic branch (mcp_servers/<name>/migrations).
    "storage/migrations/versions/0006_integrations.py": "history",
    # The adversarial suite's simulated world attacks tools by their names, like a test does.
    "agent/adversarial/": "test harness",
}


def _tracked() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", *PRODUCT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [p for p in out.stdout.splitlines() if Path(p).suffix in SUFFIXES and (ROOT / p).is_file()]


def _own(path: str, name: str) -> bool:
    return path == "integrations/installed.py" or any(
        path.startswith(prefix)
        for prefix in (f"tools/{name}/", f"mcp_servers/{name}/", f"tests/tools/{name}/", f"tests/mcp_servers/{name}/")
    )


def _exempt(path: str) -> bool:
    return any(path == e or (e.endswith("/") and path.startswith(e)) for e in EXEMPT)


def _other_integration(path: str) -> bool:
    return any(path.startswith((f"tools/{n}/", f"mcp_servers/{n}/")) for n in INSTALLED)


def _reach(name: str) -> re.Pattern[str]:
    """How code reaches an integration: its modules, its tools, its identity or resource."""
    n = re.escape(name)
    return re.compile(rf"(?:mcp_servers|tools)[./]{n}\b|[\"']{n}\.[a-z_]+[\"']|mcp[:-]{n}\b|/{n}/")


# Names that are also everyday words ("kept in process memory", an HTML canvas, the web fetch's
# "news" allow-list, a "news@" bulk sender): for these, only reaching in counts.
EVERYDAY_WORDS = frozenset({"memory", "canvas", "news"})
# Part of the agent itself, run as a server through the same plug-in machinery: the console's Memory
# page and chat citations are the console's own; the voice page stores the transcripts (core table
# voice_transcripts) that the transcripts server lets the agent search.
CORE_FEATURES = frozenset({"memory", "transcripts"})


@pytest.mark.parametrize("name", INSTALLED)
def test_no_module_outside_its_own_folders_names_the_integration(name: str) -> None:
    if name in CORE_FEATURES:
        pytest.skip(f"{name} is part of the agent itself")
    word = re.compile(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", re.IGNORECASE)
    reach = _reach(name)
    offenders = []
    for path in _tracked():
        if _own(path, name) or _exempt(path):
            continue
        pattern = reach if _other_integration(path) or name in EVERYDAY_WORDS else word
        for number, line in enumerate((ROOT / path).read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path}:{number}: {line.strip()[:100]}")
    assert offenders == [], f"{name} is named outside its own folders:\n" + "\n".join(offenders)


def test_the_scan_would_catch_a_mention(tmp_path: Path) -> None:
    """The check above reads real files: a stray mention in a core module is found."""
    word = re.compile(r"(?<![A-Za-z0-9])gmail(?![A-Za-z0-9])", re.IGNORECASE)
    assert word.search('SERVER_OF = {"mail": "gmail"}') and not word.search("mcp_gmailx = 1")
    assert "web/data.py" in _tracked() and not _exempt("web/data.py") and not _own("web/data.py", INSTALLED[0])
    reach = _reach("gmail")
    assert reach.search("from mcp_servers.gmail.store import MailStore") and reach.search('call("gmail.search")')
    assert reach.search('resource="mcp:gmail"') and not reach.search('("Mail", re.compile(r"gmail|outlook"))')


def test_an_integration_is_its_manifest_alone() -> None:
    """A new manifest (no code anywhere else) brings its identity, tools, jobs, panels and briefing."""
    raw = {
        "name": "weather",
        "title": "Weather",
        "summary": "Forecasts for where the owner is.",
        "category": "weather",
        "identity": {"scopes": ("datakeys.read", "secrets.read"), "data_domain": "social"},
        "tools": {
            "weather.sync": {"scope": "weather.read", "entry": {"class": "READ", "description": "Sync forecasts."}},
            "weather.today": {"scope": "weather.read", "entry": {"class": "READ", "description": "Today."}},
        },
        "jobs": (
            {"job": "sync_weather", "tool": "weather.sync", "schedule": {"every": "1h"}, "grant": ("weather.read",)},
        ),
        "connect": {"kind": "none", "probe": "weather.today"},
        "panels": ({"id": "today", "title": "Weather", "tool": "weather.today", "render": {"list": "hours"}},),
        "briefing": ({"id": "today", "title": "Weather", "tool": "weather.today", "render": {"list": "hours"}},),
    }
    extra = Manifest.model_validate(raw)
    catalog = Catalog([*Catalog.load(), extra])
    assert catalog.tool_scopes["weather.today"] == "weather.read"
    assert "weather.sync" in catalog.registry_tools()
    assert [m.integration for m in catalog.jobs["sync_weather"]] == ["weather"]
    assert catalog.default_schedule()["sync_weather"] == {"every": "1h"}
    assert ("weather", "today") in [(p.integration, p.view.id) for p in catalog.panels()]
    assert ("weather", "today") in [(p.integration, p.view.id) for p in catalog.briefing()]
    from aegis.identities import console_identity, server_identity

    assert "weather.read" in console_identity(catalog).scopes and "mcp:weather" in console_identity(catalog).resources
    assert server_identity(extra).resources == ("domain:chain", "domain:social", "mcp:weather")


# Dependencies point one way: web/voice -> agent -> MCP -> mcp_servers -> tools, storage under them.
# Leaves that import nothing above them may be shared: speech-to-text (a server transcribes a voice
# note with it) and the redacting log setup every process uses.
_UPWARD = re.compile(r"^\s*(?:from|import)\s+(agent|web|aegis|voice)(\.[\w.]+)?", re.M)
_LEAVES = {"voice.ports", "voice.transcription", "voice.decode", "voice.audio", "aegis.logs"}


def _upward_imports(text: str) -> list[str]:
    found = (m.group(1) + (m.group(2) or "") for m in _UPWARD.finditer(text))
    return [name for name in found if name not in _LEAVES]


def test_servers_and_clients_never_import_the_layers_above_them() -> None:
    files = [f for f in _tracked() if f.startswith(("tools/", "mcp_servers/")) and f.endswith(".py")]
    assert len(files) > 100
    upward = {f: found for f in files if (found := _upward_imports((ROOT / f).read_text()))}
    assert upward == {}
    assert not _upward_imports("from voice.transcription import local_transcriber")
    for line in ("from agent.gateway.egress import EgressGuard", "import web.app", "    from voice.loop import x"):
        assert _upward_imports(line), line
