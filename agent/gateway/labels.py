"""Provenance labels: where a value came from, how far it may be trusted, and who may read it.

A :class:`Label` is a point in a lattice with four components, joined component-wise:

============  ==============================================  ==========================
component     meaning                                          join (``a | b``)
============  ==============================================  ==========================
integrity     UNTRUSTED < CONTACT < OWNER < SYSTEM             min (least trusted wins)
conf          PUBLIC < PRIVATE < SECRET                        max (most secret wins)
readers       principals allowed to see the data, or ``ALL``   intersection (``ALL`` = top)
sources       the :class:`Source` atoms the data derives from  union
============  ==============================================  ==========================

``Label.clean()`` (SYSTEM, PUBLIC, ALL, no sources) is the identity of ``join``. Labels serialise
to JSON (``to_json`` / ``from_json``) so that data written by the agent (memory, drafts, files)
carries its label when it is read back — taint survives storage.

The conversation-level accumulator (``ContextLabel``) lives in :mod:`agent.gateway.context`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any, Final, final

__all__ = [
    "ALL",
    "AllReaders",
    "Conf",
    "Integrity",
    "Label",
    "LabelError",
    "LabelledResult",
    "Readers",
    "Source",
]


class LabelError(ValueError):
    """A serialised label is malformed."""


class Integrity(IntEnum):
    UNTRUSTED = 0
    CONTACT = 1  # a known sender: still untrusted for instructions
    OWNER = 2
    SYSTEM = 3


class Conf(IntEnum):
    PUBLIC = 0
    PRIVATE = 1
    SECRET = 2


@final
class AllReaders:
    """The 'anyone may read' sentinel; use the module constant :data:`ALL`."""

    _instance: AllReaders | None = None

    def __new__(cls) -> AllReaders:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ALL"

    def __reduce__(self) -> str:
        return "ALL"


ALL: Final = AllReaders()
Readers = frozenset[str] | AllReaders


def _norm_reader(r: str) -> str:
    return r.strip().casefold()


def readers_of(readers: Iterable[str] | AllReaders) -> Readers:
    """Normalise a reader set (principals compare case-insensitively)."""
    if isinstance(readers, AllReaders):
        return ALL
    return frozenset(_norm_reader(r) for r in readers)


def readers_allow(readers: Readers, principal: str) -> bool:
    return isinstance(readers, AllReaders) or _norm_reader(principal) in readers


@dataclass(frozen=True, slots=True)
class Source:
    """One provenance atom.

    ``channel`` is e.g. "email", "messages", "web", "calendar", "mcp_meta" or "owner";
    ``server``/``tool`` the pinned tool that produced it; ``item_id`` a message-id, URL, event-id
    or memory key; ``principal`` the sender address, page host or organiser when known.
    """

    channel: str
    server: str
    tool: str
    item_id: str
    principal: str | None
    fetched_at: datetime
    flags: tuple[str, ...] = ()  # e.g. "hidden_html", "hidden_characters", "claims_to_be_owner"

    def describe(self) -> str:
        who = f" from {self.principal}" if self.principal else ""
        if "claims_to_be_owner" in self.flags:
            who += " (claims to be you: not verified)"
        marks = [f for f in self.flags if f.startswith(("hidden", "addressed"))]
        hidden = f" [{', '.join(m.replace('_', ' ') for m in marks)}]" if marks else ""
        return f"{self.channel} {self.item_id}{who}{hidden}, {self.fetched_at.strftime('%Y-%m-%d %H:%M')}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "server": self.server,
            "tool": self.tool,
            "item_id": self.item_id,
            "principal": self.principal,
            "fetched_at": self.fetched_at.isoformat(),
            **({"flags": list(self.flags)} if self.flags else {}),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Source:
        try:
            ts = datetime.fromisoformat(str(d["fetched_at"]))
            principal = d.get("principal")
            src = cls(
                channel=str(d["channel"]),
                server=str(d["server"]),
                tool=str(d["tool"]),
                item_id=str(d["item_id"]),
                principal=None if principal is None else str(principal),
                fetched_at=ts,
                flags=tuple(str(f) for f in d.get("flags") or ()),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LabelError(f"bad source: {exc}") from exc
        if ts.tzinfo is None:
            raise LabelError("bad source: fetched_at must be timezone-aware")
        return src


def _source_key(s: Source) -> tuple[str, str, str, str, str, str]:
    return (s.channel, s.server, s.tool, s.item_id, s.principal or "", s.fetched_at.isoformat())


@dataclass(frozen=True, slots=True)
class Label:
    integrity: Integrity
    conf: Conf
    readers: Readers = ALL
    sources: frozenset[Source] = field(default_factory=frozenset)

    # -- constructors ---------------------------------------------------------------------------

    @classmethod
    def clean(cls) -> Label:
        """The join identity: SYSTEM integrity, PUBLIC, readable by anyone, no sources."""
        return cls(Integrity.SYSTEM, Conf.PUBLIC, ALL, frozenset())

    @classmethod
    def of(
        cls,
        integrity: Integrity,
        conf: Conf,
        readers: Iterable[str] | AllReaders = ALL,
        sources: Iterable[Source] = (),
    ) -> Label:
        return cls(integrity, conf, readers_of(readers), frozenset(sources))

    # -- algebra --------------------------------------------------------------------------------

    def join(self, other: Label) -> Label:
        if isinstance(self.readers, AllReaders):
            readers = other.readers
        elif isinstance(other.readers, AllReaders):
            readers = self.readers
        else:
            readers = self.readers & other.readers
        return Label(
            Integrity(min(self.integrity, other.integrity)),
            Conf(max(self.conf, other.conf)),
            readers,
            self.sources | other.sources,
        )

    def __or__(self, other: Label) -> Label:
        return self.join(other)

    @staticmethod
    def join_all(labels: Iterable[Label]) -> Label:
        out = Label.clean()
        for lab in labels:
            out = out.join(lab)
        return out

    def flows_to(self, principals: Iterable[str]) -> bool:
        """True when every principal is an allowed reader of data with this label."""
        return all(readers_allow(self.readers, p) for p in principals)

    @property
    def trusted(self) -> bool:
        return self.integrity >= Integrity.OWNER

    def untrusted_sources(self) -> list[Source]:
        """Sources that are not the owner or the system, in a stable order."""
        return sorted((s for s in self.sources if s.channel not in ("owner", "system")), key=_source_key)

    # -- persistence ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        readers: str | list[str] = "*" if isinstance(self.readers, AllReaders) else sorted(self.readers)
        return {
            "v": 1,
            "integrity": self.integrity.name,
            "conf": self.conf.name,
            "readers": readers,
            "sources": [s.to_dict() for s in sorted(self.sources, key=_source_key)],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Label:
        if d.get("v") != 1:
            raise LabelError("unsupported label version")
        try:
            integrity = Integrity[str(d["integrity"])]
            conf = Conf[str(d["conf"])]
            raw_readers = d["readers"]
            raw_sources = d["sources"]
        except KeyError as exc:
            raise LabelError(f"bad label: missing or unknown {exc}") from exc
        if raw_readers == "*":
            readers: Readers = ALL
        elif isinstance(raw_readers, list) and all(isinstance(r, str) for r in raw_readers):
            readers = readers_of(raw_readers)
        else:
            raise LabelError("bad label: readers must be '*' or a list of strings")
        if not isinstance(raw_sources, list):
            raise LabelError("bad label: sources must be a list")
        return cls(integrity, conf, readers, frozenset(Source.from_dict(s) for s in raw_sources))

    @classmethod
    def from_json(cls, text: str) -> Label:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LabelError("bad label: not JSON") from exc
        if not isinstance(data, dict):
            raise LabelError("bad label: not an object")
        return cls.from_dict(data)


@dataclass(frozen=True, slots=True)
class LabelledResult:
    """A tool result (already redacted) and the label of everything in it."""

    content: Any
    label: Label
