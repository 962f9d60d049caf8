"""The owner's schedule: configuration, validated, turned into APScheduler 3 triggers.

Defaults ship in ``agent/jobs/schedule.yaml``; a ``schedule.yaml`` in the data folder overrides
them job by job. Every error names the file and the field, so the owner can fix it.

Three kinds of ``when``, all on the owner's clock (an IANA zone, so DST is handled by zoneinfo):

- ``every: 30m|6h`` (and ``4d`` without ``at``): an elapsed-time :class:`IntervalTrigger` anchored at
  midnight of 2024-01-01 local time, so slots are stable across restarts. Across a DST change the
  interval stays exact (an hourly job fires in both copies of the repeated hour).
- ``every: 4d, at: "09:00"``: a :class:`CalendarIntervalTrigger`: that wall-clock time every N days.
- ``cron: "0 6 * * *"``: a :class:`CronTrigger` (06:00 local every day, whatever the UTC offset).
  Weekdays must be names: APScheduler 3 numbers them from Monday=0, unlike crontab.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from apscheduler.triggers.calendarinterval import CalendarIntervalTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from integrations import Catalog

DEFAULTS_FILE = Path(__file__).with_name("schedule.yaml")
ANCHOR = date(2024, 1, 1)


class ScheduleError(ValueError):
    """The schedule file is invalid. The message says where and how to fix it."""


@dataclass(frozen=True)
class JobInfo:
    """What a job is: the integrations it works on (none for the core jobs; it runs when any of them
    is connected) and whether it uses the model (``none``; ``optional``: it still runs without
    prose; ``required``: it is skipped without)."""

    integrations: tuple[str, ...] = ()
    model: str = "none"


# The core jobs, whatever is installed. Integration jobs come from the installed manifests.
CORE_JOBS: Mapping[str, JobInfo] = {
    "daily_briefing": JobInfo((), "optional"),
    "weekly_digest": JobInfo((), "optional"),
    "rotation_reminder": JobInfo(()),
    "deadline_reminders": JobInfo(()),
    "net_worth_snapshot": JobInfo(()),  # skipped when no installed integration reports a part of net worth
    "generate_content": JobInfo((), "required"),  # the day's drafts; skipped with no network or no model
    "content_engagement": JobInfo(()),  # published posts' engagement; skipped with no network
}


@dataclass(frozen=True)
class IntegrationJob:
    """An installed integration job: who takes part, and the owner's default schedule."""

    integrations: tuple[str, ...]
    default: Mapping[str, Any]
    model: str = "none"


def installed_jobs(catalog: Catalog | None = None) -> dict[str, IntegrationJob]:
    """The installed integrations' jobs, from their manifests."""
    catalog = Catalog.load() if catalog is None else catalog
    defaults = catalog.default_schedule()
    return {  # a mail sync the model analyses after uses the model when it may (the rules otherwise)
        job: IntegrationJob(
            tuple(m.integration for m in members), defaults[job], "optional" if catalog.mail_analysers(job) else "none"
        )
        for job, members in catalog.jobs.items()
    }


def catalogue(jobs: Mapping[str, IntegrationJob]) -> dict[str, JobInfo]:
    return {**CORE_JOBS, **{k: JobInfo(v.integrations, v.model) for k, v in jobs.items()}}


@dataclass(frozen=True)
class JobBudget:
    tokens: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True)
class JobSpec:
    job_id: str
    when: str  # as the owner wrote it, e.g. "every 6h" or "cron 0 6 * * *"
    trigger: Any  # an APScheduler 3 trigger (the library ships no type information)
    enabled: bool
    misfire_grace: timedelta
    coalesce: bool
    budget: JobBudget
    info: JobInfo

    @property
    def key(self) -> str:
        """Identifies the schedule a persisted next slot was computed from."""
        return f"{self.when} @{self.trigger.timezone}"


@dataclass(frozen=True)
class Schedule:
    timezone: ZoneInfo
    jobs: Mapping[str, JobSpec]
    idle_after: timedelta

    def spec(self, job_id: str) -> JobSpec:
        try:
            return self.jobs[job_id]
        except KeyError:
            raise KeyError(f"unknown job {job_id!r}") from None


_TOP = {"version", "defaults", "jobs"}
_DEFAULT_KEYS = {"misfire_grace", "coalesce", "idle_after_days"}

_JOB_KEYS = {"every", "at", "cron", "enabled", "misfire_grace", "coalesce", "budget"}
_DURATION = re.compile(r"(\d{1,6})\s*([smhd])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_AT = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def load_schedule(
    timezone: str, override: Path | None = None, jobs: Mapping[str, IntegrationJob] | None = None
) -> Schedule:
    """The shipped core defaults and the installed integrations' defaults (``jobs``; by default
    from the manifests), with ``override`` (if it exists) applied job by job."""
    jobs = installed_jobs() if jobs is None else jobs
    data = _read(DEFAULTS_FILE)
    data["jobs"] = {**{k: dict(v.default) for k, v in jobs.items()}, **(data.get("jobs") or {})}
    if override is not None and override.exists():
        data = merge(data, _read(override), source=str(override))
    return parse_schedule(data, timezone, source=str(override or DEFAULTS_FILE), known=catalogue(jobs))


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScheduleError(f"{path}: not valid YAML ({type(exc).__name__})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ScheduleError(f"{path}: the schedule must be a mapping with 'jobs'")
    return data


def merge(base: Mapping[str, Any], over: Mapping[str, Any], *, source: str = "override") -> dict[str, Any]:
    """Apply an override file: its defaults replace keys; each job it names replaces the fields it sets
    (a new ``every`` or ``cron`` replaces the whole ``when``)."""
    _keys(over, _TOP, source)
    defaults = {
        **_mapping(base.get("defaults"), source, "defaults"),
        **_mapping(over.get("defaults"), source, "defaults"),
    }
    jobs = {k: dict(v) for k, v in _mapping(base.get("jobs"), source, "jobs").items()}
    for name, entry in _mapping(over.get("jobs"), source, "jobs").items():
        fields = _mapping(entry, source, f"jobs.{name}")
        current = jobs.get(str(name), {})
        if "every" in fields or "cron" in fields:
            current = {k: v for k, v in current.items() if k not in ("every", "at", "cron")}
        if isinstance(current.get("budget"), dict) and isinstance(fields.get("budget"), dict):
            fields["budget"] = {**current["budget"], **fields["budget"]}  # override tokens, keep the cost cap
        jobs[str(name)] = {**current, **fields}
    return {"version": 1, "defaults": defaults, "jobs": jobs}


def parse_schedule(
    data: Mapping[str, Any],
    timezone: str,
    *,
    source: str = "schedule",
    known: Mapping[str, JobInfo] | None = None,
) -> Schedule:
    _keys(data, _TOP, source)
    if data.get("version", 1) != 1:
        raise ScheduleError(f"{source}: version must be 1")
    tz = ZoneInfo(timezone)
    known = catalogue(installed_jobs()) if known is None else known
    defaults = _mapping(data.get("defaults"), source, "defaults")
    _keys(defaults, _DEFAULT_KEYS, f"{source}: defaults")
    grace = _duration(defaults.get("misfire_grace", "15m"), f"{source}: defaults.misfire_grace")
    coalesce = _bool(defaults.get("coalesce", True), f"{source}: defaults.coalesce")
    idle_days = defaults.get("idle_after_days", 3)
    if not isinstance(idle_days, int) or isinstance(idle_days, bool) or idle_days < 1:
        raise ScheduleError(f"{source}: defaults.idle_after_days must be a whole number of days, at least 1")
    jobs: dict[str, JobSpec] = {}
    for name, entry in _mapping(data.get("jobs"), source, "jobs").items():
        where = f"{source}: jobs.{name}"
        if name not in known:
            raise ScheduleError(
                f"{where}: unknown job (known jobs: {', '.join(sorted(known))}; "
                "a job of an integration that is not installed is not known)"
            )
        info = known[name]
        jobs[name] = _job(str(name), _mapping(entry, source, f"jobs.{name}"), tz, grace, coalesce, where, info)
    return Schedule(tz, jobs, timedelta(days=idle_days))


def _job(
    name: str, entry: Mapping[str, Any], tz: ZoneInfo, grace: timedelta, coalesce: bool, where: str, info: JobInfo
) -> JobSpec:
    _keys(entry, _JOB_KEYS, where)
    if ("every" in entry) == ("cron" in entry):
        raise ScheduleError(f"{where}: give exactly one of 'every' (e.g. 30m, 6h, 4d) or 'cron'")
    if "cron" in entry:
        if "at" in entry:
            raise ScheduleError(f"{where}: 'at' goes with 'every: Nd'; put the time in the cron expression")
        when, trigger = _cron(entry["cron"], tz, where)
    else:
        when, trigger = _every(entry["every"], entry.get("at"), tz, where)
    budget = _mapping(entry.get("budget"), where, "budget")
    _keys(budget, {"tokens", "cost_usd"}, f"{where}.budget")
    tokens, cost = budget.get("tokens", 0), budget.get("cost_usd", 0.0)
    if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
        raise ScheduleError(f"{where}.budget.tokens must be a whole number, 0 or more")
    if not isinstance(cost, (int, float)) or isinstance(cost, bool) or cost < 0:
        raise ScheduleError(f"{where}.budget.cost_usd must be a number of dollars, 0 or more")
    return JobSpec(
        job_id=name,
        when=when,
        trigger=trigger,
        enabled=_bool(entry.get("enabled", True), f"{where}.enabled"),
        misfire_grace=_duration(entry["misfire_grace"], f"{where}.misfire_grace")
        if "misfire_grace" in entry
        else grace,
        coalesce=_bool(entry.get("coalesce", coalesce), f"{where}.coalesce"),
        budget=JobBudget(tokens, float(cost)),
        info=info,
    )


def _cron(expr: Any, tz: ZoneInfo, where: str) -> tuple[str, Any]:
    if not isinstance(expr, str) or len(expr.split()) != 5:
        raise ScheduleError(
            f"{where}.cron: bad cron expression {expr!r}: need 5 fields (minute hour day month weekday)"
        )
    if re.search(r"\d", expr.split()[4]):
        raise ScheduleError(
            f"{where}.cron: write weekdays by name (mon..sun), not number, in {expr!r}: "
            "APScheduler 3 counts them from Monday=0, unlike crontab"
        )
    try:
        trigger = CronTrigger.from_crontab(expr, timezone=tz)
    except ValueError as exc:
        raise ScheduleError(f"{where}.cron: bad cron expression {expr!r}: {exc}") from None
    return f"cron {' '.join(expr.split())}", trigger


def _every(value: Any, at: Any, tz: ZoneInfo, where: str) -> tuple[str, Any]:
    seconds = _duration(value, f"{where}.every").total_seconds()
    if seconds < 60:
        raise ScheduleError(f"{where}.every: the shortest interval is 1m")
    if at is None:
        start = datetime.combine(ANCHOR, datetime.min.time(), tzinfo=tz)
        return f"every {value}", IntervalTrigger(seconds=int(seconds), start_date=start, timezone=tz)
    m = _AT.fullmatch(at) if isinstance(at, str) else None
    if m is None:
        raise ScheduleError(f"{where}.at: bad time {at!r}: use HH:MM (24-hour clock)")
    if seconds % 86400:
        raise ScheduleError(f"{where}.at: 'at' needs an interval in whole days (e.g. every: 4d)")
    trigger = CalendarIntervalTrigger(
        days=int(seconds // 86400), hour=int(m[1]), minute=int(m[2]), start_date=ANCHOR, timezone=tz
    )
    return f"every {value} at {at}", trigger


def _duration(value: Any, where: str) -> timedelta:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    m = _DURATION.fullmatch(value.strip()) if isinstance(value, str) else None
    if m is None or int(m[1]) == 0:
        raise ScheduleError(f"{where}: bad interval {value!r}: use a number and a unit, e.g. 30m, 6h, 4d")
    return timedelta(seconds=int(m[1]) * _UNIT[m[2]])


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ScheduleError(f"{where}: must be true or false")
    return value


def _mapping(value: Any, source: str, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ScheduleError(f"{source}: {field} must be a mapping")
    return {str(k): v for k, v in value.items()}


def _keys(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise ScheduleError(f"{where}: unknown field(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")


def next_slot(trigger: Any, previous: datetime | None, now: datetime) -> datetime | None:
    """The slot after ``previous`` (may be in the past: a missed slot), or the first at/after ``now``.

    Returned in UTC. Python compares and subtracts two datetimes of the *same* zone by wall clock,
    ignoring DST folds, so everything outside the triggers is kept in UTC."""
    tz = trigger.timezone
    if previous is not None:
        local = previous.astimezone(tz)  # calendar triggers read the date of the previous slot
        out = trigger.get_next_fire_time(local, local)
        return None if out is None else _utc(out)
    now_utc = _utc(now)
    t = trigger.get_next_fire_time(None, now_utc.astimezone(tz))
    # CalendarIntervalTrigger starts from its anchor date; walk forward to now.
    while t is not None and _utc(t) < now_utc:
        t = trigger.get_next_fire_time(t, t)
    return None if t is None else _utc(t)


def slots_between(trigger: Any, start: datetime, end: datetime) -> list[datetime]:
    """Every slot with ``start <= slot <= end``, in order, in UTC."""
    out: list[datetime] = []
    t, end_utc = next_slot(trigger, None, start), _utc(end)
    while t is not None and t <= end_utc:
        out.append(t)
        t = next_slot(trigger, t, t)
    return out


def _utc(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError("naive datetime; schedules work on aware datetimes")
    return t.astimezone(UTC)
