"""Text that addresses the assistant rather than the reader: flagged on the source it came from.

A mail, page, event or file is written for a person. Text in it that speaks to an AI ("to the AI
assistant:", "if you are a language model"), tells it to drop its instructions, to do something
"before you solve the task", to keep it from the user, or wraps itself in prompt markup
(``<INFORMATION>``, ``[INST]``, ``<|im_start|>``) is an injection attempt, whatever it asks for.

This is a heuristic and says so: an attack written like an ordinary document passes it. It does
not decide anything alone; it adds a red flag (``addressed_to_assistant``) to every card in a
context holding such a source, so a careful owner sees that something tried to steer the assistant.
"""

from __future__ import annotations

import re
from typing import Any

from agent.gateway.urls import string_values

__all__ = ["ADDRESSED_TO_ASSISTANT", "addresses_assistant"]

ADDRESSED_TO_ASSISTANT = "addressed_to_assistant"

_AI = r"(?:ai|a\.i\.|llm|ai model|ai agent|ai assistant|language model|large language model|chatbot|chat bot|gpt)"
_SIGNALS = (
    # Dropping or replacing its instructions.
    re.compile(
        r"\b(?:ignore|disregard|forget|override|bypass|skip)\b[^.\n]{0,30}?\b(?:all|any|previous|prior|above|earlier|"
        r"your|system|original|other)\b[^.\n]{0,20}?\b(?:instructions?|prompts?|directives?|guidelines|rules)\b"
    ),
    re.compile(
        r"\b(?:new|updated|real|actual|hidden|secret|additional) (?:system )?instructions? (?:for|to) (?:you|the)\b"
    ),
    # Speaking to an AI.
    re.compile(
        rf"\b(?:dear|hey|hi|hello|attention|note to|message to|instructions? for|to) (?:the |all |any )?{_AI}s?\s*[,:!]"
    ),
    re.compile(rf"\bto you,? (?:an? |the |dear )?{_AI}\b"),
    re.compile(rf"\b(?:if|since|because|as|while) you(?:'re| are) (?:an? |the )?(?:{_AI}|assistant|ai-powered)\b"),
    re.compile(rf"\b(?:{_AI}|assistants?)s? (?:reading|processing|summari[sz]ing|parsing) this\b"),
    re.compile(
        r"\b(?:note|message|instructions?|memo|reminder|attention)\s+(?:for|to)\s+"
        r"(?:the |all |any |your )?(?:ai |virtual )?(?:assistants?|bots?)\b"
    ),
    # Forged conversation turns and tool output.
    re.compile(r"</?\s*(?:tool_result|tool_output|function_results?|result)\s*>|\bhuman\s*:\s*\S|>\s?system\s*:\s*\S"),
    # Hijacking the task.
    re.compile(
        r"\bbefore (?:you )?(?:can |may |are able to )?(?:solve|complete|finish|do|continue|answer|proceed with|"
        r"respond to|carry out)\b[^.\n]{0,30}?\b(?:task|request|question|instructions?)\b"
    ),
    re.compile(r"\b(?:the )?(?:task|request) (?:that )?(?:i|the user) gave you\b"),
    # Keeping it from the owner.
    re.compile(
        r"\b(?:do not|don't|never|without) (?:tell|telling|inform|informing|mention|mentioning|alert|alerting|"
        r"notify|notifying) (?:the |your )?(?:user|owner|human)\b"
    ),
    # Prompt markup.
    re.compile(r"<\s*/?\s*(?:information|instructions?|system|admin|important|prompt|assistant)\s*>"),
    re.compile(r"\[/?(?:inst|system|sys)\]|<\|im_(?:start|end)\|>|<<\s*sys\s*>>"),
    re.compile(r"\b(?:system prompt|developer mode|jailbreak)\b"),
)


def addresses_assistant(content: Any) -> bool:
    """``content`` (text or a JSON-like value) holds text speaking to the assistant."""
    text = re.sub(r"\s+", " ", "\n".join(string_values(content, keys=True))).casefold()
    return any(p.search(text) for p in _SIGNALS)
