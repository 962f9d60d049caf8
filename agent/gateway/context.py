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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from agent.gateway.labels import ALL, Conf, Integrity, Label, LabelledResult, Readers, Source, readers_of
from agent.gateway.values import TypedValues, derives, derives_amount, extract

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
    COMPUTED = "computed from your values"  # a sum, difference or percentage of numbers you gave
    TRUSTED_TOOL = "from a trusted tool"  # a result the registry labels OWNER/SYSTEM integrity
    SERVICE_RECORD = "from the service's own record"  # an id, sender or amount the service wrote in a result
    NAMED = "from what you asked for"  # read from the file, page, channel or mail your words named
    UNTRUSTED_ITEM = "from untrusted"
    AGENT = "agent-generated"

    @property
    def owner(self) -> bool:
        return self in _OWNER_ORIGINS


_OWNER_ORIGINS = frozenset(
    {
        Origin.TYPED,
        Origin.CONTACTS,
        Origin.PLAN,
        Origin.CONFIG,
        Origin.EDITED,
        Origin.COMPUTED,
        Origin.TRUSTED_TOOL,
        Origin.SERVICE_RECORD,
        Origin.NAMED,
    }
)
# Segments that hold what was read (not the owner's own words), though their values are the owner's.
_READ_ORIGINS = frozenset({Origin.SERVICE_RECORD, Origin.NAMED})


@dataclass(frozen=True, slots=True)
class Segment:
    """One thing appended to the context: normalised text, its label, (for owner text) origin, and
    the typed values (numbers, dates, times, durations) it states."""

    text: str
    label: Label
    origin: Origin | None  # set for owner segments only
    values: TypedValues = field(default_factory=TypedValues)
    for_money: bool = False  # a source the owner named in the same sentence as paying or a transfer
    for_people: bool = False  # a source the owner said holds an address ("her e-mail is on her site")

    @property
    def owner(self) -> bool:
        return self.origin is not None and self.origin.owner

    def holds(self, atom: str) -> bool:
        """The segment states ``atom``: a number, date or time by value (so the 13 of "June 13"
        is not the number 13), anything else verbatim at token boundaries."""
        typed = derives(atom, self.values)
        return typed if typed is not None else _contains_token(self.text, atom)


@dataclass(frozen=True, slots=True)
class ArgProvenance:
    arg: str
    origin: Origin
    label: Label
    chip: str
    source: Source | None = None  # the untrusted item it was found in, if any
    also_untrusted: tuple[Source, ...] = ()  # owner-derived, yet untrusted content holds it too
    for_money: bool = True  # NAMED: only from sources the owner named when asking to move money
    for_people: bool = True  # NAMED: only from sources the owner said hold the address

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
        self._named_links = 0  # links opened this turn from a source the owner named, private data in view

    @property
    def label(self) -> Label:
        return self._label

    @property
    def segments(self) -> tuple[Segment, ...]:
        return tuple(self._segments)

    @property
    def named_links_left(self) -> int:
        """How many more links from a named source may open this turn with private data in view: each
        choice among a page's links can spell a few bits of it, so a turn gets a small budget."""
        return max(0, NAMED_LINK_BUDGET - self._named_links)

    def named_link_opened(self) -> None:
        self._named_links += 1

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
        n = normalise(text)
        self._segments.append(Segment(n, label, origin, extract(n)))
        self._label = self._label.join(label)
        if origin is Origin.TYPED:
            self._named_links = 0  # a new turn of the owner's
        return label

    def append(
        self,
        result: LabelledResult,
        service_fields: Iterable[str] = (),
        *,
        named: bool = False,
        for_money: bool = False,
        for_people: bool = False,
    ) -> None:
        """Append a (redacted) tool result: it taints the context with its label.

        ``service_fields`` (the registry's) name the fields of each item the service writes itself:
        ids, senders, amounts, times. Their values are kept apart as the service's record (SYSTEM
        integrity, the result's secrecy and sources), the rest (text others wrote) under the
        result's own label. A value found in the record is the service's, not the writer's; one that
        text others wrote also states is contested (see :meth:`record_contested`).

        ``named``: the owner's own words chose what was read (the file, page, channel or sender they
        named; see the gateway). Values in it are the owner's to use, as what they asked for; the
        result still taints the context, so a call after it is still held and the card names it.
        ``for_money``: the owner named it when asking to pay or transfer (money may come from it);
        ``for_people``: the owner said an address is to be found there (a recipient may come from it)."""
        fields = frozenset(service_fields)
        if fields and result.label.integrity < Integrity.OWNER:
            record, rest = split_record(result.content, fields)
            if record:
                lab = result.label
                rec = Label(Integrity.SYSTEM, lab.conf, lab.readers, lab.sources)
                n = normalise(content_text(record))
                self._segments.append(Segment(n, rec, Origin.SERVICE_RECORD, extract(n)))
            self.append_text(content_text(rest), result.label, named=named, lends=(for_money, for_people))
            return
        self.append_text(content_text(result.content), result.label, named=named, lends=(for_money, for_people))

    def append_text(
        self, text: str, label: Label, *, named: bool = False, lends: tuple[bool, bool] = (False, False)
    ) -> None:
        origin = Origin.TRUSTED_TOOL if label.integrity >= Integrity.OWNER else Origin.NAMED if named else None
        n = normalise(text)
        self._segments.append(Segment(n, label, origin, extract(n), named and lends[0], named and lends[1]))
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

    def typed_texts(self) -> list[str]:
        """The owner's own turns."""
        return [s.text for s in self._segments if s.origin is Origin.TYPED]

    def owner_texts(self) -> list[str]:
        return [s.text for s in self._segments if s.origin is not None and s.origin.owner]

    # -- provenance -----------------------------------------------------------------------------

    def untrusted_holders(self, value: Any, *, named: bool = True) -> list[Source]:
        """The untrusted sources whose results hold every scalar leaf of ``value`` (without the ones
        the owner named, if not ``named``)."""
        leaves = list(atoms(value))
        out: list[Source] = []
        for seg in self._segments:
            if not named and seg.origin is Origin.NAMED:
                continue
            if seg.label.integrity < Integrity.OWNER and leaves and all(seg.holds(v) for v in leaves):
                out += [s for s in seg.label.untrusted_sources() if s not in out]
        return out

    def record_contested(self, value: Any) -> list[Source]:
        """The untrusted sources stating a leaf of ``value`` that only the service's record gives the
        owner: an id or address an attacker's text names is the attacker's choice, not the owner's."""
        out: list[Source] = []
        for leaf in atoms(value):
            if self.owner_segment_for(leaf, records=False) is not None:
                continue  # typed by the owner, or in a wholly trusted result
            for seg in self._segments:
                if seg.label.integrity < Integrity.OWNER and seg.origin is not Origin.NAMED and seg.holds(leaf):
                    out += [s for s in seg.label.untrusted_sources() if s not in out]
        return out

    def owner_segment_for(self, atom: str, *, records: bool = True, named: bool = True) -> Segment | None:
        """The first owner segment stating ``atom``; with ``records=False`` only the owner's own words
        and wholly trusted results count, not what was read (a service's record, a source they named);
        with ``named=False`` not a source they named."""
        skip = _READ_ORIGINS if not records else frozenset() if named else frozenset({Origin.NAMED})
        return next((seg for seg in self._segments if seg.owner and seg.origin not in skip and seg.holds(atom)), None)

    def _owner_sources(self, atom: str) -> list[Segment]:
        """The owner segments ``atom`` follows from: one that states it, or (a date-time, the end of
        an event) several owner segments together."""
        seg = self.owner_segment_for(atom)
        if seg is not None:
            return [seg]
        owned = [s for s in self._segments if s.owner]
        typed = [s for s in owned if s.origin is Origin.TYPED]
        for group in (typed, owned):
            values = TypedValues()
            for s in group:
                values = values | s.values
            if group and derives(atom, values):
                return group
        return []

    def computed_amount(self, arg: str, value: Any) -> ArgProvenance | None:
        """A money value computed from the owner's numbers (typed, or read from a trusted result): one
        sum, difference, product or percentage. None when it is not."""
        leaves = list(atoms(value))
        owned = [s for s in self._segments if s.owner]
        values = _union(owned)
        if len(values.numbers) > _MAX_OPERANDS:  # a long statement: only what the owner typed, not chance sums
            owned = [s for s in owned if s.origin is Origin.TYPED]
            values = _union(owned)
        typed = _union(s for s in owned if s.origin is Origin.TYPED)
        if len(leaves) != 1 or not owned or not derives_amount(leaves[0], values, typed):
            return None
        label = Label.join_all(s.label for s in owned)
        return ArgProvenance(arg, Origin.COMPUTED, label, Origin.COMPUTED.value)

    def provenance(self, arg: str, value: Any) -> ArgProvenance:
        """Label one argument. OWNER only if every scalar leaf is the owner's: typed by the owner or
        read from a trusted result, verbatim or (numbers, dates, times) by value or computation."""
        leaves = list(atoms(value))
        owner_segs: list[Segment] = []
        for leaf in leaves:
            segs = self._owner_sources(leaf)
            if not segs and leaf.startswith(("https://", "http://")):
                # A link in a named source, written without its scheme ("www.example.com"): the same link.
                bare = leaf.split("://", 1)[1]
                segs = [s for s in self._owner_sources(bare) if s.origin is Origin.NAMED]
            if not segs:
                return self._inherited(arg, leaf, value)
            owner_segs += segs
        if not owner_segs:  # empty / null carries no information
            return ArgProvenance(arg, Origin.TYPED, _owner_only(), Origin.TYPED.value)
        named = [s for s in owner_segs if s.origin is Origin.NAMED]
        recorded = any(s.origin is Origin.SERVICE_RECORD for s in owner_segs)
        origin = Origin.NAMED if named else Origin.SERVICE_RECORD if recorded else owner_segs[0].origin or Origin.TYPED
        label = Label.join_all(s.label for s in owner_segs)
        chip = origin.value
        if named:
            srcs: list[Source] = []
            for seg in named:
                srcs += [s for s in seg.label.untrusted_sources() if s not in srcs]
            chip += ": " + "; ".join(s.describe() for s in srcs)
        money, people = all(s.for_money for s in named), all(s.for_people for s in named)
        return ArgProvenance(arg, origin, label, chip, for_money=money, for_people=people)

    def _inherited(self, arg: str, leaf: str, value: Any) -> ArgProvenance:
        ctx = self._label
        # Every source that could have contributed: all items of every untrusted result holding the value
        # (a multi-item result cannot say which item it came from, so none of them is left out).
        untrusted = [s for s in self._segments if s.label.integrity < Integrity.OWNER]
        # A word of one or two letters ("r", "no") is in any text: it says nothing about where it came from.
        short = derives(leaf, TypedValues()) is None and len(leaf) < _MIN_ATTRIBUTED
        bare = leaf.split("://", 1)[1] if leaf.startswith(("https://", "http://")) else leaf
        found = [] if short else [s for s in untrusted if s.holds(leaf) or s.holds(bare)]
        if not found and derives(leaf, _union(self._segments)):
            # Computed from typed values with a part only untrusted content states (the owner's date,
            # the attacker's hour): it could only have come from there.
            parts = extract(leaf)
            found = [s for s in untrusted if _shares(s.values, parts)]
        if found:
            srcs: list[Source] = []
            for seg in found:
                srcs += [s for s in seg.label.untrusted_sources() if s not in srcs]
            where = "; ".join(s.describe() for s in srcs) or "an untrusted item"
            src = srcs[0] if srcs else None
            return ArgProvenance(arg, Origin.UNTRUSTED_ITEM, ctx, f"from untrusted: {where}", src)
        return self._written(arg, value)

    def _written(self, arg: str, value: Any) -> ArgProvenance:
        """A value found in nothing read (a summary, a reply, a time the owner left open): written by
        the assistant. Its label joins the items it draws on (their distinctive words, numbers and
        addresses, or a run of three words); untrusted content merely being in the context does not
        make it untrusted. The policy adds the whole context where the audience was not the owner's."""
        pieces = _pieces(" ".join(atoms(value)))
        # The owner's turns carry only themselves; a service's record is private data like the rest.
        read = [s for s in self._segments if not s.owner or s.origin in _READ_ORIGINS]
        drawn = [s for s in read if any(_contains_token(s.text, p) for p in pieces)]
        label = Label.join_all([_owner_only(), *(s.label for s in drawn)])
        srcs: list[Source] = []
        for seg in drawn:
            srcs += [s for s in seg.label.untrusted_sources() if s not in srcs]
        chip = "written by the assistant"
        if srcs:
            chip += f", drawing on: {'; '.join(s.describe() for s in srcs)}"
        elif self.untrusted_count:
            chip += " (in nothing it read)"
        return ArgProvenance(arg, Origin.AGENT, label, chip)


NAMED_LINK_BUDGET = 2
_MAX_OPERANDS = 40
_MIN_ATTRIBUTED = 2
_WORD = re.compile(r"[^\s,;:!?()\[\]{}\"'<>]+")


def split_record(content: Any, fields: frozenset[str]) -> tuple[list[dict[str, Any]], Any]:
    """``content`` split into the values of ``fields`` in each item (a list's elements, a mapping's
    values at any depth) and the content without them."""
    record: list[dict[str, Any]] = []

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            kept = {k: v for k, v in value.items() if str(k) in fields and _scalar_or_scalars(v)}
            if kept:
                record.append(kept)
            return {k: strip(v) for k, v in value.items() if k not in kept}
        if isinstance(value, (list, tuple)):
            return [strip(v) for v in value]
        return value

    rest = strip(content)
    return record, rest


def _scalar_or_scalars(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_scalar(v) for v in value)
    if isinstance(value, dict):  # {address: permission}: the keys are the record's
        return all(_scalar(v) for v in value.values()) and all(_scalar(k) for k in value)
    return _scalar(value)


_RECORD_MAX = 120  # a name, address, id or amount; a longer text in a record field is somebody's prose


def _scalar(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= _RECORD_MAX
    return isinstance(value, (int, float, bool, type(None)))


def _pieces(text: str) -> list[str]:
    """What ties a written text to what was read: words with a digit or an @ (numbers, codes,
    addresses), and every run of three words."""
    words = [w.strip(".") for w in _WORD.findall(text)]
    words = [w for w in words if w]
    marked = [w for w in words if len(w) >= 3 and any(c.isdigit() or c == "@" for c in w)]
    runs = [" ".join(words[i : i + 3]) for i in range(len(words) - 2)]
    return list(dict.fromkeys([*marked, *runs]))


def _union(segments: Iterable[Segment]) -> TypedValues:
    out = TypedValues()
    for s in segments:
        out = out | s.values
    return out


def _shares(a: TypedValues, b: TypedValues) -> bool:
    days = {(m, d) for _, m, d in a.dates}
    return bool(a.numbers & b.numbers or a.times & b.times or any((m, d) in days for _, m, d in b.dates))


def _owner_only() -> Label:
    return Label(Integrity.OWNER, Conf.PUBLIC, ALL, frozenset())
