"""Mail analysis by plain rules, over the one message shape every mail server hands it.

Each new message is classified (``needs_reply``, ``waiting``, ``fyi``, ``newsletter``, ``receipt``,
``calendar``) and its action items, dates and open questions are pulled out. The text analysed is
third-party content: the result is data about the message (shown with the message's provenance),
never an instruction, and it is stored encrypted beside the message it came from.

When a model is configured, the agent analyses new messages again after each sync
(``agent.mail_analysis``) and stores the model's result beside the rules' one. Every result says
which ``method`` produced it (``rules`` or ``model``), the ``model`` that did, and, when the model
was asked but its answer was not used, the ``fallback`` reason (the rules' result stands).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from typing_extensions import TypedDict

Category = Literal["needs_reply", "waiting", "fyi", "newsletter", "receipt", "calendar"]
CATEGORIES: tuple[Category, ...] = ("needs_reply", "waiting", "fyi", "newsletter", "receipt", "calendar")
METHOD = "rules"
MODEL = "model"
# Why a model's answer was not used (the rules' result stands): not the strict shape, or it tried a tool.
FALLBACKS = ("invalid_output", "tool_call")
ANALYSED = "analysed"  # the model's result is stored
MAX_ITEMS = 5

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_ASK = re.compile(
    r"\b(can you|could you|would you|will you|please|let me know|need you to|make sure|remember to|"
    r"confirm|send me|get back to)\b",
    re.IGNORECASE,
)
_NEWSLETTER = re.compile(r"\b(unsubscribe|newsletter|weekly digest|view in (your )?browser)\b", re.IGNORECASE)
_BULK_SENDER = re.compile(r"^(no-?reply|newsletter|digest|news|marketing|updates?)[@+.]", re.IGNORECASE)
_RECEIPT = re.compile(
    r"\b(invoice|receipt|amount due|payment (received|due)|order (confirmation|#)|your order|statement is ready|"
    r"bill(ing)? (is|for))\b",
    re.IGNORECASE,
)
_CALENDAR = re.compile(
    r"\b(invitation|invite|meeting (request|moved|updated|cancelled|canceled)|accepted:|declined:|tentative:|"
    r"reschedul\w*|calendar)\b",
    re.IGNORECASE,
)
_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = re.compile(
    rf"\b(?:(?:by|before|on|until|due)\s+)?(?:(?:this|next)\s+)?(?:{_WEEKDAY}|tomorrow|today|tonight|"
    rf"end of (?:the )?(?:day|week|month)|the \d{{1,2}}(?:st|nd|rd|th)|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?|"
    rf"\d{{1,2}}\s+{_MONTH}|\d{{4}}-\d{{2}}-\d{{2}})\b",
    re.IGNORECASE,
)


class Analysis(TypedDict):
    category: Category
    action_items: list[str]
    dates: list[str]
    questions: list[str]
    method: str  # "rules" or "model": what produced this result
    model: str | None  # the model's id, for method "model"
    fallback: str | None  # the model was asked but its answer was not used: why (one of FALLBACKS)


@dataclass(frozen=True)
class MailItem:
    """The common shape: what a mail server knows of one message."""

    sender: str  # the sender's address
    to: Sequence[str]
    cc: Sequence[str]
    subject: str
    text: str  # the body, or its preview
    sent_by_owner: bool  # in the sent folder, or from the owner's address


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if len(s.strip()) > 3]


def _unique(items: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(" ".join(item.split())[:200], None)
    return list(seen)[:MAX_ITEMS]


def questions(text: str) -> list[str]:
    """The sentences that ask something (end with a question mark)."""
    return _unique([s for s in _sentences(text) if s.endswith("?")])


def analyse(item: MailItem) -> Analysis:
    text = f"{item.subject}. {item.text}"
    asks = _unique([s for s in _sentences(item.text) if _ASK.search(s) or s.endswith("?")])
    dates = _unique([m.group(0) for m in _DATE.finditer(text)])
    asked = questions(item.text)
    category: Category
    if item.sent_by_owner:
        category = "waiting" if asks else "fyi"
    elif _NEWSLETTER.search(text) or _BULK_SENDER.match(item.sender):
        category = "newsletter"
    elif _RECEIPT.search(text):
        category = "receipt"
    elif _CALENDAR.search(item.subject):
        category = "calendar"
    elif asks:
        category = "needs_reply"
    else:
        category = "fyi"
    actions = [] if category in ("newsletter",) else asks
    return {
        "category": category,
        "action_items": actions,
        "dates": dates,
        "questions": asked,
        "method": METHOD,
        "model": None,
        "fallback": None,
    }


def final(rules: Analysis, state: str | None, by_model: Analysis | None) -> Analysis:
    """The analysis a message shows: the model's when it is stored, else the rules' (saying why the
    model's was not used, when it was asked). Older stored results gain the provenance keys."""
    if state == ANALYSED and by_model is not None:
        return {**by_model, "method": MODEL, "fallback": None}
    fallback = state if state in FALLBACKS else None
    return {**rules, "method": METHOD, "model": None, "fallback": fallback}


# ---- threads: what is still open in the mail with some people ------------------------------------


@dataclass(frozen=True)
class ThreadMessage:
    """One analysed stored message, as the thread summaries see it (any mail server)."""

    id: str
    thread: str  # the thread or conversation id
    subject: str
    sender: str  # as shown
    principal: str | None  # the sender's address: provenance
    received: datetime | None
    sent_by_owner: bool
    recipients: Sequence[str]  # plain addresses, lower case
    analysis: Analysis


@dataclass(frozen=True)
class Thread:
    conversation_id: str
    subject: str
    last_from: str
    last_at: datetime | None
    open_questions: list[str]
    messages: list[tuple[str, str | None]]  # (message id, sender address): provenance


class ThreadView(TypedDict):
    conversation_id: str
    subject: str
    last_from: str
    last_at: str | None
    open_questions: list[str]


def involves(m: ThreadMessage, people: Iterable[str]) -> bool:
    """From one of ``people``, or sent by the owner to one of them."""
    wanted = {p.lower() for p in people}
    return (m.principal or "").lower() in wanted or (m.sent_by_owner and bool(wanted & set(m.recipients)))


def thread_of(key: str, newest_first: Sequence[ThreadMessage]) -> Thread:
    """A thread's latest state: the questions others asked since the owner last wrote in it."""
    pending: list[str] = []
    for m in newest_first:
        if m.sent_by_owner:
            break
        pending += m.analysis["questions"] or m.analysis["action_items"]
    last = newest_first[0]
    return Thread(
        conversation_id=key,
        subject=last.subject,
        last_from=last.sender,
        last_at=last.received,
        open_questions=list(dict.fromkeys(pending))[:MAX_ITEMS],
        messages=[(m.id, m.principal) for m in newest_first],
    )


def threads_with(newest_first: Sequence[ThreadMessage], people: Iterable[str], limit: int) -> list[Thread]:
    """The ``limit`` latest threads with any of ``people``, from messages newest first."""
    wanted = list(people)
    grouped: dict[str, list[ThreadMessage]] = {}
    for m in newest_first:
        if involves(m, wanted):
            grouped.setdefault(m.thread, []).append(m)
    return [thread_of(k, v) for k, v in list(grouped.items())[:limit]]


def thread_view(t: Thread) -> ThreadView:
    return {
        "conversation_id": t.conversation_id,
        "subject": t.subject,
        "last_from": t.last_from,
        "last_at": t.last_at.isoformat() if t.last_at else None,
        "open_questions": t.open_questions,
    }
