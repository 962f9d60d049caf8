"""WhatsApp-specific errors (the rest is :mod:`tools.errors`)."""

from __future__ import annotations

from tools.errors import UpstreamError

# States only the owner can fix (pair again, or confirm on the phone).
OWNER_STATES = frozenset({"pairing", "logged_out", "auth_failure", "conflict", "blocked"})


class NotConnected(UpstreamError):
    """The bridge is up but WhatsApp is not connected; ``state`` says why (see the bridge's README).

    ``needs_owner``: the owner must act (pair, unlink another session...). ``needs_update``: WhatsApp
    Web changed and the bridge must be updated. Otherwise (starting, phone offline, reconnecting) it
    may recover by itself.
    """

    def __init__(self, message: str, *, state: str, status: int | None = 409) -> None:
        super().__init__(message, integration="whatsapp", status=status, code="not_connected")
        self.state = state

    @property
    def needs_owner(self) -> bool:
        return self.state in OWNER_STATES

    @property
    def needs_update(self) -> bool:
        return self.state == "web_changed"
