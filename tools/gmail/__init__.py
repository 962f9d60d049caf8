"""Gmail REST v1 client, models, MIME helpers and a demo mailbox transport."""

from tools.gmail.client import GmailClient

__all__ = ["GmailClient"]
