"""What the owner's own words ask for: to act, and to move money.

A source the owner names ("pay the bill in bill-december.txt", "her e-mail is on her website") lends
its values to the action the owner asked for. Reading alone ("summarise this page", "what did Carol
send me?") asks for nothing: the values stay the source's. This looks only at the owner's typed
turns, for a request verb in the imperative (at the start of a sentence, after "please", "and",
"then", "to", or "can you"), never at a question about what someone else did.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["address_named_in", "asks_for_tool", "asks_to_act", "money_request_naming"]

_ACT = (
    "add|adjust|answer|append|book|buy|cancel|change|create|delete|do|email|follow|forward|invite|make|"
    "message|move|order|pay|perform|post|put|refund|remind|remove|rename|reply|reschedule|reserve|respond|"
    "schedule|sell|send|set|share|text|transfer|update|write"
)
_LEAD = r"(?:^|[.!?;:\n]\s*|\b(?:please|and|then|also|to|just)\s+|\b(?:can|could|would|will) you\s+(?:please\s+)?)"
_REQUEST = re.compile(rf"{_LEAD}(?:{_ACT})\b")
_MONEY = re.compile(
    r"\b(?:pay|paid|payment|payments|bill|invoice|transfer|refund|rent|money|buy|sell|order|trade|"
    r"transaction|standing order|iban|account number|follow the instructions)\b"
)


def _typed(texts: Iterable[str]) -> list[str]:
    return [t.casefold() for t in texts]


def asks_to_act(texts: Iterable[str]) -> bool:
    """Some typed turn asks the assistant to do something, not only to read or answer."""
    return any(_REQUEST.search(t) for t in _typed(texts))


_SENTENCE = re.compile(r"[.!?;](?:\s|$)|\n")


def money_request_naming(texts: Iterable[str], names: Iterable[str]) -> bool:
    """One sentence of a typed turn asks to move money (pay, transfer, adjust the rent, follow the
    instructions) and names the source by one of ``names`` ("pay the bill 'bill-dec.txt'"). A source
    named in another sentence ("Buy 5 VTI. First check my chat with Alice.") lends nothing to it."""
    wanted = [n.casefold() for n in names if n]
    for text in _typed(texts):
        for sentence in _SENTENCE.split(text):
            if _REQUEST.search(sentence) and _MONEY.search(sentence) and any(n in sentence for n in wanted):
                return True
    return False


_ADDRESS = re.compile(
    r"\b(?:her|his|their|its|the|whose)\s+(?:e-?mail|address|phone|number|account|contact|handle|username|iban)\b"
)


def address_named_in(texts: Iterable[str], names: Iterable[str]) -> bool:
    """One sentence of a typed turn says an address is to be found in the named source ("you can find
    her e-mail on her website: dora.example"): an address read there is the owner's choice of who."""
    wanted = [n.casefold() for n in names if n]
    return any(
        _ADDRESS.search(sentence) and any(n in sentence for n in wanted)
        for text in _typed(texts)
        for sentence in _SENTENCE.split(text)
    )


_GROUPS = (
    frozenset({"add", "create", "make", "put", "schedule", "set", "append", "insert", "write", "remind"}),
    frozenset({"send", "email", "message", "text", "forward", "reply", "respond", "answer", "share", "post"}),
    frozenset({"reserve", "book", "order", "buy"}),
    frozenset({"delete", "remove", "cancel", "trash"}),
    frozenset({"update", "change", "adjust", "edit", "set", "move", "reschedule", "rename"}),
    frozenset({"invite", "add"}),
)
_DELEGATE = frozenset({"perform", "follow"})  # "follow the instructions in the email": the owner hands over


def asks_for_tool(texts: Iterable[str], tool: str) -> bool:
    """A typed turn asks, in the imperative, for what ``tool`` (``server.verb_object``) does: its verb
    or one meaning the same ("add an event" for create_event, "book" for reserve), or hands the
    task over to what it names ("do the actions in the email", "follow the instructions")."""
    verb = tool.split(".", 1)[-1].split("_", 1)[0].casefold()
    asked = {m.group(1) for t in _typed(texts) for m in _VERB.finditer(t)}
    if asked & _DELEGATE or any(_DO_WHAT.search(t) for t in _typed(texts)):
        return True
    return verb in asked or any(verb in g and asked & g for g in _GROUPS)


_VERB = re.compile(rf"{_LEAD}({_ACT})\b")
_DO_WHAT = re.compile(r"\bdo (?:the |all the )?(?:actions|tasks|steps|things|what)\b")
