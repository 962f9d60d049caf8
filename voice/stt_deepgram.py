"""Speech to text through Deepgram (``deepgram-sdk`` v7): live streaming for voice turns, the
pre-recorded endpoint for uploads.

Our own VAD decides when the turn ends; then a ``Finalize`` message makes Deepgram flush what it
holds, and the stream's final results up to the one marked ``from_finalize`` are the transcript.
The API key comes from the secrets folder, never from the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

from voice.audio import STT_RATE, Samples, float_to_pcm16, wav_bytes
from voice.ports import EngineFailed, EngineUnavailable, SttStream, Transcript

MODEL = "nova-3"
FINALIZE_WAIT = 5.0


class DeepgramStt:
    name = "deepgram"

    def __init__(self, api_key: str, *, transport_factory: Callable[..., Any] | None = None) -> None:
        try:
            from deepgram import AsyncDeepgramClient
        except ImportError as exc:
            raise EngineUnavailable("deepgram-sdk is not installed") from exc
        extra: dict[str, Any] = {"transport_factory": transport_factory} if transport_factory else {}
        self._client: Any = AsyncDeepgramClient(api_key=api_key, **extra)

    async def open(self) -> SttStream:
        stack = AsyncExitStack()
        try:
            conn = await stack.enter_async_context(
                self._client.listen.v1.connect(
                    model=MODEL,
                    encoding="linear16",
                    sample_rate=STT_RATE,
                    channels=1,
                    interim_results="true",
                    smart_format="true",
                    endpointing=300,
                    vad_events="true",
                )
            )
        except Exception as exc:
            await stack.aclose()
            raise EngineFailed(f"could not open the Deepgram stream: {type(exc).__name__}") from exc
        return _DeepgramStream(conn, stack)

    async def transcribe(self, samples: Samples) -> Transcript:
        from deepgram.core.api_error import ApiError

        start = time.perf_counter()
        try:
            resp = await self._client.listen.v1.media.transcribe_file(
                request=wav_bytes(samples, STT_RATE), model=MODEL, smart_format=True, punctuate=True
            )
        except ApiError as exc:
            raise EngineFailed(f"Deepgram refused the recording (HTTP {exc.status_code})") from exc
        text = str(resp.results.channels[0].alternatives[0].transcript)
        return Transcript(text, self.name, samples.size / STT_RATE, time.perf_counter() - start)


class _DeepgramStream:
    def __init__(self, conn: Any, stack: AsyncExitStack) -> None:
        self._conn = conn
        self._stack = stack
        self._finals: list[str] = []
        self._done = asyncio.Event()
        self._audio = 0
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for msg in self._conn:
                if getattr(msg, "type", None) != "Results":
                    continue
                if msg.is_final:
                    text = str(msg.channel.alternatives[0].transcript).strip()
                    if text:
                        self._finals.append(text)
                if getattr(msg, "from_finalize", False):
                    break
        finally:
            self._done.set()

    async def send(self, samples: Samples) -> None:
        self._audio += samples.size
        await self._conn.send_media(float_to_pcm16(samples))

    async def finish(self) -> Transcript:
        start = time.perf_counter()
        try:
            await self._conn.send_finalize()
            async with asyncio.timeout(FINALIZE_WAIT):
                await self._done.wait()
            with contextlib.suppress(Exception):
                await self._conn.send_close_stream()
        except TimeoutError as exc:
            raise EngineFailed("Deepgram did not finalize the utterance in time") from exc
        finally:
            await self._close()
        return Transcript(" ".join(self._finals), "deepgram", self._audio / STT_RATE, time.perf_counter() - start)

    async def peek(self) -> Transcript | None:
        return None  # Deepgram transcribes as the audio streams; finish() only flushes

    async def cancel(self) -> None:
        await self._close()

    async def _close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader
        await self._stack.aclose()
