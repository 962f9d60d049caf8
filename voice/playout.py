"""What the owner has heard of a reply: the audio went out faster than real time and the phone
plays it in order from the first chunk, so the playout clock tells how far playback got."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

INTERRUPTED = "…"


@dataclass
class Piece:
    text: str
    start: float  # seconds into the reply's audio
    seconds: float = 0.0


@dataclass
class Playout:
    clock: float = 0.0  # when the first chunk went out (perf_counter), 0 before
    pieces: list[Piece] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(p.seconds for p in self.pieces)

    def begin_piece(self, text: str) -> Piece:
        piece = Piece(text, self.total)
        self.pieces.append(piece)
        return piece

    def sent(self, piece: Piece, seconds: float) -> None:
        if not self.clock:
            self.clock = time.perf_counter()
        piece.seconds += seconds

    def playing(self, now: float | None = None) -> bool:
        now = time.perf_counter() if now is None else now
        return bool(self.clock) and now - self.clock < self.total

    def heard(self, now: float | None = None) -> str:
        """The reply's text up to where playback got; a piece cut mid-way keeps its share of words."""
        if not self.clock:
            return ""
        elapsed = (time.perf_counter() if now is None else now) - self.clock
        out: list[str] = []
        for p in self.pieces:
            if p.seconds <= 0 or p.start >= elapsed:
                break
            if p.start + p.seconds <= elapsed:
                out.append(p.text)
                continue
            words = p.text.split()
            share = int(len(words) * (elapsed - p.start) / p.seconds)
            if share:
                out.append(" ".join(words[:share]) + INTERRUPTED)
            break
        return " ".join(out)
