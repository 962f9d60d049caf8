"""Secret values: read from files, never echoed.

A secret comes from (in order) ``AEGIS_<NAME>_FILE``, then ``<secrets_dir>/<name>``
(Docker secrets live in ``/run/secrets``). A plain ``AEGIS_<NAME>`` environment
variable is accepted only outside production mode.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

PLACEHOLDERS: Final = frozenset(
    {
        "",
        "changeme",
        "changethis",
        "change-me",
        "change_me",
        "placeholder",
        "secret",
        "password",
        "todo",
        "xxx",
        "your-secret-key",
        "your-admin-token",
        "replace-me",
        "changeit",
        "example",
        "dummy",
        "none",
        "null",
        "your-api-key",
    }
)


class SecretError(Exception):
    """A secret is missing, unsafe or a placeholder. The operator fixes this."""


class Secret:
    """A secret value whose repr and str never show the value."""

    __slots__ = ("_value", "name")

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.name!r}, '**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


def check_private_file(path: Path) -> None:
    """Refuse a key file that group or others can read or write."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise SecretError(f"key file {path} does not exist") from exc
    if not stat.S_ISREG(mode):
        raise SecretError(f"key file {path} is not a regular file")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretError(
            f"key file {path} is accessible by group or others (mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}"
        )


def is_placeholder(value: str) -> bool:
    """Empty, a dummy word, ``your-...``, ``<your key>``, ``xxxx``/``****``, or an unexpanded ``${VAR}``."""
    v = value.strip().lower()
    return (
        v in PLACEHOLDERS
        or (v.startswith("<") and v.endswith(">"))
        or (v.startswith("${") and v.endswith("}"))
        or v.startswith(("your-", "your_", "your "))
        or set(v) <= {"x", "*", "."}
    )


def _read_secret_file(name: str, path: Path) -> str:
    # Errors name the file, never its content (a decode error would quote the bytes).
    try:
        return path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        raise SecretError(f"secret {name!r} in {path} is not UTF-8 text") from None
    except OSError as exc:
        raise SecretError(f"secret {name!r} cannot be read from {path}: {exc.strerror}") from None


class SecretSource:
    """Reads named secrets from files. One instance per process, built by the composition root."""

    def __init__(
        self,
        secrets_dir: Path,
        *,
        production: bool,
        environ: Mapping[str, str] | None = None,
        on_read: Callable[[str], None] | None = None,
    ) -> None:
        """``on_read`` receives every value read (the composition root registers it for log redaction)."""
        self._dir = secrets_dir
        self._production = production
        self._env = os.environ if environ is None else environ
        self._on_read = on_read

    def path_for(self, name: str) -> Path | None:
        env_name = f"AEGIS_{name.upper()}_FILE"
        if env_name in self._env:
            return Path(self._env[env_name])
        candidate = self._dir / name.lower()
        return candidate if candidate.exists() else None

    def get(self, name: str, *, required: bool = True, check_perms: bool = True) -> Secret | None:
        plain_env = f"AEGIS_{name.upper()}"
        if self._production and plain_env in self._env:
            # Refused even when a file is also configured: the value is already exposed in the environment.
            raise SecretError(
                f"{plain_env} is set as a plain environment variable; production mode reads "
                f"secrets only from files (unset it; set {plain_env}_FILE or use {self._dir / name.lower()})"
            )
        path = self.path_for(name)
        if path is None and plain_env in self._env:
            value = self._env[plain_env]
        elif path is None:
            if required:
                raise SecretError(
                    f"secret {name!r} not found: set AEGIS_{name.upper()}_FILE or create {self._dir / name.lower()}"
                )
            return None
        else:
            if check_perms:
                check_private_file(path)
            value = _read_secret_file(name, path)
        if is_placeholder(value):
            where = path if path is not None else plain_env
            raise SecretError(f"secret {name!r} ({where}) still holds a placeholder value; set a real one")
        if self._on_read is not None:
            self._on_read(value)
        return Secret(name, value)
