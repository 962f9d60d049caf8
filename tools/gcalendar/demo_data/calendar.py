"""The demo calendar's events: day offsets from today, times of day in UTC.

``day`` is the offset from today, ``at`` the start ("HH:MM", UTC) or None for an all-day event,
``minutes`` the length (``days`` for all-day events), ``repeat`` a daily or weekly count.
"""

from __future__ import annotations

from typing import Any, Final

OWNER: Final = "alex.rivera@example.com"
DANA: Final = "dana.whitfield@northwind.example"
LEE: Final = "lee.chen@northwind.example"
SAM: Final = "sam.okafor@example.net"

EVENTS: Final[list[dict[str, Any]]] = [
    {
        "id": "standup7h2k9q",
        "summary": "Team standup",
        "day": -14,
        "at": "09:30",
        "minutes": 15,
        "repeat": ("DAILY", 45),
        "organizer": OWNER,
        "attendees": [OWNER, LEE],
        "location": "Video call",
        "description": "Daily check-in.",
    },
    {
        "id": "onetoonedana01",
        "summary": "1:1 with Dana",
        "day": 0,
        "at": "15:00",
        "minutes": 30,
        "organizer": DANA,
        "attendees": [DANA, OWNER],
        "description": "Contract renewal: pricing questions from last week's thread.",
    },
    {
        "id": "lunchsam0001",
        "summary": "Lunch with Sam",
        "day": -1,
        "at": "12:30",
        "minutes": 60,
        "organizer": SAM,
        "attendees": [SAM, OWNER],
        "location": "Corner Bistro",
    },
    {
        "id": "dentist00001",
        "summary": "Dentist",
        "day": 1,
        "at": "11:00",
        "minutes": 45,
        "organizer": OWNER,
        "attendees": [],
        "location": "12 Main Street",
    },
    {
        "id": "planningq1001",
        "summary": "Quarterly planning",
        "day": 2,
        "at": "14:00",
        "minutes": 90,
        "organizer": LEE,
        "attendees": [LEE, DANA, OWNER],
        "description": "Agenda: roadmap, hiring, budget.",
        "location": "Northwind office, room 4",
    },
    {
        "id": "weeklyreview1",
        "summary": "Weekly review",
        "day": -21,
        "at": "16:00",
        "minutes": 30,
        "repeat": ("WEEKLY", 8),
        "organizer": OWNER,
        "attendees": [OWNER],
    },
    {
        "id": "devdays20261",
        "summary": "DevDays conference",
        "day": 10,
        "at": None,
        "days": 2,
        "organizer": OWNER,
        "attendees": [],
        "location": "Convention center",
    },
]
