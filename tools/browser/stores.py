"""Where a browser source keeps its cookies and its failure snapshots, encrypted.

:class:`VaultCookieJar` keeps the cookies as a secret in the broker's vault, through a
:class:`~tools.credentials.CredentialProvider` to read and writer and eraser callables to store and
purge it (the server's own secret store). The cookie list is stored as one base64url line: the vault
takes an ``api-token`` only without spaces, and Playwright's JSON has them.

:class:`EncryptedSnapshots` writes each failure's screenshot and HTML as one file (mode 0600) sealed
with the source's data key (AES-256-GCM through :class:`FieldCipher`), bound to its id, so a snapshot
is unreadable without the key and cannot be swapped for another.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from storage.crypto.field import FieldCipher, FieldContext
from tools.credentials import CredentialProvider, from_one_line, one_line
from tools.errors import AuthExpired


class VaultCookieJar:
    def __init__(
        self,
        credentials: CredentialProvider,
        write: Callable[[str, str], Awaitable[None]],
        name: str,
        erase: Callable[[str], Awaitable[bool]],
    ) -> None:
        self._credentials = credentials
        self._write = write
        self._erase = erase
        self.name = name

    async def load(self) -> str | None:
        try:
            stored = await self._credentials.get(self.name)
        except AuthExpired:
            return None
        try:
            cookies = from_one_line(stored)
        except (ValueError, UnicodeError):
            return None
        # Not a session this jar wrote: start without one (the login form comes).
        return None if cookies == stored else cookies

    async def save(self, cookies: str) -> None:
        await self._write(self.name, one_line(cookies))
        self._credentials.invalidate(self.name)

    async def forget(self) -> bool:
        """Purge the saved session (the vault's every version, and any copy held in memory)."""
        self._credentials.invalidate(self.name)
        return await self._erase(self.name)


class EncryptedSnapshots:
    TABLE = "browser_snapshots"

    def __init__(self, cipher: FieldCipher, domain: str, directory: Path) -> None:
        self._cipher = cipher
        self._domain = domain
        self._dir = directory

    def _path(self, snapshot_id: str) -> Path:
        return self._dir / f"{snapshot_id}.snap"

    async def keep(self, source: str, reason: str, screenshot: bytes, html: str) -> str:
        snapshot_id = f"{source}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"
        doc = {
            "source": source,
            "reason": reason,
            "png": base64.b64encode(screenshot).decode(),
            "html": html,
        }
        blob = self._cipher.encrypt_text(
            self._domain, FieldContext(self.TABLE, "snapshot", snapshot_id), json.dumps(doc)
        )
        self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self._path(snapshot_id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        return snapshot_id

    def open(self, snapshot_id: str) -> dict[str, str]:
        blob = self._path(snapshot_id).read_bytes()
        text = self._cipher.decrypt_text(self._domain, FieldContext(self.TABLE, "snapshot", snapshot_id), blob)
        doc: dict[str, str] = json.loads(text)
        return doc
