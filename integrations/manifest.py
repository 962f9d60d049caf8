"""An integration's manifest: everything the rest of Aegis knows about it, as typed data.

The manifest is ``mcp_servers/<name>/manifest.yaml``, reviewed and committed with the integration.
Nothing a server says at run time changes it. The broker identity, the tool registry and pins, the
call scopes, the jobs and their grants, the console's connect flow, panels and briefing sections
are all derived from it (:mod:`integrations.catalog`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from integrations.health import PREFERABLE
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
    (``sync_calendar``); the owner's default schedule is the first installed one's. ``inputs`` maps
    an argument of the job's tool to a figure another integration ``provides`` (by the figure's
    name, never the other integration's): when no installed integration provides it, or reading it
    fails, the argument is left out and the job runs without it."""

    job: str = Field(pattern=r"^[a-z][a-z0-9_]{1,47}$")
    tool: str
    schedule: dict[str, Any]
    grant: tuple[str, ...]
    inputs: dict[str, str] = Field(default_factory=dict)


class MailAnalysis(_Strict):
    """Mail analysis by the model (``agent.mail_analysis``): after each run of this integration's job
    ``after`` (its mail sync), when a model is configured, the core reads the messages the model has
    not analysed yet with ``pending`` (a READ tool answering ``{"messages": [{id, from, to, cc,
    subject, text, sent_by_owner}]}``), asks the model about each one with no tools, and writes the
    validated results back with ``record`` (an ADMIN tool: the model can never call it)."""

    after: str
    pending: str
    record: str


class Provides(_Strict):
    """A figure this integration offers other integrations' jobs (``active_energy_kcal``): one of its
    READ tools with its arguments (date placeholders as in views), the result's list, the numeric
    key of each element and how the elements become one number. ``key`` (e.g. ``date``) names what
    makes two providers' elements the same (one day): with several installed providers, the larger
    value of such elements is kept, not both (a phone and a watch count the same activity)."""

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    list: str
    value: str
    reduce: Literal["mean", "sum", "last"] = "mean"
    key: str | None = None


class Push(_Strict):
    """A push integration's ingest route: the device posts to ``path`` (``/ingest/<name>``) with its own
    per-device token (never the owner's session). ``router`` is ``module:function`` inside the
    integration's package; the console calls it as ``function(broker=, forward=, audit=, max_bytes=)``
    and mounts the one route it returns. ``tool`` is the ADMIN tool a batch is forwarded to; its scope is
    the only one a device token may hold."""

    path: str = Field(pattern=r"^/ingest/[a-z][a-z0-9_]{1,31}$")
    router: str = Field(pattern=r"^[a-z_][a-z0-9_.]*:[a-z_][a-z0-9_]*$")
    tool: str
    max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, le=32 * 1024 * 1024)


class Upload(_Strict):
    """A file the owner uploads from the console in pieces (a years-long export), handed to the ADMIN
    ``tool`` as they arrive: ``tool(upload=<32 hex>, offset=, data=<base64>, last=)``."""

    tool: str
    accept: str = Field(pattern=r"^\.[a-z0-9]{1,8}$")  # the file name's ending, e.g. ".xml"
    label: str


class Connect(_Strict):
    """How the owner connects it, and how the console tells that it is connected.

    kinds: ``oauth`` (authorization code with PKCE through a provider the console configures, or run
    by the integration's own server when it names an ``authorize_tool``),
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
    pair_tool: str | None = None  # qr: an ADMIN tool answering {state, connected, headline, detail, qr, code, problem}
    pair_code_tool: str | None = None  # qr: an ADMIN tool taking {phone_number}, answering {code}
    # OAuth run by the integration's own server (it holds the vendor's application key, which the
    # console cannot read): ADMIN tools taking {redirect_uri, state} -> {url}, and {code, redirect_uri}
    # -> {stored}; the server redeems the code and writes the token to the vault itself.
    authorize_tool: str | None = None
    redeem_tool: str | None = None
    sandbox_tool: str | None = None  # the demo profile's one-click connect (ADMIN, demo only)
    disconnect_tool: str | None = None  # revokes at the vendor, deletes and purges (ADMIN)
    vendor_grant: bool = True  # False: the vendor keeps no grant to revoke (a pasted token, a local API)
    # "Needs attention": a READ tool answering {"attention": [{reason, detail, since, snapshot_id}],
    # "mode", "synced_at"}; the integrations page and the briefing show an open entry with its reason.
    status_tool: str | None = None
    snapshot_tool: str | None = None  # ADMIN: the encrypted page snapshot a run stopped at, for the owner
    modes: dict[str, str] = Field(default_factory=dict)  # how it reads the vendor: mode -> plain words
    instructions: str = ""  # plain words for the owner: what connecting needs
    push: Push | None = None  # kind push: the device's ingest route
    upload: Upload | None = None  # a file uploaded in pieces from the console (a backfill)
    steps: dict[str, tuple[str, ...]] = Field(default_factory=dict)  # route title -> exact steps for the owner

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
        own_server = self.authorize_tool is not None  # its own server runs the OAuth: no console provider
        if self.kind == "oauth" and not own_server and not (self.provider and self.credential and self.oauth_scopes):
            raise ValueError("oauth needs provider, credential and oauth_scopes (or authorize_tool and redeem_tool)")
        if self.kind == "widget" and not (self.start_tool and self.finish_tool and self.finish_field):
            raise ValueError("widget needs start_tool, finish_tool and finish_field")
        if (self.authorize_tool is None) != (self.redeem_tool is None):
            raise ValueError("authorize_tool and redeem_tool go together")
        if self.kind == "qr" and not self.pair_tool:
            raise ValueError("qr needs pair_tool")
        if (self.kind == "push") != (self.push is not None):
            raise ValueError("push (the ingest route) goes with kind push, and kind push needs it")
        return self


class Sidecar(_Strict):
    """A helper process ``aegis up`` runs and supervises beside the integration's MCP server (e.g. a
    bridge to a vendor's web app). ``factory`` is ``module:function`` in the integration's own
    ``tools/<name>/`` or ``mcp_servers/<name>/`` package: it takes :class:`tools.sidecar.SidecarSettings`
    and returns a :class:`tools.sidecar.SidecarSpec`, or raises :class:`tools.sidecar.SidecarUnavailable`
    saying what is missing."""

    title: str  # the owner's words for it ("the bridge to the vendor's web app")
    factory: str = Field(pattern=r"^(tools|mcp_servers)\.[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*:[a-z][a-z0-9_]*$")
    # In production the helper runs in its own container: these variables of the console's
    # environment (where to reach it, never a secret) are handed to the integration's server.
    deployed_env: tuple[Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{2,63}$")], ...] = ()

    @field_validator("deployed_env")
    @classmethod
    def _not_aegis_settings(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        if any(n.startswith("AEGIS_") for n in names):
            raise ValueError("deployed_env cannot hand Aegis's own settings to a server")
        return names


class HealthSource(_Strict):
    """A health integration's part in the health page: its READ ``tool`` answering the summary
    contract of :mod:`integrations.health`, and the metrics where it wins over other sources."""

    tool: str
    prefer: tuple[str, ...] = ()

    @field_validator("prefer")
    @classmethod
    def _prefer(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [m for m in v if m not in PREFERABLE]
        if bad:
            raise ValueError(f"unknown health metrics {bad}; known: {PREFERABLE}")
        return v


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
    # Panels with the same merge key, from any integrations, show as one panel (the first's title):
    # e.g. every calendar's agenda in one list, conflicts marked (``render.start``/``render.end``).
    merge: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{1,31}$")


class NetWorthSource(_Strict):
    """This integration's part of the owner's net worth (:mod:`integrations.money`): a READ ``tool``
    taking ``start_date`` and ``end_date`` and answering the contribution contract (``connected``,
    ``days`` of ``date``, ``assets``, ``liabilities`` and masked ``accounts``), and the owner's
    words for the part (``Banks and cards``), which the chart and the briefing show."""

    tool: str
    part: str = Field(min_length=1, max_length=40)


class ContentChannel(_Strict):
    """A network the content engine drafts one post a day for (:mod:`agent.content`).

    ``post`` publishes exactly the approved text (an always-approve, step-up EGRESS tool to the
    public taking ``text``; its result names the post's ``id_field`` and ``url_field``); ``measure``
    (READ, taking ``text``) answers ``{"length", "limit"}`` by the network's own counting rules;
    ``posts`` (READ, taking ``limit``) answers ``{"posts": [{<id_field>, text, <url_field>, ...}]}``,
    the owner's published posts (style examples and the near-duplicate check); ``metrics`` (READ,
    optional, taking ``ids``) answers ``{"posts": [{id, metrics: {name: count}}]}``."""

    network: str = Field(min_length=1, max_length=40)  # the owner's words for the network
    post: str
    measure: str
    posts: str
    metrics: str | None = None
    id_field: str = "id"
    url_field: str = "url"
    guidance: str = Field(default="", max_length=400)  # what a good post on this network looks like


class ContentInput(_Strict):
    """Something the content engine may draft from besides the owner's own posts (:mod:`agent.content`):
    a READ ``tool`` with its ``args`` (date placeholders as in views), the result's ``list``, and each
    item's ``title``, ``text`` and ``url`` fields. ``kind``: ``news`` (written by others) or
    ``activity`` (the owner's public activity). The result's label travels with the draft: a private
    one makes the gateway refuse the draft."""

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    list: str
    title: str = "title"
    text: str = "summary"
    url: str = "url"
    kind: Literal["news", "activity"] = "news"


class Page(_Strict):
    """A console page of the integration at ``/integrations/<name>/pages/<id>``: a READ tool's
    document (``title``, ``subtitle``, ``sections`` of ``heading``, ``columns``, ``rows``,
    ``note``), rendered by the core, printable. ``query`` maps tool arguments to the page's query
    parameters (the tool's own schema validates them)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")
    title: str
    tool: str
    query: dict[str, str] = Field(default_factory=dict)


class SettingField(_Strict):
    """One field of the owner's settings form: ``list`` is comma-separated words, ``bool`` a checkbox;
    an ``optional`` number may be left blank."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    label: str
    kind: Literal["number", "integer", "text", "list", "bool"]
    help: str = ""
    optional: bool = False


class SettingsForm(_Strict):
    """The owner's settings for the integration, edited at ``/integrations/<name>/settings``: read
    with a READ tool (its result's ``settings``), saved with an ADMIN tool (argument ``values``).
    ``step_up``: saving needs a fresh authenticator code (limits on money, say); ``money``: the form
    is also on the money page."""

    read: str
    save: str
    fields: tuple[SettingField, ...]
    title: str = ""
    step_up: bool = False
    money: bool = False


def _check_content(c: ContentChannel, tools: Mapping[str, Tool]) -> None:
    entry = tools[c.post].entry
    if not (
        tools[c.post].cls == "EGRESS"
        and entry.get("audience") == "PUBLIC"
        and entry.get("always_approve")
        and entry.get("step_up")
    ):
        raise ValueError("content: post must be an always-approve, step-up EGRESS tool to the PUBLIC audience")
    for name in (c.measure, c.posts, c.metrics):
        if name and tools[name].cls != "READ":
            raise ValueError(f"content: {name} must be a READ tool")


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
    pages: tuple[Page, ...] = ()
    provides: dict[str, Provides] = Field(default_factory=dict)  # figure name -> how to read it
    settings: SettingsForm | None = None
    money: tuple[View, ...] = ()  # the money page: finance integrations' sections (net worth, holdings...)
    vendor_token_patterns: tuple[str, ...] = ()  # regexes for this vendor's credentials (secret scanner)
    # A READ tool taking (start, end, include_overdue) and answering {"assignments": [...]} in the common
    # deadline shape (name, course, due_at, due, status, source...): the core merges every source's.
    deadlines: str | None = None
    # Meeting prep (integrations.prep): a calendar's READ tool answering {"events": [...]} for a day, and
    # a mailbox's READ tool answering {"threads": [...]} with some people; the core merges them.
    meetings: str | None = None
    mail_threads: str | None = None
    mail_analysis: MailAnalysis | None = None
    # Events to attend (integrations.fit): a READ tool taking ``days`` and ``limit`` and answering
    # {"events": [...]} with title, start, end, all_day; the core checks each against every calendar.
    event_suggestions: str | None = None
    channels: dict[str, str] = Field(default_factory=dict)  # result channel -> plain words ("an email")
    sidecar: Sidecar | None = None  # a helper process aegis up runs beside the server
    health: HealthSource | None = None  # its figures on the health page (integrations.health)
    net_worth: NetWorthSource | None = None  # its part of the owner's net worth (integrations.money)
    content: ContentChannel | None = None  # a network the content engine drafts for (agent.content)
    content_inputs: tuple[ContentInput, ...] = ()  # what the content engine may draft from (agent.content)

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
        named += [self.health.tool] if self.health else []
        named += [self.net_worth.tool] if self.net_worth else []
        c = self.content
        named += [t for t in (c.post, c.measure, c.posts, c.metrics) if t] if c else []
        named += [i.tool for i in self.content_inputs]
        named += [
            t
            for t in (
                self.connect.start_tool,
                self.connect.finish_tool,
                self.connect.sandbox_tool,
                self.connect.disconnect_tool,
                self.connect.pair_tool,
                self.connect.pair_code_tool,
                self.connect.status_tool,
                self.connect.snapshot_tool,
                self.connect.authorize_tool,
                self.connect.redeem_tool,
                self.deadlines,
                self.meetings,
                self.mail_threads,
                self.mail_analysis.pending if self.mail_analysis else None,
                self.mail_analysis.record if self.mail_analysis else None,
                self.event_suggestions,
                self.connect.push.tool if self.connect.push else None,
                self.connect.upload.tool if self.connect.upload else None,
            )
            if t
        ]
        if self.sidecar is not None:
            package = self.sidecar.factory.split(":", 1)[0].split(".")
            if package[1] != self.name:
                raise ValueError(f"the sidecar factory must be in tools.{self.name} or mcp_servers.{self.name}")
        named += [p.tool for p in self.provides.values()]
        named += [p.tool for p in self.pages] + ([self.settings.read, self.settings.save] if self.settings else [])
        missing = sorted({t for t in named if t not in self.tools})
        if missing:
            raise ValueError(f"names tools it does not declare: {missing}")
        for view in self.views:
            if self.tools[view.tool].cls != "READ":
                raise ValueError(f"{view.id}: panels and briefing sections read through READ tools only")
        for figure, source in self.provides.items():
            if not NAME.match(figure) or self.tools[source.tool].cls != "READ":
                raise ValueError(f"provides {figure}: a lowercase name, read through a READ tool")
        for page in self.pages:
            if self.tools[page.tool].cls != "READ":
                raise ValueError(f"page {page.id}: pages read through READ tools only")
        if self.settings and (self.tools[self.settings.read].cls, self.tools[self.settings.save].cls) != (
            "READ",
            "ADMIN",
        ):
            raise ValueError("settings: read is a READ tool and save an ADMIN (console-only) tool")
        if self.tools[self.connect.probe].cls != "READ":
            raise ValueError("the connect probe must be a READ tool")
        core = (self.connect.status_tool, self.deadlines, self.meetings, self.mail_threads, self.event_suggestions)
        for name in core:
            if name and self.tools[name].cls != "READ":
                raise ValueError(f"{name}: tools the core merges (status, deadlines, meetings...) must be READ tools")
        for name in (self.connect.snapshot_tool, self.connect.authorize_tool, self.connect.redeem_tool):
            if name and self.tools[name].cls != "ADMIN":
                raise ValueError(f"{name}: snapshot and authorize tools must be ADMIN (console only) tools")
        analysis = self.mail_analysis
        if analysis is not None:
            if (self.tools[analysis.pending].cls, self.tools[analysis.record].cls) != ("READ", "ADMIN"):
                raise ValueError("mail_analysis: pending is a READ tool and record an ADMIN (console-only) tool")
            if analysis.after not in {j.job for j in self.jobs}:
                raise ValueError(f"mail_analysis: after names a job it does not take part in: {analysis.after}")
        if self.health is not None and self.tools[self.health.tool].cls != "READ":
            raise ValueError("the health summary tool must be a READ tool")
        if self.net_worth is not None and self.tools[self.net_worth.tool].cls != "READ":
            raise ValueError("the net worth tool must be a READ tool")
        for given in self.content_inputs:
            if self.tools[given.tool].cls != "READ":
                raise ValueError(f"content_inputs: {given.tool} must be a READ tool")
        if c is not None:
            _check_content(c, self.tools)
        push = self.connect.push
        if push is not None:
            if push.path != f"/ingest/{self.name}":
                raise ValueError(f"the ingest route must be /ingest/{self.name}")
            if self.tools[push.tool].cls != "ADMIN":
                raise ValueError("the ingest tool must be ADMIN (console only)")
        if self.connect.upload is not None and self.tools[self.connect.upload.tool].cls != "ADMIN":
            raise ValueError("the upload tool must be ADMIN (console only)")
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
