"""Structured logging with secret redaction.

Every log record passes through :class:`Redactor`, which replaces any registered secret value
and anything shaped like a token or an API key.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

REDACTED = "[REDACTED]"
_PATTERNS = (
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),  # JWT
    re.compile(r"\baegk_[A-Za-z0-9]+\.[A-Za-z0-9]+"),  # broker API keys
    # A PEM private key, up to its END line or, if cut short, to the end of the text.
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----|[\s\S]*)"),
)
# Keys that structlog's ProcessorFormatter uses internally and removes before rendering.
_META = frozenset({"_record", "_from_structlog"})


class Redactor:
    """A structlog processor that scrubs secrets from every string, key and value of an event.

    It runs after ``format_exc_info`` in the chain, so tracebacks are already text when it sees them.
    """

    def __init__(self) -> None:
        # Longest first, so a secret that contains another registered one is removed whole.
        # A tuple, replaced on register, so scrubbing in another thread never sees it change.
        self._values: tuple[str, ...] = ()

    def register(self, value: str) -> None:
        if len(value) >= 6 and value not in self._values:
            self._values = tuple(sorted({*self._values, value}, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(REDACTED, text)
        return text

    def _walk(self, obj: Any) -> Any:
        if isinstance(obj, str):
            return self.scrub(obj)
        if obj is None or isinstance(obj, (bool, int, float)):
            return obj
        if isinstance(obj, dict):
            return {self._walk(k): self._walk(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return type(obj)(self._walk(v) for v in obj)
        if isinstance(obj, (set, frozenset)):
            return [self._walk(v) for v in obj]
        # Exceptions, bytes and any other object would be rendered through repr(): scrub that text.
        return self.scrub(repr(obj))

    def __call__(self, _logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        return {k: v if k in _META else self._walk(v) for k, v in event_dict.items()}


def configure_logging(redactor: Redactor, *, level: str = "INFO", json: bool = True) -> None:
    """Route stdlib logging and structlog through one redacting, structured pipeline."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redactor,
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Their routine lines (each request, each migration step, each job added or run, the server's
    # start banner) bury the one line the owner needs; their warnings and errors still show.
    for noisy in ("uvicorn.access", "uvicorn.error", "alembic.runtime.migration", "httpx", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
