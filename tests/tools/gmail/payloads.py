"""Gmail REST v1 response bodies, shaped like the real API (camelCase, base64url bodies, string ids)."""

from __future__ import annotations

import base64
from typing import Any


def b64url(text: str | bytes, *, charset: str = "utf-8", pad: bool = False) -> str:
    raw = text.encode(charset) if isinstance(text, str) else text
    encoded = base64.urlsafe_b64encode(raw).decode()
    return encoded if pad else encoded.rstrip("=")


PLAIN = "Hi Alex,\n\nThe café meeting moved to 3pm — see the agenda attached.\n\nDana\n"
HTML = "<p>Hi Alex,</p><p>The café meeting moved to <b>3pm</b>.</p>"

MESSAGE_FULL: dict[str, Any] = {
    "id": "18f30a7d5e8b0e45",
    "threadId": "18f30a7d5e8b0e45",
    "labelIds": ["INBOX", "IMPORTANT", "Label_3"],
    "snippet": "Hi Alex, The caf&eacute; meeting moved to 3pm",
    "historyId": "1921",
    "internalDate": "1793802612000",
    "sizeEstimate": 52311,
    "payload": {
        "partId": "",
        "mimeType": "multipart/mixed",
        "filename": "",
        "headers": [
            {"name": "From", "value": "Dana Whitfield <dana.whitfield@northwind.example>"},
            {"name": "To", "value": "Alex Rivera <alex.rivera@example.com>"},
            {"name": "Cc", "value": "Lee Chen <lee.chen@northwind.example>, alex.rivera@example.com"},
            {"name": "Subject", "value": "Q4 planning"},
            {"name": "Message-ID", "value": "<CAF=q4plan@mail.northwind.example>"},
            {"name": "References", "value": "<CAF=kickoff@mail.northwind.example>"},
            {"name": "Content-Type", "value": 'multipart/mixed; boundary="000000000000a1b2"'},
        ],
        "body": {"size": 0},
        "parts": [
            {
                "partId": "0",
                "mimeType": "multipart/alternative",
                "filename": "",
                "headers": [{"name": "Content-Type", "value": 'multipart/alternative; boundary="000000000000c3d4"'}],
                "body": {"size": 0},
                "parts": [
                    {
                        "partId": "0.0",
                        "mimeType": "text/plain",
                        "filename": "",
                        "headers": [{"name": "Content-Type", "value": 'text/plain; charset="UTF-8"'}],
                        "body": {"size": len(PLAIN.encode()), "data": b64url(PLAIN)},
                    },
                    {
                        "partId": "0.1",
                        "mimeType": "text/html",
                        "filename": "",
                        "headers": [{"name": "Content-Type", "value": 'text/html; charset="ISO-8859-1"'}],
                        "body": {"size": len(HTML), "data": b64url(HTML, charset="iso-8859-1", pad=True)},
                    },
                ],
            },
            {
                "partId": "1",
                "mimeType": "application/pdf",
                "filename": "agenda.pdf",
                "headers": [
                    {"name": "Content-Type", "value": 'application/pdf; name="agenda.pdf"'},
                    {"name": "Content-Disposition", "value": 'attachment; filename="agenda.pdf"'},
                ],
                "body": {"attachmentId": "ANGjdJ8wXk1", "size": 48213},
            },
        ],
    },
}

PROFILE = {"emailAddress": "alex.rivera@example.com", "messagesTotal": 4211, "threadsTotal": 2980, "historyId": "2030"}

HISTORY_PAGE_1 = {
    "history": [
        {
            "id": "2011",
            "messages": [{"id": "18f3c5a8e1f2139a", "threadId": "18f3a0c2d9b1e401"}],
            "messagesAdded": [
                {"message": {"id": "18f3c5a8e1f2139a", "threadId": "18f3a0c2d9b1e401", "labelIds": ["INBOX", "UNREAD"]}}
            ],
        }
    ],
    "nextPageToken": "09876",
    "historyId": "2030",
}
HISTORY_PAGE_2 = {
    "history": [
        {
            "id": "2020",
            "messages": [{"id": "18f2e1b6c2f90d34", "threadId": "18f2e1b6c2f90d34"}],
            "labelsRemoved": [
                {
                    "message": {"id": "18f2e1b6c2f90d34", "threadId": "18f2e1b6c2f90d34", "labelIds": ["INBOX"]},
                    "labelIds": ["UNREAD"],
                }
            ],
        }
    ],
    "historyId": "2030",
}


def google_error(code: int, reason: str, message: str = "error", status: str = "FAILED_PRECONDITION") -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
            "status": status,
        }
    }
