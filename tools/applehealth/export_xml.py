"""Stream the iPhone's "Export All Health Data" ``export.xml`` (it can be gigabytes) as batches.

Parsed with the standard library's ``iterparse`` one element at a time, each cleared once read, so
memory stays flat whatever the file's size. The export's inline DTD is allowed; ElementTree never
fetches external entities, and expat 2.4.1 or newer refuses entity-expansion bombs (checked below).

``Record`` elements become samples named like Health Auto Export's (``HKQuantityTypeIdentifierStepCount``
→ ``step_count``); ``Workout`` elements become ``workout`` samples. The source is the record's
``sourceName`` marked ``(export)``: the daily queries take the larger of the sources' sums, so a
backfill over days the phone already pushed never doubles them.
"""

from __future__ import annotations

import datetime as dt
import pyexpat
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Final

from tools.applehealth.models import PayloadError, Sample, Value
from tools.applehealth.parse import HAE_DATE

BATCH: Final = 2_000
_PREFIXES = ("HKQuantityTypeIdentifier", "HKCategoryTypeIdentifier", "HKDataType")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
Progress = Callable[[int, int], None]  # (bytes read, total bytes)


def _expat_is_safe() -> bool:
    major, minor, micro = pyexpat.version_info
    return (major, minor, micro) >= (2, 4, 1)


def metric_name(record_type: str) -> str:
    for prefix in _PREFIXES:
        if record_type.startswith(prefix):
            record_type = record_type[len(prefix) :]
            break
    return _CAMEL.sub("_", record_type).lower()[:64] or "unknown"


def _date(text: str | None, where: str) -> dt.datetime:
    if not text:
        raise PayloadError(where, "missing date")
    try:
        return dt.datetime.strptime(text, HAE_DATE)  # noqa: DTZ007 - HAE_DATE ends in %z
    except ValueError:
        raise PayloadError(where, f"not a date like 2026-11-20 14:30:00 -0800: {text[:40]!r}") from None


def _sample(elem: ET.Element, line: int) -> Sample | None:
    a = elem.attrib
    where = f"export.xml element {line}"
    source = f"{a.get('sourceName', 'unknown')[:180]} (export)"
    start = _date(a.get("startDate"), where)
    values: dict[str, Value] = {}
    if a.get("endDate"):
        values["end"] = _date(a.get("endDate"), where).isoformat()
    if elem.tag == "Record":
        raw = a.get("value", "")
        try:
            values["qty"] = float(raw)
        except ValueError:
            values["value"] = raw[:200]
        return Sample(metric_name(a.get("type", "")), start, a.get("unit", "")[:32], source, values)
    if elem.tag == "Workout":
        values["name"] = metric_name(a.get("workoutActivityType", "HKWorkoutActivityTypeOther")).removeprefix(
            "h_k_workout_activity_type_"
        )
        for key in ("duration", "totalDistance", "totalEnergyBurned"):
            if key in a:
                try:
                    values[key] = float(a[key])
                except ValueError:
                    raise PayloadError(where, f"{key} is not a number") from None
        return Sample("workout", start, a.get("durationUnit", "")[:32], source, values)
    return None


class _Counting:
    """A binary reader that reports how far it has read."""

    def __init__(self, raw: IO[bytes], total: int, progress: Progress | None) -> None:
        self._raw, self._total, self._progress, self.read_bytes = raw, total, progress, 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        self.read_bytes += len(chunk)
        if self._progress is not None:
            self._progress(self.read_bytes, self._total)
        return chunk


def stream_export(path: Path, *, batch: int = BATCH, progress: Progress | None = None) -> Iterator[list[Sample]]:
    """Batches of samples from ``export.xml``, in file order."""
    if not _expat_is_safe():
        raise RuntimeError("this Python's expat is older than 2.4.1 and not safe for untrusted XML")
    total = path.stat().st_size
    with path.open("rb") as fh:
        reader = _Counting(fh, total, progress)
        pending: list[Sample] = []
        root: ET.Element | None = None
        count = 0
        for event, elem in ET.iterparse(reader, events=("start", "end")):  # noqa: S314 - expat >= 2.4.1, checked above
            if event == "start":
                if root is None:
                    root = elem
                continue
            if elem.tag in ("Record", "Workout"):
                count += 1
                sample = _sample(elem, count)
                if sample is not None:
                    pending.append(sample)
                elem.clear()
                if root is not None:
                    root.clear()  # drop the parsed siblings too
            if len(pending) >= batch:
                yield pending
                pending = []
        if pending:
            yield pending
