"""An in-memory X for the demo profile and the tests: X API v2 answers, dated around now.

``DemoX`` answers the calls :class:`~tools.twitter.client.XClient` makes with bodies shaped like X's
(``data``/``includes``/``meta``, 201 for a new post, X's problem documents for errors) and the
``x-rate-limit-*`` headers on every answer. It is also the demo's posting target: a post is kept in
memory and shows in the owner's timeline. ``tier="free"`` answers reads with X's 403
"client-forbidden" document, as the free access level does.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx

API: Final = "https://api.twitter.com"
OWNER_ID: Final = "1720000000000000001"
OWNER: dict[str, Any] = {"id": OWNER_ID, "name": "Alex Rivera", "username": "alexr_builds", "verified": False}
DEMO_TOKENS: Final = {  # public demo values, not credentials
    "consumer_key": "demoConsumerKey0000000000",
    "consumer_secret": "demoConsumerSecret000000000000000000000000000000",
    "access_token": f"{OWNER_ID}-demoAccessToken00000000000000000000",
    "access_token_secret": "demoAccessTokenSecret0000000000000000000000000",
}
TIER_ERROR: Final = {
    "client_id": "28659504",
    "detail": (
        "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a "
        "Twitter developer App that is attached to a Project. You can create a project via the developer portal."
    ),
    "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
    "title": "Client Forbidden",
    "required_enrollment": "Appropriate Level of API Access",
    "reason": "client-not-enrolled",
    "type": "https://api.twitter.com/2/problems/client-forbidden",
}
DUPLICATE: Final = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}
PEOPLE: list[dict[str, Any]] = [
    {"id": "2244994945", "name": "Maya Chen", "username": "mayachen_ml", "verified": False},
    {"id": "783214", "name": "Drexel CCI", "username": "DrexelCCI", "verified": True},
    {"id": "1466000000000000002", "name": "Sam Okafor", "username": "samokafor", "verified": False},
]
# (minutes ago, author index, text): the home timeline; mentions are the posts naming the owner.
TIMELINE = [
    (35, 0, "Shipped a tiny eval harness for retrieval today. Biggest lesson: log the misses, not the hits."),
    (80, 2, "@alexr_builds your thread on self-hosting assistants was great. Do you keep the model local too?"),
    (190, 1, "Co-op info session Thursday 4pm in the Innovation Hall atrium. Bring a resume."),
    (320, 0, "Hot take: most agent failures are tool-description failures."),
    (27 * 60, 2, "@alexr_builds what do you use for approvals on outgoing posts?"),
]


def demo_credentials() -> dict[str, str]:
    return {"twitter-tokens": json.dumps(DEMO_TOKENS)}


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class DemoX:
    """X as the demo account sees it; ``now`` fixes the dates (default: the real now)."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    tier: str = "basic"
    posts: list[dict[str, Any]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    _seq: int = 1860000000000000000

    def __post_init__(self) -> None:
        for ago, who, text in TIMELINE:
            self.posts.append(self._post(str(1859000000000000000 + 100_000 - ago), PEOPLE[who]["id"], text, ago))

    def _post(self, pid: str, author: str, text: str, minutes_ago: int) -> dict[str, Any]:
        likes = (int(pid[-3:]) * 7) % 40
        return {
            "id": pid,
            "text": text,
            "author_id": author,
            "created_at": _stamp(self.now - timedelta(minutes=minutes_ago)),
            "conversation_id": pid,
            "edit_history_tweet_ids": [pid],
            "public_metrics": {
                "retweet_count": likes // 5,
                "reply_count": likes // 8,
                "like_count": likes,
                "quote_count": 0,
                "bookmark_count": likes // 10,
                "impression_count": likes * 31,
            },
        }

    def _page(self, posts: list[dict[str, Any]], request: httpx.Request) -> httpx.Response:
        since = request.url.params.get("since_id")
        limit = int(request.url.params.get("max_results") or 10)
        found = [p for p in posts if since is None or int(p["id"]) > int(since)][:limit]
        if not found:
            return _json(200, {"meta": {"result_count": 0}})
        authors = {p["author_id"] for p in found}
        users = [u for u in [*PEOPLE, OWNER] if u["id"] in authors]
        meta = {"result_count": len(found), "newest_id": found[0]["id"], "oldest_id": found[-1]["id"]}
        return _json(200, {"data": found, "includes": {"users": users}, "meta": meta})

    def _newest_first(self) -> list[dict[str, Any]]:
        return sorted(self.posts, key=lambda p: int(p["id"]), reverse=True)

    def handle(self, request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("OAuth ") or f'oauth_token="{DEMO_TOKENS["access_token"]}"' not in auth:
            return _json(401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})
        path, method = request.url.path, request.method
        if method == "POST" and path == "/2/tweets":
            return self._create(json.loads(request.content))
        if method == "DELETE" and (m := re.fullmatch(r"/2/tweets/(\d+)", path)):
            before = len(self.posts)
            self.posts = [p for p in self.posts if not (p["id"] == m[1] and p["author_id"] == OWNER_ID)]
            return _json(200, {"data": {"deleted": len(self.posts) < before}})
        if method != "GET":
            return _json(404, {"title": "Not Found Error", "type": "about:blank", "status": 404})
        if path == "/2/users/me":
            return _json(200, {"data": OWNER})
        if self.tier == "free":
            return _json(403, TIER_ERROR)
        if path == f"/2/users/{OWNER_ID}/timelines/reverse_chronological":
            return self._page(self._newest_first(), request)
        if path == f"/2/users/{OWNER_ID}/mentions":
            named = [p for p in self._newest_first() if f"@{OWNER['username']}" in p["text"]]
            return self._page(named, request)
        if path == "/2/tweets":
            ids = set((request.url.params.get("ids") or "").split(","))
            return _json(200, {"data": [p for p in self.posts if p["id"] in ids]})
        return _json(404, {"title": "Not Found Error", "type": "about:blank", "status": 404})

    def _create(self, body: dict[str, Any]) -> httpx.Response:
        text = str(body.get("text", ""))
        if any(p["text"] == text and p["author_id"] == OWNER_ID for p in self.posts):
            return _json(403, DUPLICATE)
        self._seq += 1
        post = self._post(str(self._seq), OWNER_ID, text, 0)
        self.posts.append(post)
        self.created.append(post["id"])
        data = {"id": post["id"], "text": text, "edit_history_tweet_ids": [post["id"]]}
        return _json(201, {"data": data})


def _json(status: int, body: dict[str, Any]) -> httpx.Response:
    reset = str(int(time.time()) + 900)
    headers = {"x-rate-limit-limit": "180", "x-rate-limit-remaining": "179", "x-rate-limit-reset": reset}
    return httpx.Response(status, json=body, headers=headers)


def demo_transport(x: DemoX | None = None) -> httpx.MockTransport:
    return httpx.MockTransport((x or DemoX()).handle)
