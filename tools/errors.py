"""Typed integration errors, classified by who can fix them.

::

    IntegrationError                  base; never raised itself
    ├── AuthExpired                   the owner must re-authorise (401, revoked or missing grant,
    │                                 a vendor's "login required" or "invalid token" codes)
    ├── RateLimited                   wait ``retry_after`` seconds (None: unknown), then try again
    ├── NotFound                      the thing is gone (404; a stale sync cursor → full resync)
    ├── UpstreamError                 the vendor failed (5xx, transport error, institution down); retryable
    └── InvalidRequest                our bug or bad input (other 4xx, malformed ids, bad arguments)
        └── SyncMutationDuringPagination
                                      the vendor changed data mid-pagination: restart the sync loop from the
                                      cursor the loop started with

Messages are built from status codes, vendor error codes and vendor messages, never from request
bodies or headers, and never contain a credential or token (clients scrub the values they hold).
"""

from __future__ import annotations


class IntegrationError(Exception):
    """A failure talking to a third-party API.

    ``integration`` names the client (an integration's name, or "broker"); ``status`` is the HTTP
    status when there was a response; ``code`` is the vendor's machine-readable reason; ``request_id``
    is the vendor's request id, for support tickets; ``display_message`` is a vendor-supplied text
    meant for the end user, if any.
    """

    display_message: str | None = None

    def __init__(
        self,
        message: str,
        *,
        integration: str | None = None,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.integration = integration
        self.status = status
        self.code = code
        self.request_id = request_id


class AuthExpired(IntegrationError):
    """The credentials no longer work; only the owner can fix this (reconnect the integration)."""


class RateLimited(IntegrationError):
    """The vendor throttled us. ``retry_after`` is in seconds when the vendor said how long."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        integration: str | None = None,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, integration=integration, status=status, code=code, request_id=request_id)
        self.retry_after = retry_after


class NotFound(IntegrationError):
    """The requested object does not exist (any more)."""


class UpstreamError(IntegrationError):
    """The vendor or the network failed; trying again later may work."""


class InvalidRequest(IntegrationError):
    """The request was wrong: a bug in Aegis or bad input. Retrying the same request will not help."""


class SyncMutationDuringPagination(InvalidRequest):
    """The vendor's data changed while a cursor sync was paging: restart from the loop's first cursor."""
