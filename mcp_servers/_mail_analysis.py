"""Mail analysis by plain rules, over the one message shape every mail server hands it.

Each new message is classified (``needs_reply``, ``waiting``, ``fyi``, ``newsletter``, ``receipt``,
``calendar``) and its action items, dates and open questions are pulled out. The text analysed is
third-party content: the result is data about the message (shown with the message's provenance),
never an instruction, and it is stored encrypted beside the message it came from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict

Category = Literal["needs_reply", "waiting", "fyi", "newsletter", "receipt", "calendar"]
CATEGORIES: tuple[Category, ...] = ("needs_reply", "waiting", "fyi", "newsletter", "receipt", "calendar")
METHOD = "rules"
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
    method: str


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
    return {"category": category, "action_items": actions, "dates": dates, "questions": asked, "method": METHOD}
