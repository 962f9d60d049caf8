"""The one-time browser setup of the admin, opened by a link printed only in the ``aegis up`` terminal.

The link carries a random token; the console keeps only its SHA-256 and compares in constant time.
The token works only while no admin exists: anyone else on the machine who can reach the console
but not read that terminal cannot claim the admin. The first visit moves the token from the URL into
an httpOnly, SameSite=Strict cookie (so it leaves the address bar and history at once); every step
checks it, and every form also carries a value derived from it (CSRF). State between steps (the
pending enrolment, then the recovery codes until they have been shown once) lives in this process only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from web.auth.enrolment import Enrolment


@dataclass
class SetupGate:
    token_hash: bytes
    enrolment: Enrolment | None = field(default=None, repr=False)
    codes: list[str] | None = field(default=None, repr=False)
    done: bool = False

    @classmethod
    def new(cls) -> tuple[SetupGate, str]:
        """A gate and its token (to print once; it is not kept)."""
        token = secrets.token_urlsafe(32)
        return cls(hashlib.sha256(token.encode()).digest()), token

    def admits(self, token: str | None) -> bool:
        if not token or len(token) > 128:
            return False
        return hmac.compare_digest(hashlib.sha256(token.encode()).digest(), self.token_hash)

    def form_key(self) -> str:
        """The CSRF value every setup form carries (derived from the token, so it needs the cookie's token)."""
        return hmac.new(self.token_hash, b"setup-form", hashlib.sha256).hexdigest()

    def form_ok(self, value: str | None) -> bool:
        return value is not None and hmac.compare_digest(value.encode(), self.form_key().encode())

    def take_codes(self) -> list[str]:
        """The recovery codes, once; the gate then closes for good."""
        codes, self.codes, self.enrolment, self.done = self.codes or [], None, None, True
        return codes
