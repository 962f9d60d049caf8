from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
from structlog.testing import capture_logs

from tests.tools.conftest import Sleeps
from tests.tools.gmail.payloads import HISTORY_PAGE_1, HISTORY_PAGE_2, MESSAGE_FULL, PROFILE, google_error
from tools._http import RetryPolicy
from tools.credentials import StaticCredentials
from tools.errors import AuthExpired, InvalidRequest, NotFound, RateLimited, UpstreamError
from tools.gmail.client import BASE_URL, GmailClient
from tools.gmail.mime import body_text, decode_base64url

pytestmark = pytest.mark.anyio
ACCESS = "ya29.a0AfB_test-access-token-3f9d"
NOW = 1_800_000_000.0


def oauth(access: str = ACCESS, expires_at: float | str = NOW + 3600) -> str:
    return json.dumps(
        {"access_token": access, "refresh_token": "1//refresh-9a8b", "expires_at": expires_at, "client_id": "c"}
    )


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=BASE_URL, assert_all_mocked=True)


@pytest.fixture
def creds() -> StaticCredentials:
    return StaticCredentials({"gmail-oauth": oauth()})


@pytest.fixture
async def gmail(router: respx.Router, creds: StaticCredentials, policy: RetryPolicy) -> AsyncIterator[GmailClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(router.handler)) as http:
        yield GmailClient(http, creds, retry=policy, clock=lambda: NOW)


def sent_json(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


async def test_profile_sends_the_bearer_token_and_parses(gmail: GmailClient, router: respx.Router) -> None:
    route = router.get("/profile").respond(200, json=PROFILE)
    profile = await gmail.profile()
    request = route.calls.last.request
    assert request.method == "GET" and request.url.path == "/gmail/v1/users/me/profile"
    assert request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert profile.email_address == "alex.rivera@example.com" and profile.history_id == "2030"


async def test_list_messages_query_parameters(gmail: GmailClient, router: respx.Router) -> None:
    body = {"messages": [{"id": "a1", "threadId": "t1"}], "nextPageToken": "tok2", "resultSizeEstimate": 201}
    route = router.get("/messages").respond(200, json=body)
    page = await gmail.list_messages(
        q="from:dana is:unread", label_ids=["INBOX", "Label_3"], page_token="tok1", max_results=50
    )
    params = route.calls.last.request.url.params
    assert params["q"] == "from:dana is:unread" and params.get_list("labelIds") == ["INBOX", "Label_3"]
    assert params["pageToken"] == "tok1" and params["maxResults"] == "50"
    assert page.messages[0].thread_id == "t1" and page.next_page_token == "tok2" and page.result_size_estimate == 201


async def test_list_messages_rejects_an_oversized_page(gmail: GmailClient) -> None:
    with pytest.raises(InvalidRequest):
        await gmail.list_messages(max_results=501)


async def test_iter_messages_follows_page_tokens(gmail: GmailClient, router: respx.Router) -> None:
    route = router.get("/messages").mock(
        side_effect=[
            httpx.Response(200, json={"messages": [{"id": "a", "threadId": "t"}], "nextPageToken": "p2"}),
            httpx.Response(200, json={"messages": [{"id": "b", "threadId": "t"}], "resultSizeEstimate": 2}),
        ]
    )
    ids = [ref.id async for ref in gmail.iter_messages(page_size=1)]
    assert ids == ["a", "b"]
    assert "pageToken" not in route.calls[0].request.url.params
    assert route.calls[1].request.url.params["pageToken"] == "p2"


async def test_get_message_parses_a_multipart_payload(gmail: GmailClient, router: respx.Router) -> None:
    route = router.get("/messages/18f30a7d5e8b0e45").respond(200, json=MESSAGE_FULL)
    message = await gmail.get_message("18f30a7d5e8b0e45")
    assert route.calls.last.request.url.params["format"] == "full"
    assert message.header("subject") == "Q4 planning" and message.internal_date == 1793802612000
    assert message.received_at is not None and message.received_at.year == 2026
    assert body_text(message) == "Hi Alex,\n\nThe café meeting moved to 3pm — see the agenda attached.\n\nDana\n"
    assert body_text(message, "text/html") == "<p>Hi Alex,</p><p>The café meeting moved to <b>3pm</b>.</p>"


async def test_get_message_metadata_headers(gmail: GmailClient, router: respx.Router) -> None:
    route = router.get("/messages/abc").respond(200, json={"id": "abc", "threadId": "t", "labelIds": []})
    await gmail.get_message("abc", format="metadata", metadata_headers=["From", "Subject"])
    params = route.calls.last.request.url.params
    assert params["format"] == "metadata" and params.get_list("metadataHeaders") == ["From", "Subject"]


@pytest.mark.parametrize("bad", ["../drafts", "a/b", "", "x" * 300, "id?format=raw", "%2e%2e"])
async def test_ids_that_could_escape_the_path_are_refused(gmail: GmailClient, router: respx.Router, bad: str) -> None:
    for call in (gmail.get_message(bad), gmail.get_thread(bad), gmail.modify_labels(bad, add=["STARRED"])):
        with pytest.raises(InvalidRequest):
            await call
    assert router.calls.call_count == 0


async def test_get_thread(gmail: GmailClient, router: respx.Router) -> None:
    body = {"id": "18f30a7d5e8b0e45", "historyId": "2030", "messages": [MESSAGE_FULL]}
    router.get("/threads/18f30a7d5e8b0e45").respond(200, json=body)
    thread = await gmail.get_thread("18f30a7d5e8b0e45")
    assert thread.history_id == "2030" and thread.messages[0].payload is not None


async def test_list_history_parameters_and_pages(gmail: GmailClient, router: respx.Router) -> None:
    route = router.get("/history").mock(
        side_effect=[httpx.Response(200, json=HISTORY_PAGE_1), httpx.Response(200, json=HISTORY_PAGE_2)]
    )
    pages = [page async for page in gmail.iter_history("2010", history_types=["messageAdded", "labelRemoved"])]
    first = route.calls[0].request.url.params
    assert first["startHistoryId"] == "2010" and first.get_list("historyTypes") == ["messageAdded", "labelRemoved"]
    assert route.calls[1].request.url.params["pageToken"] == "09876"
    assert pages[0].history[0].messages_added[0].message.label_ids == ("INBOX", "UNREAD")
    assert pages[1].history[0].labels_removed[0].label_ids == ("UNREAD",)
    assert pages[-1].history_id == "2030"


async def test_a_stale_history_id_raises_not_found_for_a_full_resync(gmail: GmailClient, router: respx.Router) -> None:
    route = router.get("/history").respond(404, json=google_error(404, "notFound", "Requested entity was not found."))
    with pytest.raises(NotFound) as caught:
        await gmail.list_history("12")
    assert caught.value.status == 404 and caught.value.code == "notFound"
    assert route.call_count == 1  # never retried


async def test_list_history_validates_arguments(gmail: GmailClient) -> None:
    with pytest.raises(InvalidRequest):
        await gmail.list_history("12; DROP")
    with pytest.raises(InvalidRequest):
        await gmail.list_history("12", history_types=["everything"])


async def test_list_labels(gmail: GmailClient, router: respx.Router) -> None:
    labels = [{"id": "INBOX", "name": "INBOX", "type": "system"}, {"id": "Label_1", "name": "Finance", "type": "user"}]
    router.get("/labels").respond(200, json={"labels": labels})
    assert [(label.id, label.name, label.type) for label in await gmail.list_labels()] == [
        ("INBOX", "INBOX", "system"),
        ("Label_1", "Finance", "user"),
    ]


async def test_create_draft_sends_base64url_raw_and_thread(gmail: GmailClient, router: respx.Router) -> None:
    route = router.post("/drafts").respond(
        200, json={"id": "r-123", "message": {"id": "m9", "threadId": "t1", "labelIds": ["DRAFT"]}}
    )
    raw = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\n\xc3\xa9t\xc3\xa9\r\n"
    draft = await gmail.create_draft(raw, thread_id="t1")
    body = sent_json(route)
    assert decode_base64url(body["message"]["raw"]) == raw and body["message"]["threadId"] == "t1"
    assert "+" not in body["message"]["raw"] and "/" not in body["message"]["raw"]
    assert draft.id == "r-123" and draft.message.label_ids == ("DRAFT",)


async def test_send_message_posts_raw_and_is_not_retried_on_5xx(gmail: GmailClient, router: respx.Router) -> None:
    route = router.post("/messages/send").mock(
        side_effect=[httpx.Response(503, json=google_error(503, "backendError")), httpx.Response(200, json={})]
    )
    with pytest.raises(UpstreamError):
        await gmail.send_message(b"Subject: x\r\n\r\nbody", thread_id="t1")
    assert route.call_count == 1  # a retry could send the mail twice
    assert sent_json(route, 0) == {"raw": "U3ViamVjdDogeA0KDQpib2R5", "threadId": "t1"}


async def test_send_message_returns_the_sent_message(gmail: GmailClient, router: respx.Router) -> None:
    router.post("/messages/send").respond(200, json={"id": "m10", "threadId": "t1", "labelIds": ["SENT"]})
    sent = await gmail.send_message(b"Subject: x\r\n\r\nbody")
    assert sent.id == "m10" and sent.label_ids == ("SENT",)


async def test_modify_labels(gmail: GmailClient, router: respx.Router) -> None:
    route = router.post("/messages/m1/modify").respond(200, json={"id": "m1", "threadId": "t", "labelIds": ["STARRED"]})
    message = await gmail.modify_labels("m1", add=["STARRED"], remove=["UNREAD", "INBOX"])
    assert sent_json(route) == {"addLabelIds": ["STARRED"], "removeLabelIds": ["UNREAD", "INBOX"]}
    assert message.label_ids == ("STARRED",)
    with pytest.raises(InvalidRequest):
        await gmail.modify_labels("m1")


@pytest.mark.parametrize(
    ("status", "reason", "expected", "calls"),
    [
        (400, "badRequest", InvalidRequest, 1),
        (401, "authError", AuthExpired, 1),
        (403, "insufficientPermissions", AuthExpired, 1),
        (403, "dailyLimitExceeded", RateLimited, 1),
        (403, "userRateLimitExceeded", RateLimited, 4),
        (404, "notFound", NotFound, 1),
        (429, "rateLimitExceeded", RateLimited, 4),
        (500, "backendError", UpstreamError, 4),
    ],
)
async def test_error_mapping(
    gmail: GmailClient, router: respx.Router, status: int, reason: str, expected: type[Exception], calls: int
) -> None:
    route = router.get("/profile").respond(status, json=google_error(status, reason))
    with pytest.raises(expected) as caught:
        await gmail.profile()
    assert type(caught.value) is expected
    assert getattr(caught.value, "code", None) == reason and route.call_count == calls


async def test_401_drops_the_cached_credential(
    gmail: GmailClient, router: respx.Router, creds: StaticCredentials
) -> None:
    router.get("/profile").respond(401, json=google_error(401, "authError", "Invalid Credentials"))
    with pytest.raises(AuthExpired):
        await gmail.profile()
    assert creds.invalidated == ["gmail-oauth"]


async def test_throttling_403_is_retried_then_succeeds(
    gmail: GmailClient, router: respx.Router, sleeps: Sleeps
) -> None:
    router.get("/profile").mock(
        side_effect=[
            httpx.Response(403, json=google_error(403, "rateLimitExceeded")),
            httpx.Response(200, json=PROFILE),
        ]
    )
    assert (await gmail.profile()).history_id == "2030"
    assert sleeps.waits == [0.25]


async def test_429_retry_after_is_honoured(gmail: GmailClient, router: respx.Router, sleeps: Sleeps) -> None:
    router.get("/profile").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json=PROFILE)]
    )
    await gmail.profile()
    assert sleeps.waits == [3.0]


async def test_the_token_never_reaches_logs_or_error_messages(gmail: GmailClient, router: respx.Router) -> None:
    echo = google_error(400, "badRequest", f"bad token {ACCESS}")
    router.get("/messages").respond(400, json=echo)
    with capture_logs() as logs, pytest.raises(InvalidRequest) as caught:
        await gmail.list_messages(q="bank statement")
    assert ACCESS not in str(caught.value) and "[REDACTED]" in str(caught.value)
    assert ACCESS not in str(logs) and "bank statement" not in str(logs)
    entry = next(e for e in logs if e["event"] == "integration.http")
    assert entry["path"] == "/gmail/v1/users/me/messages" and entry["status"] == 400 and entry["method"] == "GET"
    assert "duration_ms" in entry


async def test_an_expired_token_is_reread_once_then_reported(router: respx.Router, policy: RetryPolicy) -> None:
    creds = StaticCredentials({"gmail-oauth": oauth(expires_at=NOW - 1)})
    async with httpx.AsyncClient(transport=httpx.MockTransport(router.handler)) as http:
        gmail = GmailClient(http, creds, retry=policy, clock=lambda: NOW)
        with pytest.raises(AuthExpired, match="expired"):
            await gmail.profile()
        assert creds.invalidated == ["gmail-oauth", "gmail-oauth"] and router.calls.call_count == 0
        creds.set("gmail-oauth", oauth(expires_at="2030-01-01T00:00:00Z"))
        router.get("/profile").respond(200, json=PROFILE)
        assert (await gmail.profile()).email_address == "alex.rivera@example.com"


@pytest.mark.parametrize("stored", ["not json", json.dumps({"refresh_token": "r"}), json.dumps({"access_token": ""})])
async def test_a_malformed_credential_is_auth_expired(router: respx.Router, stored: str) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(router.handler)) as http:
        gmail = GmailClient(http, StaticCredentials({"gmail-oauth": stored}))
        with pytest.raises(AuthExpired):
            await gmail.profile()


async def test_health_check(gmail: GmailClient, router: respx.Router) -> None:
    router.get("/profile").mock(
        side_effect=[httpx.Response(200, json=PROFILE), httpx.Response(401, json=google_error(401, "authError"))]
    )
    assert await gmail.health_check() is True
    assert await gmail.health_check() is False
