"""Voice latency: from the end of the owner's speech to the first audio byte back, split by stage,
with the model replaced by a stand-in of fixed latency; then STT and TTS real-time factors and memory.

Run with ``uv run python bench/voice_latency.py [--model-ms 300] [--runs 10]``. The questions are
WAV audio made offline by the offline TTS (hibari), streamed through the real voice session (Silero
VAD, faster-whisper tiny.en, the sentence cutter, hibari) as 64 ms PCM frames in real time, as a
phone sends them (the session starts the transcript after 96 ms of silence, before the 500 ms
endpoint). The endpointing wait is counted in audio time.

Stages (seconds after the end of turn): ``stt_start`` (when the transcript was started, negative:
before the endpoint), ``stt`` (the transcript is ready), ``model`` (first text;
the stand-in sleeps a fixed time), ``cut`` (the first sentence is complete), ``tts`` (its first
audio chunk is sent). Overhead = first audio - model latency, i.e. the pipeline's own cost beyond
the endpointing wait and the model. Goal: overhead <= 0.3 s. The baseline of the ratio printed last
is the unavoidable part measured in the same run: endpointing wait + the model's fixed latency.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from agent.loop import EventSink, TurnEvent
from voice.audio import STT_RATE, float_to_pcm16, resample
from voice.engines import VoiceEngines, VoiceSettings
from voice.session import Timing, VoiceSession
from voice.stt_local import WhisperStt
from voice.tts_local import HibariTts
from voice.vad import FRAME, SileroModel, TurnDetector

QUESTIONS = [
    "What is my balance?",
    "Did Dana answer my email about the report?",
    "What is on my calendar tomorrow morning?",
    "Remind me to call the bank at five.",
    "How much did I spend on groceries this week?",
]
ANSWER = "Your checking account holds 3,624 dollars. The credit card owes 1,290 dollars, due on Friday."


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class StandIn:
    """The model's place: a fixed wait, then the answer streamed word by word."""

    def __init__(self, latency: float) -> None:
        self.latency = latency

    async def run(self, text: str, events: EventSink) -> None:
        await asyncio.sleep(self.latency)
        for word in ANSWER.split(" "):
            await events(TurnEvent("text", {"text": word + " "}))

    async def interrupted(self, text: str, heard: str) -> None:
        return None


class Phone:
    def __init__(self) -> None:
        self.idle = asyncio.Event()

    async def json(self, message: dict[str, Any]) -> None:
        if message.get("type") == "timing":
            self.idle.set()

    async def audio(self, pcm: bytes) -> None:
        return None


async def keep(*_args: Any) -> None:
    return None


def endpoint_wait(vad: SileroModel, audio: np.ndarray[Any, Any], end_ms: int) -> tuple[float, float]:
    """Audio seconds from the last voiced frame to the frame where the turn ends, and the VAD's
    wall time per 32 ms frame."""
    det = TurnDetector(vad, end_ms=end_ms)
    last_voiced = ended = 0.0
    spent, frames = 0.0, 0
    for i in range(0, audio.size - FRAME + 1, FRAME):
        in_speech = det.in_speech
        t0 = time.perf_counter()
        edges = det.feed(audio[i : i + FRAME])
        spent, frames = spent + time.perf_counter() - t0, frames + 1
        t = (i + FRAME) / STT_RATE
        if det.in_speech and det.silence_ms == 0:
            last_voiced = t
        if edges and in_speech and not det.in_speech:
            ended = t
            break
    return ended - last_voiced, 1000 * spent / max(frames, 1)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-ms", type=int, default=300)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    latency = args.model_ms / 1000

    load_before = os.getloadavg()[0]
    base = rss_mb()
    t0 = time.perf_counter()
    vad = SileroModel()
    stt = WhisperStt()
    stt_load, after_stt = time.perf_counter() - t0, rss_mb()
    t0 = time.perf_counter()
    tts = HibariTts()
    tts_load, after_tts = time.perf_counter() - t0, rss_mb()
    settings = VoiceSettings(end_of_turn_ms=500)
    engines = VoiceEngines(vad, stt, tts, settings, stt)

    clips = []
    for q in QUESTIONS:
        said = np.concatenate([c async for c in tts.synthesize(q)])
        clips.append(resample(said, tts.sample_rate, STT_RATE))
    pad = np.zeros(STT_RATE // 2, np.float32)

    timings: list[Timing] = []
    waits: list[float] = []
    vad_ms: list[float] = []
    for run in range(args.runs):
        clip = clips[run % len(clips)]
        audio = np.concatenate([pad, clip, pad, pad, pad])
        wait, frame_ms = endpoint_wait(vad, audio, settings.end_of_turn_ms)
        waits.append(wait)
        vad_ms.append(frame_ms)
        phone = Phone()
        session = VoiceSession(engines, StandIn(latency), phone, keep)
        await session.control({"type": "hello", "rate": STT_RATE})
        pcm = float_to_pcm16(audio)
        step = 2 * STT_RATE * 64 // 1000
        start = time.perf_counter()
        for n, i in enumerate(range(0, len(pcm), step)):
            # Real time, as a phone sends it: 64 ms of audio every 64 ms.
            await asyncio.sleep(max(0.0, start + n * 0.064 - time.perf_counter()))
            await session.audio(pcm[i : i + step])
            if phone.idle.is_set():
                break
        await phone.idle.wait()
        timings.append(session.timings[-1])
        await session.close()

    def stage(name: str, values: list[float]) -> None:
        print(f"  {name:<28} p50 {1000 * statistics.median(values):7.1f} ms   p95 {1000 * pct(values, 0.95):7.1f} ms")

    stt_s = [t.stt or 0 for t in timings]
    model_s = [(t.first_text or 0) - (t.stt or 0) for t in timings]
    cut_s = [(t.first_sentence or 0) - (t.first_text or 0) for t in timings]
    tts_s = [(t.first_audio or 0) - (t.first_sentence or 0) for t in timings]
    first = [t.first_audio or 0 for t in timings]
    overhead = [f - latency for f in first]
    print(f"voice latency, {args.runs} turns, stand-in model {args.model_ms} ms, end of turn after 500 ms silence")
    # The machine is shared: its load says how far these CPU figures are from an idle one's.
    print(f"  load average (2 cores): {load_before:.1f} at start, {os.getloadavg()[0]:.1f} at the end")
    stage("endpointing wait (audio)", waits)
    stage("STT started (vs endpoint)", [t.stt_start or 0 for t in timings])
    stage("STT tiny.en after endpoint", stt_s)
    stage("model stand-in + agent", model_s)
    stage("first sentence complete", cut_s)
    stage("TTS first chunk sent", tts_s)
    stage("end of turn -> first audio", first)
    stage("overhead (minus the model)", overhead)
    print(f"  VAD cost per 32 ms frame     {statistics.median(vad_ms):.3f} ms (inside the endpointing wait)")
    verdict = "met" if statistics.median(overhead) <= 0.3 else "NOT met"
    print(f"  goal overhead <= 300 ms at p50: {verdict}")

    # Real-time factors.
    long_clip = np.concatenate(clips)
    t0 = time.perf_counter()
    await stt.transcribe(long_clip)
    stt_rtf = (time.perf_counter() - t0) / (long_clip.size / STT_RATE)
    short = clips[0]
    t0 = time.perf_counter()
    await stt.transcribe(short)
    stt_short = time.perf_counter() - t0
    text = " ".join([ANSWER] * 3)
    t0 = time.perf_counter()
    out = [c async for c in tts.synthesize(text)]
    tts_wall = time.perf_counter() - t0
    tts_rtf = tts_wall / (sum(c.size for c in out) / tts.sample_rate)
    print(f"STT tiny.en: RTF {stt_rtf:.3f} on {long_clip.size / STT_RATE:.1f} s; one short question {stt_short:.2f} s")
    print(f"TTS hibari:  RTF {tts_rtf:.4f} on {sum(c.size for c in out) / tts.sample_rate:.1f} s of speech")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"memory: start {base:.0f} MB, +Whisper+VAD {after_stt - base:.0f} MB (load {stt_load:.2f} s), "
        f"+hibari {after_tts - after_stt:.0f} MB (load {tts_load:.2f} s), peak RSS {peak:.0f} MB"
    )
    unavoidable = statistics.median(waits) + latency
    total = statistics.median(waits) + statistics.median(first)
    print(f"ratio (speech end -> first audio) / (endpointing wait + model) = {total / unavoidable:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
