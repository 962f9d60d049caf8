"""A content engine over the real gateway, approvals and desk, with the networks' reads faked: one
network ("linkedin", as the owner's post tool is pinned in the shipped registry) and the news."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any, cast
from zoneinfo import ZoneInfo

from agent.approval_store import DbApprovalStore
from agent.content.engine import ContentEngine
from agent.content.store import Draft, DraftStore
from agent.conversations import ConversationStore
from agent.gateway.approvals import ApprovalService
from agent.gateway.context import ContextLabel
from agent.gateway.gateway import ExecRequest, ToolGateway
from agent.gateway.labels import Conf, Integrity, Label, Source
from agent.gateway.policy import Policy, PolicyContext
from agent.gateway.redact import SecretScanner
from agent.gateway.registry import Registry
from agent.job_wiring import GatewayCalls
from agent.jobs import JobError
from agent.limits import Budget, MemoryLedger, Prices, TurnLimits
from agent.services import ApprovalDesk
from integrations import Catalog
from integrations.manifest import ContentChannel, ContentInput
from storage.audit import AuditEvent
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import DataKey, Keyring
from storage.db import Database
from tests.agent.gateway._fixtures import approved_registry, no_dns
from tools.egress import EgressGuard

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
DAY = date(2026, 12, 3)
LIMIT = 280
CHANNEL = ContentChannel(
    network="LinkedIn",
    post="linkedin.post",
    measure="linkedin.measure",
    posts="linkedin.posts",
    metrics="linkedin.metrics",
    guidance="Plain paragraphs; one idea.",
)
NEWS = ContentInput(tool="news.top_stories", args={"days": 1, "limit": 8}, list="stories")
STORY = {
    "id": "s1",
    "title": "City utility tests AI to balance the winter grid",
    "url": "https://www.harborlight.example/2026/city-grid-ai",
    "summary": "The pilot forecasts demand street by street and shifts heating loads before peaks.",
}
OLD_POST = "Most of what I learned about forecasting came from logging the misses, never the hits, for a year."
POSTED = {"id": "urn:li:share:7", "url": "https://www.linkedin.com/feed/update/urn:li:share:7"}


def news_label(conf: Conf = Conf.PUBLIC) -> Label:
    src = Source("news", "news", "top_stories", "story:s1", "www.harborlight.example", NOW)
    return Label.of(Integrity.UNTRUSTED, conf, sources=[src])


def cipher() -> FieldCipher:
    return FieldCipher(Keyring([DataKey(f"conversation.{p}.v1", os.urandom(32), "active") for p in ("enc", "idx")]))


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Reads:
    """The networks' READ tools as the gateway would answer them, each with its label."""

    stories: list[dict[str, Any]] = field(default_factory=lambda: [dict(STORY)])
    news_conf: Conf = Conf.PUBLIC
    posts_conf: Conf = Conf.PUBLIC  # the owner's own published posts are public (as the manifests say)
    posts: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"id": "p1", "text": OLD_POST, "url": "https://l.example/p1", "published_at": "2026-11-20"}
        ]
    )
    failing: set[str] = field(default_factory=set)
    log: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)

    def answer(self, tool: str, args: dict[str, Any]) -> tuple[Any, Label]:
        owner = Label.of(Integrity.OWNER, Conf.PUBLIC)
        if tool == "news.top_stories":
            return {"stories": self.stories}, news_label(self.news_conf)
        if tool == "linkedin.measure":
            return {"length": len(args["text"]), "limit": LIMIT}, owner
        if tool == "linkedin.posts":
            return {"posts": self.posts}, Label.of(Integrity.OWNER, self.posts_conf)
        if tool == "linkedin.metrics":
            return {"posts": [{"id": i, "metrics": {"likes": 3, "reposts": 1}} for i in args["ids"]]}, owner
        raise AssertionError(f"unexpected read {tool}")


@dataclass
class Calls:
    """Reads faked; ``hold`` through the real gateway (agent.job_wiring.GatewayCalls.hold)."""

    reads: Reads
    gateway_calls: GatewayCalls

    async def read(
        self, tool: str, args: dict[str, Any], *, session: str, token: str | None = None
    ) -> tuple[Any, Label | None]:
        self.reads.log.append((tool, dict(args), session))
        if tool in self.reads.failing:
            raise JobError(f"{tool} was error: down")
        return self.reads.answer(tool, args)

    async def hold(
        self, tool: str, args: dict[str, Any], *, session: str, labels: Any, request: str | None = None
    ) -> str:
        return await self.gateway_calls.hold(tool, args, session=session, labels=labels, request=request)


@dataclass
class Rig:
    engine: ContentEngine
    desk: ApprovalDesk
    approvals: ApprovalService
    reads: Reads
    clock: Clock
    executed: list[dict[str, Any]]
    audit: list[AuditEvent]

    async def draft(self, text: str, labels: tuple[Label, ...] = ()) -> Draft:
        view = self.engine.new_draft("linkedin", DAY, text)
        return await self.engine.add(Draft(view, labels or (news_label(),)), session="test")


@cache
def _registry() -> Registry:
    return approved_registry()  # read only here: one per module run


def build(db: Database, *, reads: Reads | None = None, tz: str = "UTC") -> Rig:
    clock, reads = Clock(), reads or Reads()
    registry = _registry()
    scanner = SecretScanner()
    egress = EgressGuard(registry.allowlists, resolver=no_dns)
    box = cipher()

    def context(sid: str) -> PolicyContext:
        return PolicyContext(
            context=ContextLabel(owner="owner", clock=clock),
            registry=registry,
            scanner=scanner,
            egress=egress,
            clock=clock,
            session_id=sid,
        )

    async def context_for(sid: str) -> PolicyContext:
        return context(sid)

    audit: list[AuditEvent] = []

    async def sink(event: AuditEvent) -> None:
        audit.append(event)

    store = DbApprovalStore(db, box)
    approvals = ApprovalService(store, b"k" * 32, clock=clock)
    executed: list[dict[str, Any]] = []

    async def execute(request: ExecRequest) -> Any:
        executed.append(dict(request.call.args))
        return dict(POSTED)

    gateway = ToolGateway(policy=Policy(), approvals=approvals, executor=execute, audit=sink)
    gateway_calls = GatewayCalls(cast(Any, None), Policy(), approvals, sink, context, None, Catalog([]))
    desk = ApprovalDesk(approvals, store, gateway, context_for, ConversationStore(db, box))
    engine = ContentEngine(
        DraftStore(db, box),
        Calls(reads, gateway_calls),
        [("linkedin", CHANNEL)],
        [("news", NEWS)],
        approvals=desk,
        timezone=ZoneInfo(tz),
        clock=clock,
    )
    desk.followers.append(engine)
    return Rig(engine, desk, approvals, reads, clock, executed, audit)


def budget(steps: int = 2, tokens: int = 40_000) -> Budget:
    limits = TurnLimits(max_steps=steps, max_tokens_per_turn=tokens, max_cost_per_turn=0.2)
    return Budget(limits, Prices(), MemoryLedger())


def after_slot(rig: Rig) -> None:
    rig.clock.now = datetime(2026, 12, 4, 0, 0, tzinfo=UTC) + timedelta(minutes=1)
