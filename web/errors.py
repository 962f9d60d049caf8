"""Typed errors of the console. Each maps to one status and a stable, non-revealing error code."""

from __future__ import annotations


class ConsoleError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, detail: str = "", *, retry_after: int | None = None) -> None:
        super().__init__(detail or self.code)
        self.retry_after = retry_after


class NotAuthenticated(ConsoleError):
    """No valid access token, or its session was revoked."""

    status = 401
    code = "unauthenticated"


class InvalidCredentials(ConsoleError):
    """A login or step-up failed. Never says which factor."""

    status = 401
    code = "invalid_credentials"


class CsrfRejected(ConsoleError):
    status = 403
    code = "csrf_rejected"


class StepUpRequired(ConsoleError):
    status = 403
    code = "step_up_required"


class TooManyAttempts(ConsoleError):
    """Backoff or lockout after failed logins."""

    status = 429
    code = "too_many_attempts"


class RateLimited(ConsoleError):
    status = 429
    code = "rate_limited"


class NotFound(ConsoleError):
    status = 404
    code = "not_found"


class AuditUnavailable(ConsoleError):
    """The audit row could not be written: the request is refused (fail-closed)."""

    status = 503
    code = "audit_unavailable"


class NoAdminAccount(ConsoleError):
    """``aegis admin init`` has not been run yet."""

    status = 401
    code = "invalid_credentials"
