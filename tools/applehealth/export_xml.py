"""Stream the iPhone's "Export All Health Data" ``export.xml`` (it can be gigabytes) as batches.

Parsed with the standard library's pull parser one element at a time, each cleared once read, so
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
from typing import Final, cast

from tools.applehealth.models import PayloadError, Sample, Value
from tools.applehealth.parse import HAE_DATE

BATCH: Final = 2_000
CHUNK: Final = 16 * 1024
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


class ExportFeed:
    """``export.xml`` fed in pieces as they arrive (an upload in chunks): each :meth:`feed` returns the
    samples its bytes completed. Parsed elements are cleared as read, so memory stays flat."""

    def __init__(self) -> None:
        if not _expat_is_safe():
            raise RuntimeError("this Python's expat is older than 2.4.1 and not safe for untrusted XML")
        self._parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
        self._root: ET.Element | None = None
        self._count = 0

    def _drain(self) -> list[Sample]:
        out: list[Sample] = []
        for pair in self._parser.read_events():
            event, elem = cast("tuple[str, object]", pair)
            if not isinstance(elem, ET.Element):
                continue
            if event == "start":
                if self._root is None:
                    self._root = elem
                continue
            if elem.tag in ("Record", "Workout"):
                self._count += 1
                sample = _sample(elem, self._count)
                if sample is not None:
                    out.append(sample)
                elem.clear()
                if self._root is not None:
                    self._root.clear()  # drop the parsed siblings too
        return out

    def feed(self, data: bytes) -> list[Sample]:
        try:
            self._parser.feed(data)
            return self._drain()
        except ET.ParseError as exc:
            raise PayloadError(f"export.xml line {exc.position[0]}", "not well-formed XML") from None

    def close(self) -> list[Sample]:
        try:
            self._parser.close()
            return self._drain()
        except ET.ParseError as exc:
            raise PayloadError(f"export.xml line {exc.position[0]}", "the file ends too early") from None


def stream_export(path: Path, *, batch: int = BATCH, progress: Progress | None = None) -> Iterator[list[Sample]]:
    """Batches of samples from ``export.xml``, in file order."""
    total = path.stat().st_size
    feed = ExportFeed()
    pending: list[Sample] = []
    read = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            read += len(chunk)
            pending += feed.feed(chunk)
            if progress is not None:
                progress(read, total)
            while len(pending) >= batch:
                yield pending[:batch]
                pending = pending[batch:]
    pending += feed.close()
    while pending:
        yield pending[:batch]
        pending = pending[batch:]
