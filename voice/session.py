"""One voice conversation over one socket: audio in, end of turn, transcript, the agent's streamed
answer spoken sentence by sentence, and barge-in.

Messages to the phone are JSON (``state``, ``transcript``, ``reply``, ``approval``, ``stop``,
``timing``, ``error``) plus binary frames of 16-bit PCM at the rate the ``speaking`` state names.

Voice policy: a voice turn never approves anything. A side effect the agent proposes is held by
the gateway as an approval card (with its notification); the spoken answer says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import structlog

from agent.loop import EventSink, TurnEvent
from voice.audio import STT_RATE, Samples, float_to_pcm16, pcm16_to_float, resample, wav_bytes
from voice.engines import VoiceEngines
from voice.playout import Playout
from voice.ports import SttStream, Transcript, VoiceError
from voice.sentences import SentenceCutter
from voice.vad import Edge, TurnDetector

log = structlog.get_logger("aegis.voice")
APPROVAL_SENTENCE = (
    "I have not done that. Voice can't approve anything: it is waiting for your approval in the console, "
    "and I sent you a notification."
)
PRE_ROLL = int(0.3 * STT_RATE)  # audio kept from before the VAD noticed speech
EARLY_MS = 96  # silence after which the transcript is prepared, before the turn is sure to end
MAX_TURN_SECONDS = 60
RATES = (8_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000)


class Outbox(Protocol):
    async def json(self, message: dict[str, Any]) -> None: ...

    async def audio(self, pcm: bytes) -> None: ...


class VoiceAgent(Protocol):
    async def run(self, text: str, events: EventSink) -> None:
        """One chat turn for ``text``, streaming its events; stores the turn when it completes."""
        ...

    async def interrupted(self, text: str, heard: str) -> None:
        """The owner cut the answer off: keep it in the conversation only up to ``heard``."""
        ...


TranscriptSink = Callable[[str, str, str, float, bytes | None], Awaitable[None]]  # speaker, text, engine, s, wav


@dataclass
class Timing:
    """Seconds from the end of the owner's turn (the endpoint) to each stage of the reply."""

    endpoint: float = 0.0  # perf_counter at the end of turn
    stt_start: float | None = None  # negative: the transcript was started before the endpoint
    stt: float | None = None
    first_text: float | None = None
    first_sentence: float | None = None
    first_audio: float | None = None

    def mark(self, name: str) -> None:
        if getattr(self, name) is None:
            setattr(self, name, time.perf_counter() - self.endpoint)

    def to_dict(self) -> dict[str, float | None]:
        return {k: getattr(self, k) for k in ("stt_start", "stt", "first_text", "first_sentence", "first_audio")}


@dataclass
class VoiceSession:
    engines: VoiceEngines
    agent: VoiceAgent
    out: Outbox
    keep: TranscriptSink
    rate: int = STT_RATE
    hands_free: bool = True
    timings: list[Timing] = field(default_factory=list)
    _detector: TurnDetector | None = None
    _stream: SttStream | None = None
    _heard_audio: list[Samples] = field(default_factory=list)
    _pre_roll: Samples = field(default_factory=lambda: np.zeros(0, np.float32))
    _reply: asyncio.Task[None] | None = None
    _early: asyncio.Task[Transcript | None] | None = None
    _early_at: float = 0.0
    _playout: Playout = field(default_factory=Playout)
    _reply_text: str = ""
    _owner_text: str = ""
    _holding: bool = False

    def __post_init__(self) -> None:
        s = self.engines.settings
        self._detector = TurnDetector(self.engines.vad, end_ms=s.end_of_turn_ms)

    # ---- input ----------------------------------------------------------------------------

    async def control(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "hello":
            rate = message.get("rate")
            self.rate = rate if isinstance(rate, int) and rate in RATES else STT_RATE
            self.hands_free = message.get("mode") != "hold"
            await self._state("listening")
        elif kind == "start":  # hold-to-talk pressed: the owner talks now, whatever was playing
            self._holding = True
            await self.barge_in()
            await self._open_stream()
        elif kind == "end" and self._holding:
            self._holding = False
            await self._end_turn()
        elif kind == "stop":
            await self.barge_in()

    async def audio(self, pcm: bytes) -> None:
        samples = resample(pcm16_to_float(pcm), self.rate, STT_RATE)
        if self._holding:
            await self._capture(samples)
            return
        if not self.hands_free:
            return
        assert self._detector is not None
        for edge in self._detector.feed(samples):
            if edge is Edge.SPEECH_START:
                await self.barge_in()
                await self._open_stream()
            elif edge is Edge.TURN_END:
                await self._capture(samples)
                await self._end_turn()
                return
        if self._stream is not None:
            await self._capture(samples)
            self._prepare_early(self._detector)
        else:
            self._pre_roll = np.concatenate([self._pre_roll, samples])[-PRE_ROLL:]

    def _prepare_early(self, detector: TurnDetector) -> None:
        """After a short silence, transcribe what was said so far; talking again discards it."""
        if self._early is not None and detector.silence_ms == 0:
            self._early.cancel()
            self._early = None
        elif self._early is None and self._stream is not None and detector.silence_ms >= EARLY_MS:
            self._early = asyncio.create_task(self._stream.peek(), name="voice-early-stt")
            self._early_at = time.perf_counter()

    async def _open_stream(self) -> None:
        if self._stream is not None:
            return
        try:
            self._stream = await self.engines.stt.open()
        except VoiceError as exc:
            local = self.engines.local_stt
            if local is None or local is self.engines.stt:
                raise
            log.warning("speech to text failed, using the local engine", reason=str(exc))
            self._stream = await local.open()
        self._heard_audio = []
        if self._pre_roll.size:
            await self._capture(self._pre_roll)
            self._pre_roll = np.zeros(0, np.float32)

    async def _capture(self, samples: Samples) -> None:
        if self._stream is None:
            return
        self._heard_audio.append(samples)
        await self._stream.send(samples)
        if sum(a.size for a in self._heard_audio) > MAX_TURN_SECONDS * STT_RATE:
            await self._end_turn()

    async def _end_turn(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        timing = Timing(time.perf_counter())
        early, self._early = self._early, None
        timing.stt_start = (self._early_at if early is not None else time.perf_counter()) - timing.endpoint
        await self._state("thinking")
        try:
            prepared = await early if early is not None else None
            if prepared is not None:
                await stream.cancel()
            transcript = prepared or await stream.finish()
        except VoiceError as exc:
            await self.out.json({"type": "error", "message": str(exc)})
            await self._state("listening")
            return
        timing.mark("stt")
        text = transcript.text.strip()
        await self.out.json({"type": "transcript", "role": "owner", "text": text, "engine": transcript.engine})
        if not text:
            await self._state("listening")
            return
        audio = np.concatenate(self._heard_audio) if self._heard_audio else None
        wav = wav_bytes(audio, STT_RATE) if audio is not None and self.engines.settings.store_audio else None
        await self.keep("owner", text, transcript.engine, transcript.audio_seconds, wav)
        self._owner_text = text
        self._reply = asyncio.create_task(self._respond(text, timing), name="voice-reply")

    # ---- the answer -----------------------------------------------------------------------

    async def _respond(self, text: str, timing: Timing) -> None:
        self._playout = Playout()
        self._reply_text = ""
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        cutter = SentenceCutter()
        approvals: list[str] = []

        async def on_event(event: TurnEvent) -> None:
            if event.kind == "text":
                chunk = str(event.data.get("text", ""))
                timing.mark("first_text")
                self._reply_text += chunk
                await self.out.json({"type": "reply", "text": chunk})
                for piece in cutter.feed(chunk):
                    timing.mark("first_sentence")
                    queue.put_nowait(piece)
            elif event.kind == "tool_result":
                approval = (event.data.get("meta") or {}).get("approval_id")
                if approval:
                    approvals.append(str(approval))
                    await self.out.json({"type": "approval", "id": str(approval), "url": f"/approvals/{approval}"})
            elif event.kind == "stopped":
                reason = str(event.data.get("reason", ""))
                await self.out.json({"type": "error", "message": reason})

        speaker = asyncio.create_task(self._speak(queue, timing), name="voice-speaker")
        try:
            await self.agent.run(text, on_event)
            for piece in cutter.flush():
                queue.put_nowait(piece)
            if approvals:
                said = ("\n\n" if self._reply_text else "") + APPROVAL_SENTENCE
                self._reply_text += said
                await self.out.json({"type": "reply", "text": said})
                queue.put_nowait(APPROVAL_SENTENCE)
            queue.put_nowait(None)
            await speaker
        except asyncio.CancelledError:
            speaker.cancel()
            with contextlib.suppress(asyncio.CancelledError, VoiceError):
                await speaker
            raise
        except Exception as exc:
            speaker.cancel()
            with contextlib.suppress(asyncio.CancelledError, VoiceError):
                await speaker
            log.exception("voice turn failed")
            await self.out.json({"type": "error", "message": f"The turn failed ({type(exc).__name__})."})
            await self._state("listening")
            return
        self.timings.append(timing)
        await self.out.json({"type": "timing", **timing.to_dict()})
        await self.keep("assistant", self._reply_text.strip(), self.engines.tts.name, self._playout.total, None)
        await self._state("listening")

    async def _speak(self, queue: asyncio.Queue[str | None], timing: Timing) -> None:
        tts = self.engines.tts
        while (piece_text := await queue.get()) is not None:
            piece = self._playout.begin_piece(piece_text)
            # aclosing: a barge-in cancels this mid-sentence; the engine is released at once.
            async with contextlib.aclosing(tts.synthesize(piece_text)) as chunks:
                async for chunk in chunks:
                    if not self._playout.clock:
                        await self.out.json({"type": "state", "state": "speaking", "rate": tts.sample_rate})
                    await self.out.audio(float_to_pcm16(chunk))
                    timing.mark("first_audio")
                    self._playout.sent(piece, chunk.size / tts.sample_rate)

    # ---- barge-in -------------------------------------------------------------------------

    async def barge_in(self) -> bool:
        """Stop the answer now: cancel what is running, tell the phone to drop its queued audio,
        and keep the answer only up to what was heard. False when nothing was being said."""
        task, self._reply = self._reply, None
        running = task is not None and not task.done()
        if not running and not self._playout.playing():
            return False
        heard = self._playout.heard()
        self._playout = Playout()
        await self.out.json({"type": "stop", "heard": heard})
        if task is not None and running:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.shield(self.agent.interrupted(self._owner_text, heard))
        await self.keep("assistant", heard, self.engines.tts.name, 0.0, None)
        await self._state("listening")
        return True

    async def close(self) -> None:
        if self._early is not None:
            self._early.cancel()
        task, self._reply = self._reply, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(VoiceError):
                await stream.cancel()

    async def _state(self, state: str) -> None:
        await self.out.json({"type": "state", "state": state})
