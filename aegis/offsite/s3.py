"""A small S3 client (MinIO or any S3-compatible store) on httpx: path-style URLs, AWS Signature
Version 4, retries with backoff that honour ``Retry-After`` (``tools._http.send_with_retry``).

Only what backups need: put, get, list, delete. Objects are already age-encrypted when they get here.
"""

from __future__ import annotations

import hashlib
import hmac
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote, urlsplit

import httpx

from aegis.secrets import Secret
from tools._http import RetryPolicy, send_with_retry

# XML from the owner's own store; Python's bundled expat refuses entity expansion bombs.
_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class S3Error(Exception):
    """The store refused or failed a request. The message names the operation and the status, never a key."""


@dataclass(frozen=True)
class S3Object:
    key: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class Credentials:
    access_key_id: Secret
    secret_access_key: Secret


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sign_v4(
    method: str,
    url: str,
    headers: Mapping[str, str],
    payload_sha256: str,
    creds: Credentials,
    region: str,
    now: datetime,
) -> dict[str, str]:
    """The headers to add to a request so that S3 accepts it (SigV4, service ``s3``)."""
    parts = urlsplit(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    signed = {k.lower(): v.strip() for k, v in headers.items()}
    signed |= {"host": parts.netloc, "x-amz-content-sha256": payload_sha256, "x-amz-date": amz_date}
    names = sorted(signed)
    query = sorted(  # each name and value decoded once, then encoded the way SigV4 wants
        (quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~"))
        for k, _, v in (p.partition("=") for p in parts.query.split("&") if p)
    )
    canonical = "\n".join(
        [
            method,
            parts.path or "/",
            "&".join(f"{k}={v}" for k, v in query),
            "".join(f"{n}:{signed[n]}\n" for n in names),
            ";".join(names),
            payload_sha256,
        ]
    )
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = _hmac(f"AWS4{creds.secret_access_key.reveal()}".encode(), day)
    for part in (region, "s3", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "x-amz-date": amz_date,
        "x-amz-content-sha256": payload_sha256,
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential={creds.access_key_id.reveal()}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        ),
    }


class S3Client:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        endpoint: str,
        bucket: str,
        region: str,
        creds: Credentials,
        policy: RetryPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._http = http
        self._base = endpoint.rstrip("/")
        self._bucket = bucket
        self._region = region
        self._creds = creds
        self._policy = policy or RetryPolicy(max_attempts=5, max_total_seconds=120)
        self._clock = clock

    def _url(self, key: str = "", query: str = "") -> str:
        path = f"/{quote(self._bucket, safe='')}" + (f"/{quote(key, safe='/-_.~')}" if key else "")
        return self._base + path + (f"?{query}" if query else "")

    async def _send(
        self, op: str, method: str, url: str, body: bytes = b"", ok: tuple[int, ...] = (200,)
    ) -> httpx.Response:
        digest = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256

        async def send() -> httpx.Response:
            headers = sign_v4(method, url, {}, digest, self._creds, self._region, self._clock())
            return await self._http.request(method, url, content=body or None, headers=headers)

        response = await send_with_retry(send, policy=self._policy, integration="backup store")
        if response.status_code not in ok:
            raise S3Error(f"{op} failed: HTTP {response.status_code} {_code(response)}".strip())
        return response

    async def create_bucket(self) -> None:
        await self._send("create bucket", "PUT", self._url(), ok=(200, 409))

    async def put(self, key: str, body: bytes) -> None:
        await self._send(f"upload {key}", "PUT", self._url(key), body)

    async def get(self, key: str) -> bytes:
        return (await self._send(f"download {key}", "GET", self._url(key))).content

    async def delete(self, key: str) -> None:
        await self._send(f"delete {key}", "DELETE", self._url(key), ok=(200, 204))

    async def list(self, prefix: str) -> list[S3Object]:
        out: list[S3Object] = []
        token: str | None = None
        while True:
            query = f"list-type=2&prefix={quote(prefix, safe='')}"
            if token:
                query += f"&continuation-token={quote(token, safe='')}"
            root = ET.fromstring((await self._send("list", "GET", self._url(query=query))).content)  # noqa: S314
            out.extend(
                S3Object(
                    key=item.findtext(f"{_NS}Key", ""),
                    size=int(item.findtext(f"{_NS}Size", "0")),
                    last_modified=_parse_time(item.findtext(f"{_NS}LastModified", "")),
                )
                for item in root.iter(f"{_NS}Contents")
            )
            if root.findtext(f"{_NS}IsTruncated") != "true":
                return out
            token = root.findtext(f"{_NS}NextContinuationToken")


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _code(response: httpx.Response) -> str:
    try:
        return ET.fromstring(response.content).findtext("Code") or ""  # noqa: S314
    except ET.ParseError:
        return ""
