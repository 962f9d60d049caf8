"""An integration's manifest: everything the rest of Aegis knows about it, as typed data.

The manifest is ``mcp_servers/<name>/manifest.yaml``, reviewed and committed with the integration.
Nothing a server says at run time changes it. The broker identity, the tool registry and pins, the
call scopes, the jobs and their grants, the console's connect flow, panels and briefing sections
are all derived from it (:mod:`integrations.catalog`).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from integrations.views import Render

NAME = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
SCOPE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
TOOL_CLASSES = ("READ", "SIDE_EFFECT", "EGRESS", "EGRESS_READ", "FINANCIAL", "ADMIN")


class ManifestError(ValueError):
    """A manifest is invalid; the message names the integration and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class BrokerIdentity(_Strict):
    """The server's broker principal (``mcp-<name>``): its ceiling and its data-key domain."""

    scopes: tuple[str, ...]
    data_domain: str = Field(pattern=r"^[a-z]{2,31}$")  # a data-key domain: lowercase letters
    secret_write: bool = False  # may store credentials under its own resource (e.g. after a link)
    console_scopes: tuple[str, ...] = ()  # scopes the console needs beyond the tools' (e.g. pairing)

    @field_validator("scopes", "console_scopes")
    @classmethod
    def _scopes(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [s for s in v if not SCOPE.match(s)]
        if bad:
            raise ValueError(f"bad scopes {bad}")
        return v


class Tool(_Strict):
    """One tool: its broker scope and its registry entry (the gateway's schema, see
    :mod:`agent.gateway.registry`). ``demo_only`` marks console tools that exist only in the demo
    profile (they are not pinned: the production server does not offer them)."""

    scope: str
    entry: dict[str, Any]
    demo_only: bool = False
    asks: str | None = None  # an approval card's plain words: "Aegis wants to <asks>" ("send this email")
    did: str | None = None  # a chat trace's plain words for a finished call ("Searched your mail")

    @field_validator("scope")
    @classmethod
    def _scope(cls, v: str) -> str:
        if not SCOPE.match(v):
            raise ValueError(f"bad scope {v!r}")
        return v

    @model_validator(mode="after")
    def _class(self) -> Tool:
        if self.entry.get("class") not in TOOL_CLASSES:
            raise ValueError(f"class must be one of {TOOL_CLASSES}")
        return self

    @property
    def cls(self) -> str:
        return str(self.entry["class"])


class Job(_Strict):
    """A recurring job this integration takes part in. Several integrations may share one job
    (``sync_calendar``); the owner's default schedule is the first installed one's."""

    job: str = Field(pattern=r"^[a-z][a-z0-9_]{1,47}$")
    tool: str
    schedule: dict[str, Any]
    grant: tuple[str, ...]


class Connect(_Strict):
    """How the owner connects it, and how the console tells that it is connected.

    kinds: ``oauth`` (authorization code with PKCE through a provider the console configures),
    ``widget`` (a vendor's own widget on a page of its own, e.g. a bank link), ``token`` (a pasted
    token), ``qr`` (pairing by QR code), ``login`` (stored login credentials for a browser-automation
    source), ``push`` (the device pushes to an ingest endpoint), ``none``.
    """

    kind: Literal["oauth", "widget", "token", "qr", "login", "push", "none"]
    probe: str  # a READ tool: it answers when the integration works
    connected_when: Literal["answers", "has_items"] = "answers"
    items_key: str | None = None  # with has_items: the probe result's list that must not be empty
    credential: str | None = None  # the vault secret the console writes on connect (None: the server does)
    provider: str | None = None  # oauth: the console's OAuth provider (e.g. "google")
    oauth_scopes: tuple[str, ...] = ()
    start_tool: str | None = None  # widget: an ADMIN tool giving the widget its start data
    finish_tool: str | None = None  # widget: an ADMIN tool taking the widget's result
    finish_field: str | None = None  # widget: the one field the widget posts back
    finish_pattern: str | None = None  # widget: its required shape (a regular expression)
    csp: dict[str, tuple[str, ...]] = Field(default_factory=dict)  # widget page: extra CSP sources
    sandbox_tool: str | None = None  # the demo profile's one-click connect (ADMIN, demo only)
    disconnect_tool: str | None = None  # revokes at the vendor, deletes and purges (ADMIN)
    vendor_grant: bool = True  # False: the vendor keeps no grant to revoke (a pasted token, a local API)
    instructions: str = ""  # plain words for the owner: what connecting needs

    def is_connected(self, probe_result: Any) -> bool:
        """Whether the probe's (successful) result means connected."""
        if self.connected_when == "answers":
            return True
        items = probe_result.get(self.items_key) if isinstance(probe_result, dict) else None
        return bool(items)

    @model_validator(mode="after")
    def _complete(self) -> Connect:
        if self.connected_when == "has_items" and not self.items_key:
            raise ValueError("connected_when: has_items needs items_key")
        if self.kind == "oauth" and not (self.provider and self.credential and self.oauth_scopes):
            raise ValueError("oauth needs provider, credential and oauth_scopes")
        if self.kind == "widget" and not (self.start_tool and self.finish_tool and self.finish_field):
            raise ValueError("widget needs start_tool, finish_tool and finish_field")
        return self


class View(_Strict):
    """A panel, a briefing section or a digest section: a READ tool's result rendered by the core
    (:mod:`integrations.views`). A panel and a briefing section with the same tool, arguments and
    render show the same thing."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")
    title: str
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    render: Render
    order: int = 100


class Manifest(_Strict):
    name: str
    title: str
    summary: str
    category: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")  # mail, finance, calendar... (for the owner)
    identity: BrokerIdentity
    tools: dict[str, Tool]
    jobs: tuple[Job, ...] = ()
    connect: Connect
    panels: tuple[View, ...] = ()
    briefing: tuple[View, ...] = ()
    digest: tuple[View, ...] = ()
    money: tuple[View, ...] = ()  # the money page: finance integrations' sections (net worth, holdings...)
    vendor_token_patterns: tuple[str, ...] = ()  # regexes for this vendor's credentials (secret scanner)
    channels: dict[str, str] = Field(default_factory=dict)  # result channel -> plain words ("an email")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME.match(v):
            raise ValueError(f"bad integration name {v!r}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        prefix = f"{self.name}."
        for tool in self.tools:
            if not tool.startswith(prefix):
                raise ValueError(f"tool {tool} must be named {prefix}<tool>")
        named = [self.connect.probe, *(j.tool for j in self.jobs), *(v.tool for v in self.views)]
        named += [
            t
            for t in (
                self.connect.start_tool,
                self.connect.finish_tool,
                self.connect.sandbox_tool,
                self.connect.disconnect_tool,
            )
            if t
        ]
        missing = sorted({t for t in named if t not in self.tools})
        if missing:
            raise ValueError(f"names tools it does not declare: {missing}")
        for view in self.views:
            if self.tools[view.tool].cls != "READ":
                raise ValueError(f"{view.id}: panels and briefing sections read through READ tools only")
        if self.tools[self.connect.probe].cls != "READ":
            raise ValueError("the connect probe must be a READ tool")
        for job in self.jobs:
            if not set(job.grant) <= {t.scope for t in self.tools.values()}:
                raise ValueError(f"job {job.job}: its grant names scopes no tool has")
        return self

    @property
    def views(self) -> tuple[View, ...]:
        return (*self.panels, *self.briefing, *self.digest, *self.money)

    @property
    def server(self) -> str:
        return self.name

    @property
    def principal(self) -> str:
        return f"mcp-{self.name}"

    @property
    def resource(self) -> str:
        return f"mcp:{self.name}"

    @property
    def module(self) -> str:
        return f"mcp_servers.{self.name}"

    def scope_of(self, tool: str) -> str | None:
        found = self.tools.get(tool)
        return None if found is None else found.scope

    def call_scopes(self) -> tuple[str, ...]:
        return tuple(sorted({t.scope for t in self.tools.values()}))
