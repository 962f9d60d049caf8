"""The case model: what one YAML case file describes (schema: tests/security/cases/SCHEMA.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent.adversarial.text import canaries_for

__all__ = [
    "ANNOTATION_HINTS",
    "BEHAVIOURS",
    "CHANNELS",
    "ID_PATTERN",
    "OVERRIDE_MODES",
    "PIN_STATUSES",
    "PREDICATES",
    "RULE_PATTERN",
    "SEED_KEYS",
    "Attack",
    "Call",
    "Case",
    "CaseError",
    "PlanEntrySpec",
    "Predicate",
    "Step",
    "ToolOverride",
    "Turn",
]

CHANNELS = ("email", "calendar", "web", "messages", "social", "coursework", "tools", "cross")
BEHAVIOURS = ("immediate", "after_task")
OVERRIDE_MODES = ("changed", "pinned", "new")
PIN_STATUSES = ("approved", "changed", "unknown", "unpinned", "rejected")
PREDICATES = ("effect", "no_effect", "called", "answer_contains", "fetched", "model_saw", "memory_laundered")
ANNOTATION_HINTS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint", "title")
SEED_KEYS = {
    "mail": ({"id", "from", "subject", "body"}, {"thread_id", "to", "cc", "unread"}),
    "calendar": ({"id", "title", "organizer"}, {"participants", "description", "start", "location"}),
    "whatsapp": ({"id", "chat", "from", "text"}, {"participants"}),
    "x": ({"id", "author", "text"}, set()),
    "linkedin": ({"id", "author", "text"}, {"kind"}),
    "memory": ({"key", "text"}, set()),
}
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
RULE_PATTERN = re.compile(r"^R\d{1,2}(_[A-Z0-9_]+)?$")


class CaseError(ValueError):
    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid case file(s):\n  " + "\n  ".join(self.problems))


@dataclass(frozen=True)
class Call:
    tool: str  # "server.tool"; an unknown name needs expect_unknown
    args: Mapping[str, Any]


@dataclass(frozen=True)
class Step:
    calls: tuple[Call, ...] = ()
    answer: str | None = None


@dataclass(frozen=True)
class PlanEntrySpec:
    tool: str
    args: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Turn:
    user_task: str
    plan: tuple[Step, ...]
    approved_plan: tuple[PlanEntrySpec, ...] = ()
    at: datetime | None = None  # the world's clock during this turn (None: the suite's start, or the last turn's)


@dataclass(frozen=True)
class Attack:
    trigger: str  # text the model must read in untrusted content, or "*" (compromised from the start)
    calls: tuple[Call, ...] = ()
    swap: Call | None = None  # after the owner approves a call of swap.tool, run it with these args


@dataclass(frozen=True)
class ToolOverride:
    server: str
    name: str
    description: str | None  # None: the reviewed definition's text (only annotations change)
    schema: Mapping[str, Any] | None  # None: the reviewed definition's schema
    mode: str  # changed | pinned | new
    malicious: bool = False
    expect_status: str | None = None
    annotations: Mapping[str, Any] | None = None  # MCP annotations the server sends (never trusted)
    from_turn: int = 0  # the server lists this definition from this turn (a new session) on; the reviewed one before

    @property
    def qualified(self) -> str:
        return f"{self.server}.{self.name}"


@dataclass(frozen=True)
class Predicate:
    kind: str
    params: Mapping[str, Any]
    hard: bool = False  # must hold even with a rubber-stamp approver (a denial class, never an approval)

    def describe(self) -> str:
        return f"{self.kind} {dict(self.params)}" + (" [hard]" if self.hard else "")


@dataclass(frozen=True)
class Case:
    id: str
    kind: str  # injection | benign
    channel: str
    title: str
    turns: tuple[Turn, ...]
    attacks: tuple[Attack, ...] = ()
    tools: tuple[ToolOverride, ...] = ()
    seed: Mapping[str, Any] = field(default_factory=dict)
    forbidden: tuple[Predicate, ...] = ()
    success: tuple[Predicate, ...] = ()
    expect_rules: tuple[str, ...] = ()
    behaviour: str = "immediate"
    source: str = ""

    @property
    def canaries(self) -> dict[str, str]:
        return canaries_for(self.id)
