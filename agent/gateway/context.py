"""Conversation taint and per-argument provenance.

:class:`ContextLabel` accumulates ``ctx_label = join of everything appended`` to one conversation
(or sub-conversation): the owner's turns, tool results, memory read back. Once text is in the
model's context any output may depend on it, so this is sound for an unmodified tool loop.

It also keeps the (normalised) text of each segment, which gives **argument provenance**:

* an argument is OWNER-derived when its value appears verbatim (case-folded, whitespace
  collapsed, at token boundaries) in an OWNER segment — the user's turn, an owner-approved
  plan, or owner config such as the contact book; its label is that segment's label;
* otherwise it inherits the whole context label. For the approval card it is attributed to the
  first untrusted item that contains it verbatim, or else reported as agent-generated after
  reading N untrusted items.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from agent.gateway.labels import ALL, Conf, Integrity, Label, LabelledResult, Readers, Source, readers_of

__all__ = ["ArgProvenance", "ContextLabel", "Origin", "Segment", "atoms", "normalise"]

_WS = re.compile(r"\s+")
# Characters that continue a token: a value must not match inside a longer word, number or address.
_TOKEN_CHARS = frozenset("@_+-/")


def normalise(text: str) -> str:
    """Case-fold and collapse whitespace. Deliberately no NFKC: look-alikes must not match."""
    return _WS.sub(" ", text).strip().casefold()


def atoms(value: Any) -> Iterator[str]:
    """The scalar leaves of a JSON-like value, as normalised strings (empty ones skipped)."""
    if value is None:
        return
    if isinstance(value, bool):
        yield "true" if value else "false"
    elif isinstance(value, int):
        yield str(value)
    elif isinstance(value, float):
        yield str(int(value)) if value.is_integer() else repr(value)
    elif isinstance(value, str):
        n = normalise(value)
        if n:
            yield n
    elif isinstance(value, dict):
        for v in value.values():
            yield from atoms(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from atoms(v)
    else:
        yield normalise(repr(value))


def _contains_token(haystack: str, needle: str) -> bool:
    """``needle`` occurs in ``haystack`` not glued to surrounding word/number/address characters."""
    start = haystack.find(needle)
    while start != -1:
        end = start + len(needle)
        before = haystack[start - 1] if start > 0 else " "
        after = haystack[end] if end < len(haystack) else " "
        after2 = haystack[end + 1] if end + 1 < len(haystack) else " "
        left_ok = not (before.isalnum() or before in _TOKEN_CHARS or before == ".")
        right_ok = not (after.isalnum() or after in _TOKEN_CHARS or (after == "." and after2.isalnum()))
        if left_ok and right_ok:
            return True
        start = haystack.find(needle, start + 1)
    return False


def content_text(content: Any) -> str:
    """The text a model would see for a tool result: strings as-is, anything else as JSON."""
    if isinstance(content, str):
        return content
    return json.dumps(content, ensure_ascii=False, sort_keys=True, default=str)


class Origin(Enum):
    """Where an argument value came from; the value is the approval-card chip."""

    TYPED = "typed by you"
    CONTACTS = "from your contacts"
    PLAN = "from plan"
    CONFIG = "from your settings"
    EDITED = "edited by you"
    TRUSTED_TOOL = "from a trusted tool"  # a result the registry labels OWNER/SYSTEM integrity
    UNTRUSTED_ITEM = "from untrusted"
    AGENT = "agent-generated"

    @property
    def owner(self) -> bool:
        return self in _OWNER_ORIGINS


_OWNER_ORIGINS = frozenset(
    {Origin.TYPED, Origin.CONTACTS, Origin.PLAN, Origin.CONFIG, Origin.EDITED, Origin.TRUSTED_TOOL}
)


@dataclass(frozen=True, slots=True)
class Segment:
    """One thing appended to the context: normalised text, its label, and (for owner text) origin."""

    text: str
    label: Label
    origin: Origin | None  # set for owner segments only


@dataclass(frozen=True, slots=True)
class ArgProvenance:
    arg: str
    origin: Origin
    label: Label
    chip: str
    source: Source | None = None  # the untrusted item it was found in, if any
    also_untrusted: tuple[Source, ...] = ()  # owner-derived, yet untrusted content holds it too

    @property
    def contested(self) -> bool:
        return bool(self.also_untrusted)

    @property
    def owner(self) -> bool:
        return self.origin.owner


class ContextLabel:
    """The running join of everything appended to one conversation, plus the segments' text."""

    def __init__(self, *, owner: str = "owner", clock: Callable[[], datetime] | None = None) -> None:
        self.owner = owner
        self._clock = clock or (lambda: datetime.now(UTC))
        self._label = Label.clean()
        self._segments: list[Segment] = []

    @property
    def label(self) -> Label:
        return self._label

    @property
    def segments(self) -> tuple[Segment, ...]:
        return tuple(self._segments)

    @property
    def untrusted_count(self) -> int:
        """How many appended items were below OWNER integrity."""
        return sum(1 for s in self._segments if s.label.integrity < Integrity.OWNER)

    def add_owner_text(
        self,
        text: str,
        origin: Origin = Origin.TYPED,
        *,
        item_id: str = "turn",
        conf: Conf = Conf.PUBLIC,
        readers: Iterable[str] | None = None,
    ) -> Label:
        """Append an OWNER segment (a user turn, contact book, plan or owner config).

        The owner declassifies what they type, so the default is PUBLIC and readable by anyone;
        pass ``conf``/``readers`` for owner data that is private (e.g. the contact book).
        """
        if not origin.owner:
            raise ValueError(f"{origin} is not an owner origin")
        src = Source("owner", "console", origin.name.lower(), item_id, self.owner, self._clock())
        rd: Readers = ALL if readers is None else readers_of(readers)
        label = Label(Integrity.OWNER, conf, rd, frozenset({src}))
        self._segments.append(Segment(normalise(text), label, origin))
        self._label = self._label.join(label)
        return label

    def append(self, result: LabelledResult) -> None:
        """Append a (redacted) tool result: it taints the context with its label."""
        self.append_text(content_text(result.content), result.label)

    def append_text(self, text: str, label: Label) -> None:
        origin = Origin.TRUSTED_TOOL if label.integrity >= Integrity.OWNER else None
        self._segments.append(Segment(normalise(text), label, origin))
        self._label = self._label.join(label)

    def private_texts(self) -> list[str]:
        """Normalised text of every segment labelled PRIVATE or SECRET."""
        return [s.text for s in self._segments if s.label.conf >= Conf.PRIVATE]

    def public_texts(self) -> list[str]:
        """Normalised text of PUBLIC segments (owner turns, public pages)."""
        return [s.text for s in self._segments if s.label.conf == Conf.PUBLIC]

    def seen_verbatim(self, value: str) -> bool:
        """``value`` appears whole (at token boundaries) in some appended segment."""
        n = normalise(value)
        return any(_contains_token(s.text, n) for s in self._segments)

    def found_in_public_web(self, value: str) -> bool:
        """``value`` appears verbatim in a PUBLIC page fetched through the egress guard."""
        n = normalise(value)
        return any(
            s.label.conf == Conf.PUBLIC
            and s.label.sources
            and all(x.channel == "web" for x in s.label.sources)
            and _contains_token(s.text, n)
            for s in self._segments
        )

    def owner_texts(self) -> list[str]:
        return [s.text for s in self._segments if s.origin is not None and s.origin.owner]

    # -- provenance -----------------------------------------------------------------------------

    def untrusted_holders(self, value: Any) -> list[Source]:
        """The untrusted sources whose results hold every scalar leaf of ``value``."""
        leaves = list(atoms(value))
        out: list[Source] = []
        for seg in self._segments:
            if seg.label.integrity < Integrity.OWNER and leaves and all(_contains_token(seg.text, v) for v in leaves):
                out += [s for s in seg.label.untrusted_sources() if s not in out]
        return out

    def owner_segment_for(self, atom: str) -> Segment | None:
        for seg in self._segments:
            if seg.origin is not None and seg.origin.owner and _contains_token(seg.text, atom):
                return seg
        return None

    def provenance(self, arg: str, value: Any) -> ArgProvenance:
        """Label one argument. OWNER only if every scalar leaf is found in an owner segment."""
        leaves = list(atoms(value))
        owner_segs: list[Segment] = []
        for leaf in leaves:
            seg = self.owner_segment_for(leaf)
            if seg is None:
                return self._inherited(arg, leaf)
            owner_segs.append(seg)
        if not owner_segs:  # empty / null carries no information
            return ArgProvenance(arg, Origin.TYPED, _owner_only(), Origin.TYPED.value)
        origin = owner_segs[0].origin or Origin.TYPED
        label = Label.join_all(s.label for s in owner_segs)
        return ArgProvenance(arg, origin, label, origin.value)

    def _inherited(self, arg: str, leaf: str) -> ArgProvenance:
        ctx = self._label
        # Every source that could have contributed: all items of every untrusted result holding the value
        # (a multi-item result cannot say which item it came from, so none of them is left out).
        srcs: list[Source] = []
        found = False
        for seg in self._segments:
            if seg.label.integrity < Integrity.OWNER and _contains_token(seg.text, leaf):
                found = True
                srcs += [s for s in seg.label.untrusted_sources() if s not in srcs]
        if found:
            where = "; ".join(s.describe() for s in srcs) or "an untrusted item"
            src = srcs[0] if srcs else None
            return ArgProvenance(arg, Origin.UNTRUSTED_ITEM, ctx, f"from untrusted: {where}", src)
        n = self.untrusted_count
        if n == 0:
            chip = "agent-generated (no untrusted content read)"
        else:
            chip = f"agent-generated after reading {n} untrusted item{'s' if n != 1 else ''}"
        return ArgProvenance(arg, Origin.AGENT, ctx, chip)


def _owner_only() -> Label:
    return Label(Integrity.OWNER, Conf.PUBLIC, ALL, frozenset())
