"""The gateway's rule for the content engine's drafts (:mod:`agent.content`): a public post may draw
only on public material. Deterministic, no model: a draft whose inputs carry a PRIVATE or SECRET
label is refused, and the refusal names the sources, so the owner's card can say why."""

from __future__ import annotations

from collections.abc import Iterable

from agent.gateway.labels import Conf, Label, Source

__all__ = ["RULE", "private_sources", "refusal"]

RULE = "C1_PRIVATE_INPUT"
MAX_NAMED = 5


def _name(source: Source) -> str:
    who = f" from {source.principal}" if source.principal else ""
    return f"{source.server}.{source.tool} ({source.channel} {source.item_id}{who})"


def private_sources(inputs: Iterable[Label]) -> list[str]:
    """Each private input's sources, named (an input with no source is named by its label)."""
    names: list[str] = []
    for label in inputs:
        if label.conf < Conf.PRIVATE:
            continue
        found = [_name(s) for s in sorted(label.sources, key=_name)] or [f"an input labelled {label.conf.name}"]
        names += [n for n in found if n not in names]
    return names


def refusal(inputs: Iterable[Label]) -> str | None:
    """Why a draft drawn from ``inputs`` may not be published, or None when every input is public."""
    names = private_sources(inputs)
    if not names:
        return None
    shown = ", ".join(names[:MAX_NAMED]) + (f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else "")
    return f"Refused by the gateway ({RULE}): a public post may not draw on private data, and it read {shown}."
