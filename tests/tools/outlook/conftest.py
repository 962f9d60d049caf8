"""A fake Microsoft identity platform for msal (through its ``http_client``), and the demo Graph."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import httpx
import pytest

from tools._http import RetryPolicy, build_http_client
from tools.credentials import StaticCredentials
from tools.outlook.auth import MsalTokens
from tools.outlook.client import OutlookClient
from tools.outlook.demo import DemoGraph, demo_credentials

AUTHORITY = "https://login.microsoftonline.com/common"
TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"  # the consumers tenant id, as Microsoft issues it
CLIENT_ID = "6731de76-14a6-49ae-97bc-6eba6914391e"  # a made-up app registration


def _b64(doc: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()


def id_token(nonce: str | None = None) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "aud": CLIENT_ID, "iss": f"https://login.microsoftonline.com/{TENANT}/v2.0", "iat": now, "nbf": now,
        "exp": now + 3600, "oid": "00000000-0000-0000-66f3-3332eca7ea81", "tid": TENANT, "sub": "subject",
        "preferred_username": "alex.rivera@northwind.example", "name": "Alex Rivera", "ver": "2.0",
    }  # fmt: skip
    if nonce:
        claims["nonce"] = nonce
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


@dataclass
class Identity:
    """login.microsoftonline.com: OIDC discovery and the token endpoint, every request recorded."""

    requests: list[httpx.Request] = field(default_factory=list)
    forms: list[dict[str, str]] = field(default_factory=list)
    issued: int = 0
    refuse: str | None = None  # an OAuth error code the token endpoint answers with
    nonce: str | None = None

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path.endswith("/.well-known/openid-configuration"):
            base = f"https://login.microsoftonline.com/{TENANT}"
            return httpx.Response(200, json={
                "authorization_endpoint": "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
                "token_endpoint": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
                "issuer": f"{base}/v2.0", "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "response_types_supported": ["code", "id_token", "code id_token"],
            })  # fmt: skip
        if path.endswith("/oauth2/v2.0/token") and request.method == "POST":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            self.forms.append(form)
            if self.refuse:
                return httpx.Response(400, json={"error": self.refuse, "error_description": "AADSTS70000: refused"})
            self.issued += 1
            info = _b64({"uid": "00000000-0000-0000-66f3-3332eca7ea81", "utid": TENANT})
            return httpx.Response(200, json={
                "token_type": "Bearer", "scope": form.get("scope", ""), "expires_in": 3600, "ext_expires_in": 3600,
                "access_token": f"EwB-access-{self.issued}", "refresh_token": f"M.C509_BAY.refresh-{self.issued}",
                "id_token": id_token(self.nonce), "client_info": info,
            })  # fmt: skip
        return httpx.Response(404, json={"error": "not_found"})

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handler))


class Writer:
    """The broker's scoped write path, as the token source sees it."""

    def __init__(self, credentials: StaticCredentials) -> None:
        self.credentials = credentials
        self.writes: list[tuple[str, str]] = []

    async def put(self, name: str, value: str) -> None:
        self.writes.append((name, value))
        self.credentials.set(name, value)


@pytest.fixture
def identity() -> Identity:
    return Identity()


class Waits:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.seconds.append(seconds)


@dataclass
class Edge:
    graph: DemoGraph
    client: OutlookClient
    waits: Waits


@pytest.fixture
async def edge() -> AsyncIterator[Edge]:
    graph, waits = DemoGraph(page_size=3), Waits()
    async with build_http_client(transport=httpx.MockTransport(graph.handler)) as http:
        creds = StaticCredentials(demo_credentials())
        tokens = MsalTokens(creds, writer=None)
        yield Edge(graph, OutlookClient(http, creds, tokens, retry=RetryPolicy(sleep=waits.sleep)), waits)
