"""An in-memory LinkedIn for the demo profile and the tests: a demo member and the posts they make.

``demo_transport()`` answers what :class:`~tools.linkedin.client.LinkedInClient` calls, shaped like
LinkedIn: the token endpoint (form body with the client id and secret), ``/v2/userinfo`` (the OpenID
Connect claims) and ``POST /rest/posts`` (201, empty body, the post's URN in ``x-restli-id``; 422 for
the same text twice; 401 ``serviceErrorCode`` 65601 for an unknown token), and the member's home
feed page (``GET www.linkedin.com/feed/``, :data:`~tools.linkedin.feed_pages.DEMO_FEED`, dated by
LinkedIn's relative ages, so always around today) for the browser. Nothing leaves the machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from tools.linkedin.feed_pages import DEMO_FEED, feed_html

DEMO_APP: Final = "86demoLinkedInClient:demoLinkedInClientSecretNotReal0"
DEMO_TOKEN: Final = "AQVdemoLinkedInMemberAccessTokenNotReal000000"  # noqa: S105 - demo only
DEMO_CODE: Final = "AQTdemoAuthorizationCodeFromLinkedIn"
DEMO_SUB: Final = "782bbtaQ"
DEMO_SESSION: Final = "AQEDAdemoLinkedInLiAtSessionCookieNotReal00000000"  # the owner's li_at (demo only)
FIRST_POST: Final = 7400000000000000000


def demo_credentials() -> dict[str, str]:
    return {"linkedin-app": DEMO_APP, "linkedin-token": DEMO_TOKEN, "linkedin-session": DEMO_SESSION}


def _error(status: int, message: str, code: int | None = None) -> httpx.Response:
    body: dict[str, Any] = {"message": message, "status": status}
    if code is not None:
        body["serviceErrorCode"] = code
    return httpx.Response(status, json=body)


@dataclass
class DemoLinkedIn:
    """The demo member (``urn:li:person:782bbtaQ``) and their posts, by URN."""

    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    redirect_uri: str | None = None  # set: the code is redeemed only with this callback
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if request.url.host == "www.linkedin.com" and path == "/oauth/v2/accessToken":
            return self._token(request)
        if request.url.host == "www.linkedin.com" and path == "/feed/" and request.method == "GET":
            return httpx.Response(200, html=feed_html(DEMO_FEED))
        if request.url.host != "api.linkedin.com":
            return httpx.Response(404)
        if request.headers.get("authorization") != f"Bearer {DEMO_TOKEN}":
            return _error(401, "The token used in the request has been revoked by the user", 65601)
        if path == "/v2/userinfo" and request.method == "GET":
            return httpx.Response(
                200,
                json={
                    "sub": DEMO_SUB,
                    "email_verified": True,
                    "name": "Jordan Avery",
                    "locale": {"country": "US", "language": "en"},
                    "given_name": "Jordan",
                    "family_name": "Avery",
                    "email": "jordan.avery@example.com",
                    "picture": "https://media.licdn.com/dms/image/demo/profile-displayphoto",
                },
            )
        if path == "/rest/posts" and request.method == "POST":
            return self._post(request)
        return _error(404, f"No resource found for {path}")

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        client_id, _, secret = DEMO_APP.partition(":")
        if form.get("client_id") != client_id or form.get("client_secret") != secret:
            return httpx.Response(
                401, json={"error": "invalid_client", "error_description": "Client authentication failed"}
            )
        ok = form.get("grant_type") == "authorization_code" and form.get("code") == DEMO_CODE
        if not ok or (self.redirect_uri is not None and form.get("redirect_uri") != self.redirect_uri):
            return httpx.Response(
                400, json={"error": "invalid_request", "error_description": "Unable to retrieve access token"}
            )
        return httpx.Response(
            200,
            json={"access_token": DEMO_TOKEN, "expires_in": 5183999, "scope": "email,openid,profile,w_member_social"},
        )

    def _post(self, request: httpx.Request) -> httpx.Response:
        if not request.headers.get("linkedin-version") or request.headers.get("x-restli-protocol-version") != "2.0.0":
            return _error(400, "Requested version is not active")
        body = json.loads(request.content)
        if body.get("author") != f"urn:li:person:{DEMO_SUB}":
            return _error(403, "Not enough permissions to access: partnerApiPostsExternal.CREATE", 100)
        if any(p["commentary"] == body.get("commentary") for p in self.posts.values()):
            return _error(422, "Content is a duplicate of urn:li:share:" + str(FIRST_POST))
        urn = f"urn:li:share:{FIRST_POST + len(self.posts)}"
        self.posts[urn] = body
        return httpx.Response(201, headers={"x-restli-id": urn, "x-linkedin-id": urn})


def demo_transport() -> httpx.MockTransport:
    return httpx.MockTransport(DemoLinkedIn().handle)
