"""The content engine's service (:class:`agent.content.ports.ContentService`): the drafts' queue,
edits, publishing through the gateway, expiry, and what happens when the owner decides a card.

Publishing calls the network's ``post`` tool through the real gateway with exactly ``{"text":
<the draft's text>}``, in a context holding the labels of what the draft was drawn from. The post
tool always asks, with a step-up, so the call is held as an approval card and nothing is published
yet. When the owner approves the card, the approval desk runs the stored call once (the grant is
single use) and tells the engine (:meth:`ContentEngine.after_approval`), which keeps the post's id
and link, once. A draft not approved by its slot's end (the end of its day on the owner's clock)
expires, and its card is withdrawn, so it cannot run later.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import structlog

from agent.content.checks import PastText, failing, run_checks
from agent.content.ports import ContentError, ContentSettings, DraftStatus, DraftView
from agent.content.store import OPEN, Draft, DraftStore, past_of
from agent.gateway.approvals import ApprovalState, PendingApproval
from agent.gateway.content import refusal
from agent.gateway.gateway import GatewayResult, GatewayStatus
from agent.gateway.labels import Label
from agent.jobs.ports import JobError
from integrations.manifest import ContentChannel, ContentInput

log = structlog.get_logger("aegis.content")

DUPLICATE_DAYS = 60
POSTS_READ = 20
CONSOLE_SESSION = "content"
MAX_TEXT = 5000
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class ContentCalls(Protocol):
    """The gateway calls the engine makes (:class:`agent.job_wiring.GatewayCalls`)."""

    async def read(
        self, tool: str, args: dict[str, Any], *, session: str, token: str | None = None
    ) -> tuple[Any, Label | None]: ...

    async def hold(
        self, tool: str, args: dict[str, Any], *, session: str, labels: Sequence[Label], request: str | None = None
    ) -> str: ...


class Approvals(Protocol):
    """The approval desk (:class:`agent.services.ApprovalDesk`): read a card, withdraw it."""

    async def get(self, approval_id: str) -> PendingApproval | None: ...

    async def reject(self, approval_id: str, reason: str) -> None: ...


def slot_end(day: date, tz: ZoneInfo) -> datetime:
    """The end of ``day`` on the owner's clock, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)


@dataclass
class ContentEngine:
    store: DraftStore
    calls: ContentCalls
    channels: Sequence[tuple[str, ContentChannel]]
    inputs: Sequence[tuple[str, ContentInput]] = ()
    approvals: Approvals | None = None
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    demo: bool = False  # the demo profile: a day without drafts gets clearly marked demo drafts

    # -- what the page reads --------------------------------------------------------------------

    def networks(self) -> list[tuple[str, str]]:
        return [(name, c.network) for name, c in self.channels]

    def channel(self, integration: str) -> ContentChannel:
        found = dict(self.channels).get(integration)
        if found is None:
            raise ContentError(f"{integration} is not a network the engine drafts for")
        return found

    def today(self) -> date:
        return self.clock().astimezone(self.timezone).date()

    async def queue(self, *, days: int = 60) -> list[DraftView]:
        await self.tidy()
        if self.demo:
            from agent.content.daily import seed_demo  # the demo's drafts, through the same checks

            await seed_demo(self, self.today())
        drafts = [d.view for d in await self.store.listing(self.today() - timedelta(days=days))]
        return [d for d in drafts if d.open] + [d for d in drafts if not d.open]

    async def draft(self, draft_id: str) -> DraftView | None:
        found = await self.store.get(draft_id) if len(draft_id) <= 32 else None
        return None if found is None else found.view

    async def settings(self) -> ContentSettings:
        return await self.store.settings()

    async def save_settings(self, values: ContentSettings) -> ContentSettings:
        themes = tuple(t.strip() for t in values.themes if t.strip())
        hosts = tuple(dict.fromkeys(h.strip().lower().rstrip(".") for h in values.allowed_links if h.strip()))
        problems = []
        if len(themes) > 20 or any(len(t) > 200 for t in themes):
            problems.append("at most 20 themes of at most 200 characters each")
        if len(values.voice) > 1000:
            problems.append("describe your voice in at most 1,000 characters")
        bad = [h for h in hosts if not _HOST.match(h)]
        if bad:
            problems.append(f"not host names (like example.org): {', '.join(bad[:5])}")
        unknown = sorted(set(values.paused) - {n for n, _ in self.channels})
        if unknown:
            problems.append(f"not networks the engine drafts for: {', '.join(unknown)}")
        if problems:
            raise ContentError("; ".join(problems))
        clean = ContentSettings(themes, values.voice.strip(), hosts, tuple(values.paused), dict(values.extra))
        return await self.store.save_settings(clean)

    # -- checks ---------------------------------------------------------------------------------

    def _reader(self, session: str) -> Callable[[str, dict[str, Any]], Any]:
        async def call(tool: str, args: dict[str, Any]) -> Any:
            return (await self.calls.read(tool, args, session=session))[0]

        return call

    async def past(self, integration: str, *, session: str, exclude: str | None = None) -> list[PastText]:
        """The network's posts of the last 60 days and the other drafts a draft must not repeat."""
        out: list[PastText] = []
        since = self.today() - timedelta(days=DUPLICATE_DAYS)
        for post in await self.own_posts(integration, session=session):
            when = str(post.get("published_at") or post.get("created_at") or "")[:10]
            if when and when < since.isoformat():
                continue
            out.append(PastText(str(post.get("text") or ""), f"your post of {when}" if when else "one of your posts"))
        drafts = [d for d in await self.store.listing(since) if d.id != exclude]
        out += [PastText(text, what) for _, text, what in past_of(drafts)]
        return out

    async def own_posts(self, integration: str, *, session: str) -> list[dict[str, Any]]:
        """The owner's published posts on the network (newest first), or none when they cannot be read."""
        return (await self.own_posts_labelled(integration, session=session))[0]

    async def own_posts_labelled(self, integration: str, *, session: str) -> tuple[list[dict[str, Any]], Label | None]:
        """:meth:`own_posts` with the label the gateway gave them (a style example is an input too)."""
        try:
            found, label = await self.calls.read(
                self.channel(integration).posts, {"limit": POSTS_READ}, session=session
            )
        except JobError as exc:
            log.info("content.posts_unreadable", integration=integration, error=str(exc)[:120])
            return [], None
        posts = found.get("posts") if isinstance(found, dict) else None
        return [p for p in posts or [] if isinstance(p, dict) and isinstance(p.get("text"), str)], label

    async def checked(self, d: Draft, *, session: str) -> Draft:
        """The draft with every check run again and its status (ready or held) set from them."""
        channel = self.channel(d.view.integration)
        settings = await self.store.settings()
        past = await self.past(d.view.integration, session=session, exclude=d.id)
        checks, limit = await run_checks(
            d.view.text, measure=channel.measure, call=self._reader(session), past=past, allowed=settings.allowed_links
        )
        status: DraftStatus = "held" if failing(checks) else "ready"
        return d.with_view(checks=checks, limit=limit or d.view.limit, status=status)

    # -- owner actions --------------------------------------------------------------------------

    async def _open(self, draft_id: str) -> Draft:
        await self.tidy()
        d = await self.store.get(draft_id) if len(draft_id) <= 32 else None
        if d is None:
            raise ContentError("no such draft")
        if d.view.status == "refused":
            raise ContentError(d.view.refusal or "the gateway refused this draft")
        if d.view.status not in OPEN:
            raise ContentError(f"this draft is {d.view.status.replace('_', ' ')}: it can no longer change")
        return d

    async def _withdraw(self, d: Draft, reason: str) -> None:
        """Withdraw the draft's pending card (after the draft's new state is stored)."""
        aid = d.view.approval_id
        if aid is None or self.approvals is None:
            return
        pending = await self.approvals.get(aid)
        if pending is not None and pending.state is ApprovalState.PENDING:
            try:
                await self.approvals.reject(aid, reason)
            except Exception as exc:  # noqa: BLE001 - decided meanwhile: the draft's state already says so
                log.info("content.withdraw_failed", approval=aid, error=type(exc).__name__)

    async def edit(self, draft_id: str, text: str) -> DraftView:
        d = await self._open(draft_id)
        text = text.strip()
        if not text or len(text) > MAX_TEXT:
            raise ContentError(f"a post needs between 1 and {MAX_TEXT} characters")
        old = d.view.status
        new = await self.checked(d.with_view(text=text, edited=True, approval_id=None), session=CONSOLE_SESSION)
        if not await self.store.save(new, expect=old):
            raise ContentError("the draft changed meanwhile: reload it")
        await self._withdraw(d, "the draft was edited")
        return new.view

    async def publish(self, draft_id: str, *, session: str) -> str:
        d = await self._open(draft_id)
        if d.view.status == "awaiting_approval" and d.view.approval_id and self.approvals is not None:
            pending = await self.approvals.get(d.view.approval_id)
            if pending is not None and pending.state is ApprovalState.PENDING:
                return d.view.approval_id  # one card per draft
        why = refusal(d.labels)  # deterministic, and again at publishing time
        if why is not None:
            await self.store.save(d.with_view(status="refused", refusal=why), expect=d.view.status)
            raise ContentError(why)
        fresh = await self.checked(d, session=CONSOLE_SESSION)
        bad = failing(fresh.view.checks)
        if bad:
            await self.store.save(fresh, expect=d.view.status)
            raise ContentError("fix it first: " + "; ".join(f"{c.name}: {c.detail}" for c in bad))
        channel = self.channel(d.view.integration)
        try:
            asked = f"Publish my {channel.network} draft of {d.view.day.isoformat()}, as the Content page shows it."
            aid = await self.calls.hold(
                channel.post, {"text": fresh.view.text}, session=session[:36], labels=d.labels, request=asked
            )
        except JobError as exc:
            raise ContentError(f"the gateway did not hold it for approval: {exc}") from exc
        held = fresh.with_view(status="awaiting_approval", approval_id=aid)
        if not await self.store.save(held, expect=d.view.status):
            raise ContentError("the draft changed meanwhile: reload it")
        return aid

    async def discard(self, draft_id: str) -> DraftView:
        d = await self._open(draft_id)
        gone = d.with_view(status="rejected")
        if not await self.store.save(gone, expect=d.view.status):
            raise ContentError("the draft changed meanwhile: reload it")
        await self._withdraw(d, "the owner discarded the draft")
        return gone.view

    # -- expiry and lapsed cards ----------------------------------------------------------------

    async def tidy(self) -> int:
        """Expire open drafts past their slot (withdrawing their cards); a draft whose card lapsed
        unapproved may be asked for again, one whose card was rejected is rejected. How many changed."""
        now, changed = self.clock(), 0
        for d in await self.store.listing(self.today()):
            if d.view.status not in OPEN:
                continue
            if now >= d.view.expires_at:
                changed += await self.expire(d)
            elif d.view.status == "awaiting_approval":
                changed += await self._lapsed(d, now)
        return changed

    async def expire(self, d: Draft) -> int:
        if not await self.store.save(d.with_view(status="expired"), expect=d.view.status):
            return 0
        await self._withdraw(d, "its slot ended before it was approved")
        return 1

    async def _lapsed(self, d: Draft, now: datetime) -> int:
        pending = await self.approvals.get(d.view.approval_id) if self.approvals and d.view.approval_id else None
        if pending is None:
            return 0
        if pending.state is ApprovalState.DENIED:
            return int(await self.store.save(d.with_view(status="rejected"), expect="awaiting_approval"))
        if pending.state is ApprovalState.PENDING and now >= pending.expires_at:
            back: DraftStatus = "held" if failing(d.view.checks) else "ready"
            return int(await self.store.save(d.with_view(status=back, approval_id=None), expect="awaiting_approval"))
        return 0

    # -- the approval desk's followers (agent.services.ApprovalDesk) ----------------------------

    async def before_approval(self, approval_id: str) -> None:
        """A card whose draft's slot has ended is withdrawn before it can be approved."""
        d = await self.store.by_approval(approval_id)
        if d is not None and d.view.status in OPEN and self.clock() >= d.view.expires_at:
            await self.expire(d)

    async def context_labels(self, approval_id: str) -> Sequence[Label]:
        """The labels the approved call's context holds: what the draft was drawn from."""
        d = await self.store.by_approval(approval_id)
        return () if d is None else d.labels

    async def after_approval(self, approval_id: str, result: GatewayResult) -> None:
        """Keep the published post's id and link, once (the grant is single use, and a published
        draft is never written again); a refused call marks the waiting draft failed, with why."""
        d = await self.store.by_approval(approval_id)
        if (
            d is None
            or d.view.status == "published"
            or (result.status is not GatewayStatus.OK and d.view.status != "awaiting_approval")
        ):
            return
        channel = self.channel(d.view.integration)
        if result.status is GatewayStatus.OK:  # published: recorded even if the draft expired meanwhile
            out = result.content if isinstance(result.content, dict) else {}
            post_id, url = out.get(channel.id_field), out.get(channel.url_field)
            done = d.with_view(
                status="published",
                post_id=None if post_id is None else str(post_id)[:128],
                url=url if isinstance(url, str) else None,
                published_at=self.clock(),
            )
        else:
            why = result.content if isinstance(result.content, str) else result.status.value
            done = d.with_view(status="failed", refusal=f"{channel.network} did not publish it: {why[:300]}")
        await self.store.save(done, expect=d.view.status)

    async def after_rejection(self, approval_id: str) -> None:
        d = await self.store.by_approval(approval_id)
        if d is not None and d.view.status == "awaiting_approval":
            await self.store.save(d.with_view(status="rejected"), expect="awaiting_approval")

    # -- new drafts -----------------------------------------------------------------------------

    def new_draft(self, integration: str, day: date, text: str, **view: Any) -> DraftView:
        return DraftView(
            id=uuid.uuid4().hex,
            integration=integration,
            network=self.channel(integration).network,
            day=day,
            status="ready",
            text=text,
            created_at=self.clock(),
            expires_at=slot_end(day, self.timezone),
            limit=0,
            **view,
        )

    async def add(self, d: Draft, *, session: str) -> Draft:
        """Store a new draft: refused when its inputs are private, else checked."""
        why = refusal(d.labels)
        if why is not None:
            d = d.with_view(status="refused", refusal=why, text="")
        else:
            d = await self.checked(d, session=session)
        return await self.store.add(d)
