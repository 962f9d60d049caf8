"""The operator-owned tool registry: the only source of tool classification.

Nothing a server says about itself is trusted: MCP ``annotations`` are ignored, and its tool
descriptions are kept for review only. The model sees the **operator-written** description.
Tools are namespaced ``server.tool`` (``server__tool`` for the model, whose tool names cannot
contain dots). A tool is callable only while its live definition matches the operator's pin.

Classes, and the issue's words they implement::

    read      -> READ          no side effect; results taint the context
    write     -> SIDE_EFFECT   changes state the owner sees (drafts, events, memory)
    egress    -> EGRESS        sends data to other people (mail, messages, posts)
                 EGRESS_READ   fetches from the outside world (the URL itself carries data)
    financial -> FINANCIAL     moves money (orders, checkouts)
    admin     -> ADMIN         console-only; the model can never call it

YAML schema (``registry.yaml``)::

    version: 1
    servers:                         # optional operator notes per server
      mail: {notes: "..."}
    egress:
      allowlists:                    # named lists: exact hosts or explicit "*.domain" wildcards
        news: [apnews.com, "*.bbc.co.uk"]
    tools:
      <server>.<tool>:
        class: READ|SIDE_EFFECT|EGRESS|EGRESS_READ|FINANCIAL|ADMIN      # required
        description: "..."           # required: what the model sees
        params: {arg: "..."}         # optional operator descriptions of arguments
        result: {channel: email, integrity: UNTRUSTED, conf: PRIVATE}   # labeller defaults
                                     #  service_fields: [id, sender]: fields of each result item the
                                     #  service itself writes (ids, senders, amounts, times), not text
                                     #  others wrote; their values are the service's record (see context)
        recipients: [to, cc]         # args naming who receives the data (P-F)
        data: [subject, body]        # args whose content leaves
        control_args: [symbol, qty]  # args that choose what happens (P-T, R7)
        url_arg: url                 # EGRESS_READ: the fetched URL
        allowlist: news              # EGRESS_READ: which named egress list applies
        audience: PUBLIC             # a public post: readers are everyone
        owner_only: true             # a sink only the owner can read (drafts, memory)
        third_party: true            # the server is someone else's: arguments are outgoing data (R5)
        always_approve: true         # R11
        step_up: true                # approval needs the console's step-up
        persists_label: true         # the executor must store the call's label with the data
        budget: {per_day: 30}        # R6: calls per day
        limits: {amount_arg: notional, max_amount: 1000, per_day_amount: 2000}  # R6 (money)
        preview: broker.preview_order  # FINANCIAL: a READ tool run with the same args before approval;
                                     #  its answer goes on the card, its refusal denies the call
        data_classes: [financial]    # optional: private classes its results hold (financial, health,
                                     #  messages, calendar); never sent on an injected request (R8)
        token_formats: {bank_token: "regex"}   # optional: the vendor's secret token formats (redaction)
    pins:                            # "sha256:<hex>" over (server, name, server description,
      mail.search: "sha256:..."      #  input_schema), canonical JSON; written by approve_pin()
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from agent.gateway.labels import Conf, Integrity
from integrations import Catalog

__all__ = [
    "LiveTool",
    "ModelTool",
    "PinReport",
    "Registry",
    "RegistryError",
    "ResultLabelling",
    "ToolClass",
    "ToolDef",
    "ToolSpec",
    "ToolStatus",
    "compute_pin",
]

DEFAULT_PATH = Path(__file__).with_name("registry.yaml")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,48}$")
_SPEC_KEYS = frozenset(
    {
        "class",
        "description",
        "params",
        "result",
        "recipients",
        "data",
        "control_args",
        "url_arg",
        "allowlist",
        "audience",
        "owner_only",
        "third_party",
        "always_approve",
        "step_up",
        "persists_label",
        "budget",
        "limits",
        "data_classes",
        "token_formats",
        "preview",
    }
)


class RegistryError(ValueError):
    """The registry file is invalid."""


class ToolClass(Enum):
    READ = "READ"
    SIDE_EFFECT = "SIDE_EFFECT"
    EGRESS = "EGRESS"
    EGRESS_READ = "EGRESS_READ"
    FINANCIAL = "FINANCIAL"
    ADMIN = "ADMIN"


@dataclass(frozen=True, slots=True)
class ResultLabelling:
    channel: str = "tool"
    integrity: Integrity = Integrity.UNTRUSTED
    conf: Conf = Conf.PRIVATE
    service_fields: tuple[str, ...] = ()  # item fields the service writes itself (ids, senders, amounts)


@dataclass(frozen=True, slots=True)
class ToolSpec:
    server: str
    tool: str
    cls: ToolClass
    description: str
    params: Mapping[str, str] = field(default_factory=dict)
    result: ResultLabelling = ResultLabelling()
    recipients: tuple[str, ...] = ()
    data: tuple[str, ...] = ()
    control_args: tuple[str, ...] = ()
    url_arg: str | None = None
    allowlist: str | None = None
    audience_public: bool = False
    owner_only: bool = False
    third_party: bool = False  # its server is run by someone else: every argument leaves the system
    always_approve: bool = False
    step_up: bool = False
    persists_label: bool = False
    per_day: int | None = None
    amount_arg: str | None = None
    max_amount: float | None = None
    per_day_amount: float | None = None
    # Optional facts a per-integration manifest may declare (safe defaults when absent):
    token_formats: tuple[tuple[str, str], ...] = ()  # (kind, regex) of the vendor's secret tokens
    data_classes: tuple[str, ...] = ()  # private classes its results hold (financial, health, messages, calendar)
    preview: str | None = None  # a READ tool of the same server, same args: its facts go on the approval card

    @property
    def name(self) -> str:
        return f"{self.server}.{self.tool}"

    @property
    def model_name(self) -> str:
        return f"{self.server}__{self.tool}"

    @property
    def consequential(self) -> bool:
        return self.cls in (ToolClass.SIDE_EFFECT, ToolClass.EGRESS, ToolClass.FINANCIAL)


@dataclass(frozen=True, slots=True)
class ToolDef:
    """A tool definition as a server supplied it (from ``tools/list``). Never trusted."""

    name: str
    description: str
    input_schema: Mapping[str, Any]
    annotations: Mapping[str, Any] | None = None  # kept for review; ignored for policy


def compute_pin(server: str, tool: ToolDef) -> str:
    payload = [server, tool.name, tool.description, tool.input_schema]
    canon = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canon.encode("utf-8")).hexdigest()


class ToolStatus(Enum):
    APPROVED = "approved"
    UNKNOWN = "unknown"  # not in the registry
    UNPINNED = "unpinned"  # in the registry, never approved
    CHANGED = "changed"  # pin mismatch: refused until re-approved (rug pull)
    REJECTED = "rejected"  # duplicate name, bad name, or shadowing another server's tools


@dataclass(frozen=True, slots=True)
class PinReport:
    server: str
    status: Mapping[str, ToolStatus]
    reasons: Mapping[str, str]

    def names(self, status: ToolStatus) -> list[str]:
        return sorted(n for n, s in self.status.items() if s is status)

    @property
    def approved(self) -> list[str]:
        return self.names(ToolStatus.APPROVED)


@dataclass(frozen=True, slots=True)
class LiveTool:
    spec: ToolSpec
    definition: ToolDef
    pin: str


@dataclass(frozen=True, slots=True)
class ModelTool:
    """What the model is shown for one tool: operator text only."""

    name: str
    description: str
    input_schema: Mapping[str, Any]


def _strip_text(schema: Any, params: Mapping[str, str] | None = None) -> Any:
    """Drop server-written prose (title/description/examples) from a schema; add operator text."""
    if isinstance(schema, Mapping):
        out = {k: _strip_text(v) for k, v in schema.items() if k not in ("title", "description", "examples")}
        if params and isinstance(out.get("properties"), dict):
            for arg, text in params.items():
                if isinstance(out["properties"].get(arg), dict):
                    out["properties"][arg] = {**out["properties"][arg], "description": text}
        return out
    if isinstance(schema, list):
        return [_strip_text(v) for v in schema]
    return schema


def _names(v: Any, key: str, where: str) -> tuple[str, ...]:
    if v is None:
        return ()
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise RegistryError(f"{where}: {key} must be a list of names")
    return tuple(v)


def _spec(name: str, raw: Any, allowlists: Mapping[str, Sequence[str]]) -> ToolSpec:
    if not isinstance(raw, Mapping):
        raise RegistryError(f"{name}: entry must be a mapping")
    unknown = set(raw) - _SPEC_KEYS
    if unknown:
        raise RegistryError(f"{name}: unknown keys {sorted(unknown)}")
    server, _, tool = name.partition(".")
    if not (_NAME.match(server) and _NAME.match(tool)) or "__" in server:
        raise RegistryError(f"{name}: tools are named <server>.<tool> with [A-Za-z0-9_-]")
    try:
        cls = ToolClass(str(raw["class"]))
    except (KeyError, ValueError) as exc:
        raise RegistryError(f"{name}: missing or unknown class") from exc
    desc = raw.get("description")
    if not isinstance(desc, str) or not desc.strip():
        raise RegistryError(f"{name}: an operator description is required")
    res = raw.get("result") or {}
    try:
        result = ResultLabelling(
            channel=str(res.get("channel", server)),
            integrity=Integrity[str(res.get("integrity", "UNTRUSTED"))],
            conf=Conf[str(res.get("conf", "PRIVATE"))],
            service_fields=_names(res.get("service_fields"), "service_fields", name),
        )
    except KeyError as exc:
        raise RegistryError(f"{name}: bad result labelling {exc}") from exc
    budget = raw.get("budget") or {}
    limits = raw.get("limits") or {}
    spec = ToolSpec(
        server=server,
        tool=tool,
        cls=cls,
        description=desc.strip(),
        params=dict(raw.get("params") or {}),
        result=result,
        recipients=_names(raw.get("recipients"), "recipients", name),
        data=_names(raw.get("data"), "data", name),
        control_args=_names(raw.get("control_args"), "control_args", name),
        url_arg=raw.get("url_arg"),
        allowlist=raw.get("allowlist"),
        audience_public=raw.get("audience") == "PUBLIC",
        owner_only=bool(raw.get("owner_only", False)),
        third_party=bool(raw.get("third_party", False)),
        always_approve=bool(raw.get("always_approve", False)),
        step_up=bool(raw.get("step_up", False)),
        persists_label=bool(raw.get("persists_label", False)),
        per_day=None if budget.get("per_day") is None else int(budget["per_day"]),
        amount_arg=limits.get("amount_arg"),
        max_amount=None if limits.get("max_amount") is None else float(limits["max_amount"]),
        per_day_amount=None if limits.get("per_day_amount") is None else float(limits["per_day_amount"]),
        data_classes=_names(raw.get("data_classes"), "data_classes", name),
        token_formats=tuple((str(k), str(v)) for k, v in (raw.get("token_formats") or {}).items()),
        preview=raw.get("preview"),
    )
    if spec.preview is not None and not str(spec.preview).startswith(f"{server}."):
        raise RegistryError(f"{name}: preview must be a tool of the same server")
    if cls is ToolClass.EGRESS_READ and (not spec.url_arg or spec.allowlist not in allowlists):
        raise RegistryError(f"{name}: EGRESS_READ needs url_arg and a known allowlist")
    if cls is ToolClass.FINANCIAL and not spec.control_args:
        raise RegistryError(f"{name}: FINANCIAL needs control_args")
    if cls is ToolClass.EGRESS and not (spec.recipients or spec.audience_public):
        raise RegistryError(f"{name}: EGRESS needs recipients or audience: PUBLIC")
    return spec


def registry_data(
    path: Path = DEFAULT_PATH,
    pins: Path | None = None,
    *,
    catalog: Catalog | None = None,
    extra_tools: Mapping[str, Any] | None = None,
    demo: bool = True,
) -> dict[str, Any]:
    """The registry as one mapping (see :meth:`Registry.load`)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise RegistryError(f"{path}: expected a mapping")
    cat = catalog if catalog is not None else Catalog.load()
    tools: dict[str, Any] = dict(data.get("tools") or {})
    approved: dict[str, Any] = dict(data.get("pins") or {})
    for name, entry in cat.registry_tools(demo=demo).items():
        if name in tools:
            raise RegistryError(f"duplicate tool {name}")
        tools[name] = entry
    for name, entry in (extra_tools or {}).items():
        tools.setdefault(name, entry)  # an installed integration's own entry wins over a simulated one
    if pins is None:
        approved |= cat.pins()
    elif pins.exists():
        extra = (yaml.safe_load(pins.read_text(encoding="utf-8")) or {}).get("pins") or {}
        if not isinstance(extra, Mapping):
            raise RegistryError(f"{pins}: pins must map tool names to 'sha256:<hex>'")
        approved |= dict(extra)
    return {**data, "tools": tools, "pins": approved}


class Registry:
    """Operator-owned tool classification, pins, and the live (approved) tool definitions."""

    def __init__(
        self,
        specs: Iterable[ToolSpec],
        *,
        allowlists: Mapping[str, Sequence[str]] | None = None,
        pins: Mapping[str, str] | None = None,
    ) -> None:
        self._specs: dict[str, ToolSpec] = {}
        self._mentions: dict[str, re.Pattern[str]] = {}  # a tool's name form -> its mention pattern
        for s in specs:
            if s.name in self._specs:
                raise RegistryError(f"duplicate tool {s.name}")
            self._specs[s.name] = s
        self.allowlists: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in (allowlists or {}).items()}
        self._pins: dict[str, str] = dict(pins or {})
        self._live: dict[str, LiveTool] = {}

    def data_classes_of(self, tool: str) -> tuple[str, ...]:
        spec = self._specs.get(tool)
        return spec.data_classes if spec is not None else ()

    def token_formats(self) -> tuple[tuple[str, str], ...]:
        """Every vendor token format the tools' integrations declare, once each."""
        return tuple(dict.fromkeys(f for s in self._specs.values() for f in s.token_formats))

    # -- loading --------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Any) -> Registry:
        if not isinstance(data, Mapping) or data.get("version") != 1:
            raise RegistryError("registry: expected a mapping with version: 1")
        egress = data.get("egress") or {}
        allowlists = egress.get("allowlists") or {}
        if not isinstance(allowlists, Mapping):
            raise RegistryError("egress.allowlists must be a mapping")
        tools = data.get("tools") or {}
        if not isinstance(tools, Mapping):
            raise RegistryError("tools must be a mapping")
        specs = [_spec(str(name), raw, allowlists) for name, raw in tools.items()]
        pins = data.get("pins") or {}
        if not isinstance(pins, Mapping) or not all(str(v).startswith("sha256:") for v in pins.values()):
            raise RegistryError("pins must map tool names to 'sha256:<hex>'")
        return cls(specs, allowlists=allowlists, pins={str(k): str(v) for k, v in pins.items()})

    @classmethod
    def from_yaml(cls, text: str) -> Registry:
        return cls.from_dict(yaml.safe_load(text))

    @classmethod
    def load(
        cls,
        path: Path = DEFAULT_PATH,
        pins: Path | None = None,
        *,
        catalog: Catalog | None = None,
        extra_tools: Mapping[str, Any] | None = None,
        demo: bool = True,
    ) -> Registry:
        """The core registry file merged with every installed integration's manifest entries and pins
        (:mod:`integrations`), plus ``extra_tools`` (the adversarial suite's simulated world).
        ``pins`` names a pins file that replaces the manifests' pins (tests reason without them)."""
        return cls.from_dict(registry_data(path, pins, catalog=catalog, extra_tools=extra_tools, demo=demo))

    def spec(self, name: str) -> ToolSpec | None:
        return self._specs.get(self.resolve(name) or "")

    def resolve(self, name: str) -> str | None:
        """Map a model-facing ``server__tool`` (or a qualified ``server.tool``) to the qualified name."""
        if name in self._specs:
            return name
        server, sep, tool = name.partition("__")
        qualified = f"{server}.{tool}"
        return qualified if sep and qualified in self._specs else None

    def live(self, name: str) -> LiveTool | None:
        """The approved live definition, or None (unknown, unpinned, changed or not yet listed)."""
        q = self.resolve(name)
        return None if q is None else self._live.get(q)

    def specs(self) -> list[ToolSpec]:
        return list(self._specs.values())

    @property
    def pins(self) -> dict[str, str]:
        return dict(self._pins)

    def pins_yaml(self) -> str:
        return yaml.safe_dump({"pins": dict(sorted(self._pins.items()))}, sort_keys=True)

    def model_tools(self) -> list[ModelTool]:
        """The approved tools as the model sees them: operator descriptions, no ADMIN tools."""
        return [
            ModelTool(t.spec.model_name, t.spec.description, _strip_text(t.definition.input_schema, t.spec.params))
            for name, t in sorted(self._live.items())
            if t.spec.cls is not ToolClass.ADMIN
        ]

    # -- pins -----------------------------------------------------------------------------------

    def _shadowing(self, server: str, tool: ToolDef) -> str | None:
        text = tool.description.casefold()
        for other in self._specs.values():
            if other.server == server:
                continue
            forms = [f"{other.server}.{other.tool}", f"{other.server}__{other.tool}", f"{other.server}_{other.tool}"]
            if "_" in other.tool and len(other.tool) >= 6 and other.tool != tool.name:
                forms.append(other.tool)
            for form in forms:
                folded = form.casefold()
                if folded in text and self._mention(folded).search(text):
                    return f"description references another server's tool {other.name}"
        return None

    def _mention(self, folded: str) -> re.Pattern[str]:
        """The compiled pattern of a whole-word mention of ``folded``, kept: a registry holds more
        forms than Python's own pattern cache, which made every pin check recompile them all."""
        pattern = self._mentions.get(folded)
        if pattern is None:
            pattern = self._mentions[folded] = re.compile(rf"(?<![\w.]){re.escape(folded)}(?!\w)")
        return pattern

    def check(self, server: str, tool_defs: Sequence[ToolDef]) -> PinReport:
        """Classify a server's ``tools/list`` and make exactly the approved tools live.

        Call it on every ``tools/list``: a definition that changed since approval is disabled
        until :meth:`approve_pin` is called for the new definition.
        """
        status: dict[str, ToolStatus] = {}
        reasons: dict[str, str] = {}
        counts: dict[str, int] = {}
        for d in tool_defs:
            counts[d.name] = counts.get(d.name, 0) + 1
        for q in [q for q, t in self._live.items() if t.spec.server == server]:
            del self._live[q]
        for d in tool_defs:
            q = f"{server}.{d.name}"
            if counts[d.name] > 1:
                status[d.name], reasons[d.name] = ToolStatus.REJECTED, "duplicate tool name"
                continue
            if not _NAME.match(d.name) or "__" in d.name:
                status[d.name], reasons[d.name] = ToolStatus.REJECTED, "invalid tool name"
                continue
            shadow = self._shadowing(server, d)
            if shadow:
                status[d.name], reasons[d.name] = ToolStatus.REJECTED, shadow
                continue
            spec = self._specs.get(q)
            if spec is None:
                status[d.name], reasons[d.name] = ToolStatus.UNKNOWN, "not in the operator registry"
                continue
            pin = compute_pin(server, d)
            expected = self._pins.get(q)
            if expected is None:
                status[d.name], reasons[d.name] = ToolStatus.UNPINNED, "never approved"
            elif expected != pin:
                status[d.name], reasons[d.name] = ToolStatus.CHANGED, "definition changed since approval"
            else:
                status[d.name], reasons[d.name] = ToolStatus.APPROVED, "pin matches"
                self._live[q] = LiveTool(spec, d, pin)
        return PinReport(server, status, reasons)

    def approve_pin(self, server: str, tool: ToolDef) -> str:
        """Operator (console) approval of a definition: pin it and make it live. Returns the pin."""
        q = f"{server}.{tool.name}"
        spec = self._specs.get(q)
        if spec is None:
            raise RegistryError(f"{q} is not in the registry")
        shadow = self._shadowing(server, tool)
        if shadow or not _NAME.match(tool.name):
            raise RegistryError(f"{q}: {shadow or 'invalid name'}")
        pin = compute_pin(server, tool)
        self._pins[q] = pin
        self._live[q] = LiveTool(spec, tool, pin)
        return pin
