"""What the content page shows of each draft: words for its status, checks and sources, the time left
before its slot ends, its length against the network's limit, and its engagement as a chart spec.

Pure functions of :class:`agent.content.ports.DraftView` and the console's clock; the routes are in
``web.routes.content``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from agent.content.ports import DraftCheck, DraftSource, DraftView, EngagementPoint
from web.charts import chart_spec
from web.sanitize import display_host

STATUS_WORDS = {
    "ready": "ready",
    "held": "held: fix the failed checks",
    "refused": "refused",
    "awaiting_approval": "waiting for your approval",
    "published": "published",
    "expired": "expired",
    "rejected": "rejected",
    "failed": "the network refused it",
}
CHECK_WORDS = {
    "length": "Length",
    "near_duplicate": "Not a repeat of a recent post",
    "links": "Only approved links",
    "hidden": "No hidden characters",
}
SOURCE_WORDS = {"news": "News", "past_post": "Your past post", "theme": "Your theme", "activity": "Your activity"}
LIVE = ("ready", "held", "awaiting_approval", "refused")  # shown in full, while their slot lasts


def safe_link(url: str | None) -> str | None:
    """An http(s) address with a host, or None (then it is shown as text, never as a link)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def aware(when: datetime) -> datetime:
    """A time without a zone is taken as UTC (the engine's times carry theirs)."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def time_left(expires_at: datetime, now: datetime) -> str:
    """``expires in 3 h 20 min`` (or ``expires now`` once the slot has ended)."""
    left = aware(expires_at) - now
    if left <= timedelta(0):
        return "expires now"
    minutes = max(1, int(left.total_seconds() // 60))
    if minutes >= 48 * 60:
        return f"expires in {minutes // (24 * 60)} days"
    hours, mins = divmod(minutes, 60)
    if not hours:
        return f"expires in {mins} min"
    return f"expires in {hours} h" + (f" {mins} min" if mins else "")


def check_row(check: DraftCheck) -> dict[str, Any]:
    return {
        "name": check.name,
        "label": CHECK_WORDS.get(check.name, check.name),
        "ok": check.ok,
        "detail": check.detail,
    }


def source_row(source: DraftSource) -> dict[str, Any]:
    href = safe_link(source.url)
    return {
        "kind": SOURCE_WORDS.get(source.kind, source.kind),
        "title": source.title or "(untitled)",
        "href": href,
        "host": display_host(href) if href else None,
        "text_url": None if href else source.url,  # an address that is not a plain web link: shown, not linked
        "untrusted": source.untrusted,
    }


def length_line(draft: DraftView, text: str) -> str:
    """The server's own count: the engine's length check when the text is the checked one."""
    found = next((c for c in draft.checks if c.name == "length"), None)
    if found is not None and text == draft.text:
        return found.detail
    return f"about {len(text)} of {draft.limit} (counted exactly when you save)"


def engagement_chart(points: tuple[EngagementPoint, ...]) -> dict[str, Any] | None:
    """One line per metric over the collection times (a metric a sync did not give is left out there)."""
    if not points:
        return None
    names: list[str] = []
    for p in points:
        names.extend(n for n in p.metrics if n not in names)
    labels = [aware(p.at).astimezone(UTC).strftime("%d %b %H:%M") for p in points]
    series = [(n.replace("_", " "), [p.metrics.get(n) for p in points]) for n in names]
    return chart_spec("line", labels, series, timeline=True)


def latest_metrics(points: tuple[EngagementPoint, ...]) -> list[tuple[str, int]]:
    return [(n.replace("_", " "), v) for n, v in points[-1].metrics.items()] if points else []


def draft_row(draft: DraftView, now: datetime, *, text: str | None = None, error: str | None = None) -> dict[str, Any]:
    """``text``/``error``: the owner's own text and the message after a refused action (kept as typed)."""
    shown = draft.text if text is None else text
    failed = [c for c in draft.checks if not c.ok]
    link = safe_link(draft.url)
    return {
        "id": draft.id,
        "integration": draft.integration,
        "network": draft.network,
        "day": draft.day.strftime("%a %d %b %Y"),
        "status": draft.status,
        "status_words": STATUS_WORDS.get(draft.status, draft.status),
        "text": shown,
        "limit": draft.limit,
        "length": length_line(draft, shown),
        "over": draft.status == "held" and any(c.name == "length" for c in failed),
        "checks": [check_row(c) for c in draft.checks],
        "failed": len(failed),
        "sources": [source_row(s) for s in draft.sources],
        "refusal": draft.refusal,
        "edited": draft.edited,
        "approval_id": draft.approval_id,
        "editable": draft.open,
        "publishable": draft.status in ("ready", "held"),
        "expires": time_left(draft.expires_at, now),
        "expires_at": draft.expires_at.isoformat(),
        "created_at": draft.created_at.isoformat(),
        "published_at": aware(draft.published_at).astimezone(UTC).isoformat() if draft.published_at else None,
        "url": link,
        "url_host": display_host(link) if link else None,
        "post_id": draft.post_id,
        "chart": engagement_chart(draft.engagement),
        "latest": latest_metrics(draft.engagement),
        "error": error,
    }


def split_queue(drafts: list[DraftView], now: datetime, rows: dict[str, dict[str, Any]]) -> dict[str, list[Any]]:
    """Drafts to act on (open ones, and refused ones while their slot lasts), published posts, the rest."""
    live, published, past = [], [], []
    for d in drafts:
        row = rows.get(d.id) or draft_row(d, now)
        if d.open or (d.status == "refused" and aware(d.expires_at) > now):
            live.append(row)
        elif d.status == "published":
            published.append(row)
        else:
            past.append(row)
    return {"live": live, "published": published, "past": past}
