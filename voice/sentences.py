"""Cuts streamed model text into pieces to speak: each finished sentence at once, and the first
piece short (its first clause, or its first few words), because the first audio byte waits on
the whole first piece: hibari renders a piece at once, in time that grows with its length."""

from __future__ import annotations

import re

_END = re.compile(r"[.!?…]+[\"')\]]*\s+|\n+")
_CLAUSE = re.compile(r"[,;:—]\s+")
FIRST_CLAUSE_MIN = 24  # characters: shorter clauses sound clipped
FIRST_MAX = 40  # a longer first piece is cut...
FIRST_WORDS = 28  # ...at its first clause, or else at the last word boundary before this


def split_first(text: str) -> tuple[str, str] | None:
    """The first piece's head and the rest, or None when it is short enough already."""
    if len(text) <= FIRST_MAX:
        return None
    m = _CLAUSE.search(text, FIRST_CLAUSE_MIN)
    if m is not None and text[m.end() :].strip():
        return text[: m.end()].strip(), text[m.end() :]
    cut = text.rfind(" ", FIRST_CLAUSE_MIN // 2, FIRST_WORDS + 1)
    if cut > 0 and text[cut:].strip():
        return text[:cut].strip(), text[cut:]
    return None


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
            if not piece:
                continue
            split = split_first(piece) if self._first else None
            out.extend([split[0], split[1].strip()] if split else [piece])
            self._first = False
        if self._first and not out:
            split = split_first(self._buf)
            if split is not None:
                out.append(split[0])
                self._buf = split[1].lstrip()
                self._first = False
        return out

    def flush(self) -> list[str]:
        piece, self._buf = self._buf.strip(), ""
        return [piece] if piece else []
