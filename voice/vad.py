"""Voice activity and end of turn: Silero VAD v6 (the ONNX file that ships inside faster-whisper),
run frame by frame with its recurrent state carried, and a silence timer that ends the turn.

A semantic end-of-turn model (Smart Turn) did not earn its cost here: it ships only inside
pipecat-ai's wheel, needs its own mel features, and costs ~55 ms per window on this CPU against
Silero's ~0.1 ms per frame; hold-to-talk ends a turn at once anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from voice.audio import Samples
from voice.ports import EngineUnavailable

FRAME = 512  # samples at 16 kHz: 32 ms
CONTEXT = 64


def silero_path() -> Path:
    try:
        import faster_whisper
    except ImportError as exc:
        raise EngineUnavailable("faster-whisper is not installed, so Silero VAD is missing") from exc
    return Path(faster_whisper.__file__).parent / "assets" / "silero_vad_v6.onnx"


class SileroModel:
    """The loaded ONNX session; one per process, shared by every stream (the state lives in the stream)."""

    def __init__(self, path: Path | None = None) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        opts.log_severity_level = 4
        self._session: Any = ort.InferenceSession(
            str(path or silero_path()), sess_options=opts, providers=["CPUExecutionProvider"]
        )

    def step(self, frame: Samples, context: Samples, h: Any, c: Any) -> tuple[float, Any, Any]:
        batch = np.concatenate([context, frame])[None, :].astype(np.float32)
        out, h, c = self._session.run(None, {"input": batch, "h": h, "c": c})
        return float(np.asarray(out).reshape(-1)[0]), h, c


class Edge(Enum):
    SPEECH_START = "speech_start"
    TURN_END = "turn_end"


@dataclass
class TurnDetector:
    """Feeds 16 kHz audio through the VAD; reports when speech starts and when the turn ends
    (``end_ms`` of silence after at least ``min_speech_ms`` of speech)."""

    model: SileroModel
    threshold: float = 0.5
    end_ms: int = 500
    min_speech_ms: int = 96
    in_speech: bool = False
    _pending: Samples = field(default_factory=lambda: np.zeros(0, np.float32))
    _context: Samples = field(default_factory=lambda: np.zeros(CONTEXT, np.float32))
    _h: Any = field(default_factory=lambda: np.zeros((1, 1, 128), np.float32))
    _c: Any = field(default_factory=lambda: np.zeros((1, 1, 128), np.float32))
    _speech_ms: int = 0
    silence_ms: int = 0

    def feed(self, samples: Samples) -> list[Edge]:
        self._pending = np.concatenate([self._pending, samples])
        edges: list[Edge] = []
        while self._pending.size >= FRAME:
            frame, self._pending = self._pending[:FRAME], self._pending[FRAME:]
            prob, self._h, self._c = self.model.step(frame, self._context, self._h, self._c)
            self._context = frame[-CONTEXT:]
            edge = self._advance(prob >= self.threshold)
            if edge is not None:
                edges.append(edge)
        return edges

    def _advance(self, voiced: bool) -> Edge | None:
        ms = FRAME * 1000 // 16_000
        if voiced:
            self.silence_ms = 0
            self._speech_ms += ms
            if not self.in_speech and self._speech_ms >= self.min_speech_ms:
                self.in_speech = True
                return Edge.SPEECH_START
            return None
        if not self.in_speech:
            self._speech_ms = 0
            return None
        self.silence_ms += ms
        if self.silence_ms >= self.end_ms:
            self.reset()
            return Edge.TURN_END
        return None

    def reset(self) -> None:
        self.in_speech = False
        self._speech_ms = self.silence_ms = 0
