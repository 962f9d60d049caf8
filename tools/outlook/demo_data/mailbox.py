"""The demo Outlook mailbox and calendar: day offsets from today, times of day in UTC.

A work account (Northwind), next to the Google demo's personal one: the same people appear on both
sides, so merged agendas and meeting prep have something to join.
"""

from __future__ import annotations

from typing import Any, Final

OWNER: Final = "alex.rivera@northwind.example"
DANA: Final = "dana.whitfield@northwind.example"
LEE: Final = "lee.chen@northwind.example"
PRIYA: Final = "priya.nair@contoso.example"
BILLING: Final = "billing@azure-invoices.example"
NEWS: Final = "digest@devweekly.example"

# folder, day offset, "HH:MM", sender, recipients, subject, body, conversation
MESSAGES: Final[list[dict[str, Any]]] = [
    {
        "id": "msg-q4-budget-1",
        "folder": "inbox",
        "day": -3,
        "at": "08:10",
        "from": DANA,
        "to": [OWNER],
        "subject": "Q4 budget review",
        "conversation": "conv-budget",
        "body": "Hi Alex, can you send me the revised Q4 numbers before our review? "
        "Also, do we still plan to hire the second contractor in January?",
    },
    {
        "id": "msg-q4-budget-2",
        "folder": "sentitems",
        "day": -2,
        "at": "17:40",
        "from": OWNER,
        "to": [DANA],
        "subject": "RE: Q4 budget review",
        "conversation": "conv-budget",
        "body": "Dana, I'll have the numbers to you by Thursday. "
        "The contractor question is still open: can you check with finance?",
    },
    {
        "id": "msg-priya-proposal",
        "folder": "inbox",
        "day": -1,
        "at": "14:05",
        "from": PRIYA,
        "to": [OWNER],
        "subject": "Proposal for the data migration",
        "conversation": "conv-migration",
        "body": "Hello Alex, attached is our proposal. Could you confirm the scope by Friday? "
        "What is your preferred start date?",
    },
    {
        "id": "msg-invoice-nov",
        "folder": "inbox",
        "day": 0,
        "at": "06:30",
        "from": BILLING,
        "to": [OWNER],
        "subject": "Your invoice for November is ready",
        "conversation": "conv-invoice",
        "body": "Invoice total: $412.19. Amount due by the 15th. No action is needed if autopay is on.",
    },
    {
        "id": "msg-newsletter",
        "folder": "inbox",
        "day": 0,
        "at": "05:00",
        "from": NEWS,
        "to": [OWNER],
        "subject": "Dev Weekly #214",
        "conversation": "conv-news",
        "body": "This week: async Python, database migrations and more. Unsubscribe at any time.",
    },
    {
        "id": "msg-lee-offsite",
        "folder": "inbox",
        "day": 0,
        "at": "07:45",
        "from": LEE,
        "to": [OWNER, DANA],
        "subject": "Offsite agenda",
        "conversation": "conv-offsite",
        "body": "Sharing the draft agenda for the offsite. Dana is waiting on the venue confirmation. FYI only.",
    },
]

EVENTS: Final[list[dict[str, Any]]] = [
    {
        "id": "ev-budget-review",
        "subject": "Q4 budget review",
        "day": 0,
        "at": "15:00",
        "minutes": 45,
        "organizer": DANA,
        "attendees": [DANA, OWNER],
        "location": "Room 4.12",
        "body": "Walk through the revised numbers.",
    },
    {
        "id": "ev-migration-call",
        "subject": "Data migration kickoff",
        "day": 0,
        "at": "10:00",
        "minutes": 30,
        "organizer": OWNER,
        "attendees": [OWNER, PRIYA],
        "location": "Teams",
        "body": "Scope and timeline.",
    },
    {
        "id": "ev-offsite-prep",
        "subject": "Offsite planning",
        "day": 1,
        "at": "13:00",
        "minutes": 60,
        "organizer": LEE,
        "attendees": [LEE, OWNER, DANA],
        "location": "Room 2.01",
        "body": "",
    },
    {
        "id": "ev-all-hands",
        "subject": "All hands",
        "day": 3,
        "at": "16:00",
        "minutes": 60,
        "organizer": DANA,
        "attendees": [DANA, OWNER, LEE],
        "location": "Auditorium",
        "body": "",
    },
    {
        "id": "ev-retro",
        "subject": "Sprint retro",
        "day": -2,
        "at": "11:00",
        "minutes": 60,
        "organizer": LEE,
        "attendees": [LEE, OWNER],
        "location": "Teams",
        "body": "",
    },
]
