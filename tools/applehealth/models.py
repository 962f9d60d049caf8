"""One health sample as Aegis keeps it, and the error a bad payload raises."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from tools.errors import InvalidRequest

Value = float | str


class PayloadError(InvalidRequest):
    """The pushed body is not a payload we accept. ``path`` says where (``data.metrics[0].data[2].date``)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}", integration="applehealth", status=400, code="invalid_payload")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class Sample:
    """One measurement. ``(metric, start, source)`` identifies it: a repeat of it replaces nothing."""

    metric: str
    start: dt.datetime  # timezone-aware, as the phone sent it
    units: str
    source: str
    values: dict[str, Value] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.metric}|{self.start.astimezone(dt.UTC).isoformat()}|{self.source}"
