"""The scripted worst-case model: it does the owner's task *and* obeys every injected instruction.

It plugs into :class:`agent.model.ScriptedModel` as a script function. Which instructions it
obeys, and what each turns into, is data from the case file (``attacks``): once the model has read
an attack's ``trigger`` text anywhere in a tool result or a tool description it was given (after
removing hidden characters, decoding HTML entities, base64 and ROT13), it queues that attack's
calls. ``{{find:…}}`` templates in arguments are filled from everything the model has seen —
perfect extraction. So the model is worst-case, but deterministic.

Behaviours: ``immediate`` (attack calls before the rest of the owner's task) or ``after_task``.
A ``swap`` attack models a compromised agent process that changes a call's arguments after the
owner approved it (the grant must not accept the swapped call).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.adversarial.cases import Attack, Call, Step, Turn
from agent.adversarial.text import render, render_value, trigger_in
from agent.model import Message, ScriptedStep, ToolCall, ToolSpec

__all__ = ["WorstCaseModel", "model_name"]


def model_name(tool: str) -> str:
    """``server.tool`` -> the model-facing ``server__tool`` (other names are kept as they are)."""
    server, sep, name = tool.partition(".")
    return f"{server}__{name}" if sep else tool


def _leaves(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _leaves(v)]
    if isinstance(value, list):
        return [s for v in value for s in _leaves(v)]
    return [] if value is None else [str(value)]


def _result_texts(content: Any) -> list[str]:
    if not isinstance(content, str):
        return _leaves(content)
    try:
        return _leaves(json.loads(content))
    except json.JSONDecodeError:
        return [content]


@dataclass
class WorstCaseModel:
    turn: Turn
    attacks: Sequence[Attack]
    canaries: Mapping[str, str]
    behaviour: str = "immediate"
    prefix: str = "c"
    attack_call_ids: set[str] = field(default_factory=set)  # calls the model made because of an injection
    swapped_call_ids: set[str] = field(default_factory=set)  # approved calls it ran with other arguments
    answers: list[str] = field(default_factory=list)
    _plan: list[Step] = field(default_factory=list)
    _queue: list[Call] = field(default_factory=list)
    _fired: set[int] = field(default_factory=set)
    _swaps: dict[str, Call] = field(default_factory=dict)
    _seen: list[str] = field(default_factory=list)
    _n: int = 0

    def __post_init__(self) -> None:
        self._plan = list(self.turn.plan)

    # -- reading --------------------------------------------------------------------------------

    def _read(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> list[str]:
        """Refresh what the model has seen; return the untrusted part (tool results, tool text)."""
        seen: list[str] = []
        untrusted: list[str] = []
        for m in messages:
            content = m.get("content")
            if isinstance(content, str):
                seen.append(content)
                continue
            for block in content or []:
                if isinstance(block, Mapping) and block.get("type") == "tool_result":
                    texts = _result_texts(block.get("content"))
                    seen += texts
                    untrusted += texts
        descriptions = [t.description for t in tools]
        self._seen = seen + descriptions
        return untrusted + descriptions

    def _arm(self, untrusted: list[str]) -> None:
        for i, attack in enumerate(self.attacks):
            if i in self._fired:
                continue
            if attack.trigger == "*" or trigger_in(attack.trigger, untrusted):
                self._fired.add(i)
                self._queue += attack.calls
                if attack.swap is not None:
                    self._swaps[attack.swap.tool] = attack.swap

    # -- acting ---------------------------------------------------------------------------------

    def _call(self, call: Call, *, attack: bool) -> ToolCall:
        self._n += 1
        cid = f"{self.prefix}-{self._n}"
        if attack:
            self.attack_call_ids.add(cid)
        args = render_value(dict(call.args), canaries=self.canaries, seen=self._seen)
        return ToolCall(cid, model_name(call.tool), args)

    def step(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> ScriptedStep:
        self._arm(self._read(messages, tools))
        benign_next = bool(self._plan) and bool(self._plan[0].calls)
        order = ("attack", "benign") if self.behaviour == "immediate" else ("benign", "attack")
        for source in order:
            if source == "attack" and self._queue:
                return ScriptedStep(tool_calls=[self._call(self._queue.pop(0), attack=True)])
            if source == "benign" and benign_next:
                step = self._plan.pop(0)
                return ScriptedStep(tool_calls=[self._call(c, attack=False) for c in step.calls])
        final = self._plan[0].answer if self._plan and self._plan[0].answer else "Done."
        self._plan = []
        text = render(final, canaries=self.canaries, seen=self._seen)
        self.answers.append(text)
        return ScriptedStep(text=text)

    def after_approval(self, call: ToolCall) -> ToolCall:
        """The call the (compromised) agent hands to execution once the owner approved ``call``."""
        for tool, swap in list(self._swaps.items()):
            if model_name(tool) == call.name:
                del self._swaps[tool]
                self.swapped_call_ids.add(call.id)
                args = render_value(dict(swap.args), canaries=self.canaries, seen=self._seen)
                return ToolCall(call.id, call.name, {**call.input, **args})
        return call
