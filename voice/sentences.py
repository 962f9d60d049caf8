"""Cuts streamed model text into pieces to speak: each finished sentence at once, and the first
clause early when the first sentence runs long (the first audio byte waits on it)."""

from __future__ import annotations

import re

_END = re.compile(r"[.!?…]+[\"')\]]*\s+|\n+")
_CLAUSE = re.compile(r"[,;:—]\s+")
FIRST_CLAUSE_MIN = 24  # characters: shorter clauses sound clipped


class SentenceCutter:
    def __init__(self) -> None:
        self._buf = ""
        self._first = True

    def feed(self, text: str) -> list[str]:
        self._buf += text
        out: list[str] = []
        while True:
            m = _END.search(self._buf)
            if m is None:
                break
            piece, self._buf = self._buf[: m.end()].strip(), self._buf[m.end() :]
            if piece:
                out.append(piece)
                self._first = False
        if self._first and not out:
            m = _CLAUSE.search(self._buf, FIRST_CLAUSE_MIN)
            if m is not None:
                piece, self._buf = self._buf[: m.end()].strip(), self._buf[m.end() :]
                out.append(piece)
                self._first = False
        return out

    def flush(self) -> list[str]:
        piece, self._buf = self._buf.strip(), ""
        return [piece] if piece else []
