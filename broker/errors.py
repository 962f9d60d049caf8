"""Broker errors. Each carries the HTTP status and a machine reason code; messages never hold secrets.

BrokerError
 ├── BadRequest (400)        the caller sent something invalid (fix the request)
 ├── Unauthorized (401)      no valid credential (fix the credential)
 ├── Forbidden (403)         valid credential, not allowed (change the policy)
 ├── NotFound (404)
 ├── Conflict (409)
 ├── TooManyRequests (429)   slow down (Retry-After)
 └── Unavailable (503)       sealed, or the audit log cannot be written (operator)
"""

from __future__ import annotations


class BrokerError(Exception):
    status = 500

    def __init__(self, code: str, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.audited = False


class BadRequest(BrokerError):
    status = 400


class Unauthorized(BrokerError):
    status = 401


class Forbidden(BrokerError):
    status = 403


class NotFound(BrokerError):
    status = 404


class Conflict(BrokerError):
    status = 409


class TooManyRequests(BrokerError):
    status = 429


class Unavailable(BrokerError):
    status = 503
