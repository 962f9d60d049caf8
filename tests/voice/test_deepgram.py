"""The Deepgram adapter against Deepgram's own messages, faked at the network edge: the SDK's
``transport_factory`` for the live WebSocket (API-NOTES §13) and respx for the REST endpoint."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import numpy as np
import pytest
import respx
from deepgram.transport import restore_transport

from voice.ports import EngineFailed
from voice.stt_deepgram import DeepgramStt

pytestmark = pytest.mark.anyio
KEY = "dg-test-key-0000"


def results(text: str, *, final: bool, from_finalize: bool = False) -> str:
    return json.dumps(
        {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": 1.2,
            "start": 0.0,
            "is_final": final,
            "speech_final": final,
            "from_finalize": from_finalize,
            "channel": {"alternatives": [{"transcript": text, "confidence": 0.98, "words": []}]},
            "metadata": {"request_id": "req-1", "model_uuid": "m-1", "model_info": {"name": "nova-3"}},
        }
    )


class FakeDeepgramSocket:
    """Deepgram's live endpoint as the SDK sees it: interim and final Results while audio comes in,
    and the held words flushed (``from_finalize``) after a Finalize message."""

    opened: list[FakeDeepgramSocket] = []  # noqa: RUF012 - the test reads what the SDK connected to

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url, self.headers = url, headers
        self.media: list[bytes] = []
        self.controls: list[dict[str, Any]] = []
        self.inbox: asyncio.Queue[str | None] = asyncio.Queue()
        self.closed = False
        FakeDeepgramSocket.opened.append(self)

    async def send(self, data: Any) -> None:
        if isinstance(data, bytes):
            self.media.append(data)
            if len(self.media) == 2:
                self.inbox.put_nowait(results("what is", final=False))
                self.inbox.put_nowait(results("What is my balance", final=True))
            return
        message = json.loads(data)
        self.controls.append(message)
        if message["type"] == "Finalize":
            self.inbox.put_nowait(results("today?", final=True, from_finalize=True))
        elif message["type"] == "CloseStream":
            self.inbox.put_nowait(None)

    async def recv(self) -> str:
        item = await self.inbox.get()
        if item is None:
            raise StopAsyncIteration
        return item

    def __aiter__(self) -> AsyncIterator[str]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[str]:
        while (item := await self.inbox.get()) is not None:
            yield item

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_socket() -> Iterator[type[FakeDeepgramSocket]]:
    FakeDeepgramSocket.opened.clear()
    yield FakeDeepgramSocket
    restore_transport()


async def test_live_stream_gives_the_final_words_after_finalize(fake_socket: type[FakeDeepgramSocket]) -> None:
    stt = DeepgramStt(KEY, transport_factory=fake_socket)
    stream = await stt.open()
    chunk = np.zeros(1600, np.float32)
    for _ in range(3):
        await stream.send(chunk)
    transcript = await stream.finish()
    assert transcript.text == "What is my balance today?"  # finals only: the interim "what is" is dropped
    assert transcript.engine == "deepgram" and transcript.audio_seconds == pytest.approx(0.3)
    sock = fake_socket.opened[0]
    url = urlsplit(sock.url)
    assert (url.scheme, url.netloc, url.path) == ("wss", "api.deepgram.com", "/v1/listen")
    query = parse_qs(url.query)
    assert query["model"] == ["nova-3"] and query["encoding"] == ["linear16"] and query["sample_rate"] == ["16000"]
    assert query["interim_results"] == ["true"] and query["endpointing"] == ["300"]
    assert sock.headers["Authorization"] == f"Token {KEY}"
    assert [len(m) for m in sock.media] == [3200, 3200, 3200]  # 16-bit PCM of 100 ms each
    assert [c["type"] for c in sock.controls] == ["Finalize", "CloseStream"]
    assert sock.closed


async def test_a_stream_that_never_finalizes_fails_cleanly(
    fake_socket: type[FakeDeepgramSocket], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("voice.stt_deepgram.FINALIZE_WAIT", 0.2)

    class Silent(fake_socket):  # type: ignore[misc, valid-type]
        async def send(self, data: Any) -> None:
            if not isinstance(data, bytes):
                self.controls.append(json.loads(data))

    restore_transport()
    stt = DeepgramStt(KEY, transport_factory=Silent)
    stream = await stt.open()
    await stream.send(np.zeros(1600, np.float32))
    with pytest.raises(EngineFailed, match="did not finalize"):
        await stream.finish()
    assert fake_socket.opened[0].closed


@respx.mock
async def test_uploads_go_to_the_prerecorded_endpoint() -> None:
    body = {
        "metadata": {"request_id": "r", "created": "2026-01-01T00:00:00Z", "duration": 2.0, "channels": 1},
        "results": {"channels": [{"alternatives": [{"transcript": "Lecture notes start here.", "confidence": 0.9}]}]},
    }
    route = respx.post("https://api.deepgram.com/v1/listen").mock(return_value=httpx.Response(200, json=body))
    t = await DeepgramStt(KEY).transcribe(np.zeros(32000, np.float32))
    assert t.text == "Lecture notes start here." and t.audio_seconds == 2.0
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Token {KEY}"
    assert request.url.params["model"] == "nova-3" and request.url.params["smart_format"] == "true"
    assert request.content[:4] == b"RIFF"


@respx.mock
async def test_a_refused_upload_is_a_typed_error() -> None:
    respx.post("https://api.deepgram.com/v1/listen").mock(return_value=httpx.Response(401, json={"err_code": "x"}))
    with pytest.raises(EngineFailed, match="HTTP 401"):
        await DeepgramStt(KEY).transcribe(np.zeros(1600, np.float32))
