"""The schedule as configuration: defaults, overrides, clear errors, and firing times across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from aegis.settings import Settings
from agent.jobs.schedule import CORE_JOBS, ScheduleError, installed_jobs, load_schedule, next_slot, slots_between
from tests.agent.jobs.conftest import NY, make_schedule
from tests.agent.jobs.seed import SEED_JOBS

NEW_YORK = ZoneInfo(NY)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_the_shipped_schedule_is_the_core_jobs_and_the_installed_integrations_jobs() -> None:
    s = load_schedule("UTC")
    installed = installed_jobs()
    assert set(s.jobs) == set(CORE_JOBS) | set(installed)
    assert {"sync_emails", "sync_finances"} <= set(installed)  # gmail and plaid are installed
    without_social = {k: v for k, v in installed.items() if k != "sync_social"}
    assert "sync_social" not in load_schedule("UTC", jobs=without_social).jobs  # nobody takes part: no job
    for job, spec in s.jobs.items():
        assert spec.info.integrations == (installed[job].integrations if job in installed else ())


def test_with_every_seed_integration_installed_the_schedule_is_the_seed_schedule() -> None:
    s = load_schedule("UTC", jobs=SEED_JOBS)
    assert set(s.jobs) == set(CORE_JOBS) | set(SEED_JOBS)
    when = {job: spec.when for job, spec in s.jobs.items()}
    assert when == {
        "sync_finances": "every 6h",
        "sync_emails": "every 30m",
        "sync_calendar": "every 15m",
        "sync_social": "every 2h",
        "run_crawlers": "every 4h",
        "daily_briefing": "cron 0 6 * * *",
        "generate_content": "cron 0 7 * * *",
        "weekly_digest": "cron 0 20 * * sun",
        "grocery_order": "every 4d at 09:00",
        "health_sync": "every 1h",
        "rotation_reminder": "every 1d at 09:00",  # the 90-day secret rotation (deploy/rotate-secrets.sh)
        "deadline_reminders": "every 30m",  # each coursework deadline, once, a set time before
        "net_worth_snapshot": "cron 55 23 * * *",  # the day's net worth, before the day ends
        "content_engagement": "every 2h",  # the published posts' engagement (issue 17)
    }
    assert all(spec.enabled and spec.coalesce for spec in s.jobs.values())
    assert s.jobs["sync_emails"].misfire_grace == timedelta(minutes=15)
    assert s.jobs["daily_briefing"].budget.tokens > 0 and s.jobs["sync_emails"].budget.tokens == 0


def test_an_override_file_replaces_only_what_it_names(tmp_path: Path) -> None:
    override = tmp_path / "schedule.yaml"
    override.write_text(
        "jobs:\n"
        "  daily_briefing: {cron: '30 5 * * mon-fri'}\n"
        "  sync_social: {enabled: false}\n"
        "  sync_emails: {every: 10m, misfire_grace: 5m}\n"
        "  weekly_digest: {budget: {tokens: 5000}}\n"
        "defaults: {idle_after_days: 7}\n"
    )
    s = load_schedule(NY, override, SEED_JOBS)
    assert s.jobs["daily_briefing"].when == "cron 30 5 * * mon-fri"
    assert s.jobs["daily_briefing"].budget.tokens == 20000  # kept from the defaults
    assert s.jobs["sync_social"].enabled is False and s.jobs["sync_social"].when == "every 2h"
    assert s.jobs["sync_emails"].misfire_grace == timedelta(minutes=5)
    assert s.idle_after == timedelta(days=7)
    assert (s.jobs["weekly_digest"].budget.tokens, s.jobs["weekly_digest"].budget.cost_usd) == (5000, 0.25)
    assert str(s.timezone) == NY
    # A missing override file is fine: the defaults apply.
    assert load_schedule(NY, tmp_path / "absent.yaml").jobs["sync_emails"].when == "every 30m"


@pytest.mark.parametrize(
    ("jobs", "message"),
    [
        ({"sync_tiktok": {"every": "1h"}}, "jobs.sync_tiktok: unknown job"),
        ({"sync_emails": {"every": "soon"}}, "bad interval 'soon'"),
        ({"sync_emails": {"every": "30s"}}, "the shortest interval is 1m"),
        ({"sync_emails": {"every": "0m"}}, "bad interval '0m'"),
        ({"daily_briefing": {"cron": "0 25 * * *"}}, "bad cron expression '0 25 * * *'"),
        ({"daily_briefing": {"cron": "0 6 * *"}}, "need 5 fields"),
        ({"weekly_digest": {"cron": "0 20 * * 0"}}, "write weekdays by name"),
        ({"grocery_order": {"every": "6h", "at": "09:00"}}, "'at' needs an interval in whole days"),
        ({"grocery_order": {"every": "4d", "at": "9am"}}, "bad time '9am'"),
        ({"sync_emails": {"every": "1h", "when": "later"}}, "unknown field(s) when"),
        ({"sync_emails": {"every": "1h", "enabled": "yes"}}, "enabled: must be true or false"),
        ({"daily_briefing": {"budget": {"tokens": -1}}}, "budget.tokens must be a whole number"),
    ],
)
def test_invalid_schedules_are_refused_with_a_clear_reason(jobs: dict[str, dict[str, Any]], message: str) -> None:
    with pytest.raises(ScheduleError) as err:
        make_schedule(**jobs)
    assert message in str(err.value)


def test_both_every_and_cron_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "schedule.yaml"
    bad.write_text("jobs:\n  sync_emails: {cron: '*/5 * * * *'}\n")
    assert load_schedule("UTC", bad, SEED_JOBS).jobs["sync_emails"].when == "cron */5 * * * *"  # cron replaces every
    bad.write_text("jobs: [1, 2]\n")
    with pytest.raises(ScheduleError, match="jobs must be a mapping"):
        load_schedule("UTC", bad, SEED_JOBS)
    bad.write_text("jobs: {sync_emails: {every: 1h\n")
    with pytest.raises(ScheduleError, match="not valid YAML"):
        load_schedule("UTC", bad, SEED_JOBS)
    bad.write_text("timezone: Europe/Paris\n")
    with pytest.raises(ScheduleError, match="unknown field"):
        load_schedule("UTC", bad, SEED_JOBS)


def test_daily_0600_fires_once_a_day_at_the_right_instant_across_spring_forward() -> None:
    trigger = make_schedule().jobs["daily_briefing"].trigger
    fires = slots_between(trigger, utc(2026, 3, 6), utc(2026, 3, 11))
    # 06:00 EST is 11:00Z; from Sunday 8 March (clocks jump 02:00 -> 03:00) 06:00 EDT is 10:00Z.
    assert fires == [
        utc(2026, 3, 6, 11),
        utc(2026, 3, 7, 11),
        utc(2026, 3, 8, 10),
        utc(2026, 3, 9, 10),
        utc(2026, 3, 10, 10),
    ]
    assert {f.astimezone(NEW_YORK).hour for f in fires} == {6}


def test_daily_0600_across_fall_back() -> None:
    trigger = make_schedule().jobs["daily_briefing"].trigger
    fires = slots_between(trigger, utc(2026, 10, 30), utc(2026, 11, 3))
    assert fires == [utc(2026, 10, 30, 10), utc(2026, 10, 31, 10), utc(2026, 11, 1, 11), utc(2026, 11, 2, 11)]


def test_an_hourly_job_fires_in_both_copies_of_the_repeated_hour() -> None:
    trigger = make_schedule().jobs["health_sync"].trigger
    day_start, day_end = datetime(2026, 11, 1, tzinfo=NEW_YORK), datetime(2026, 11, 2, tzinfo=NEW_YORK)
    fires = [f for f in slots_between(trigger, day_start, day_end) if f < day_end]
    assert len(fires) == 25  # the day has 25 hours
    assert all(b - a == timedelta(hours=1) for a, b in pairwise(fires))  # UTC: real hours
    one_am = [f for f in fires if f.astimezone(NEW_YORK).hour == 1]
    assert [f.astimezone(UTC) for f in one_am] == [utc(2026, 11, 1, 5), utc(2026, 11, 1, 6)]
    spring = slots_between(trigger, utc(2026, 3, 8, 5), utc(2026, 3, 8, 9))
    assert [f.astimezone(NEW_YORK).hour for f in spring] == [0, 1, 3, 4, 5]  # 02:00 does not exist


def test_weekly_digest_is_sunday_2000_local_and_grocery_keeps_its_wall_clock() -> None:
    s = make_schedule()
    sundays = slots_between(s.jobs["weekly_digest"].trigger, utc(2026, 3, 1), utc(2026, 3, 16))
    assert sundays == [utc(2026, 3, 2, 1), utc(2026, 3, 9, 0), utc(2026, 3, 16, 0)]  # 20:00 EST, then EDT
    grocery = slots_between(s.jobs["grocery_order"].trigger, utc(2026, 3, 1), utc(2026, 3, 20))
    assert all(g.astimezone(NEW_YORK).hour == 9 for g in grocery)
    days = [(b.astimezone(NEW_YORK).date() - a.astimezone(NEW_YORK).date()).days for a, b in pairwise(grocery)]
    assert len(grocery) >= 4 and days == [4] * (len(grocery) - 1)
    # Across the spring change (8 March) the interval is 4 calendar days, not 96 hours.
    assert timedelta(hours=95) in {b - a for a, b in pairwise(grocery)}


def test_next_slot_walks_from_the_previous_one_even_into_the_past() -> None:
    trigger = make_schedule().jobs["sync_emails"].trigger
    now = utc(2026, 3, 2, 12, 7)
    assert next_slot(trigger, None, now) == utc(2026, 3, 2, 12, 30)
    assert next_slot(trigger, utc(2026, 3, 2, 9), now) == utc(2026, 3, 2, 9, 30)  # a missed slot
    assert next_slot(trigger, None, utc(2026, 3, 2, 12, 30)) == utc(2026, 3, 2, 12, 30)  # on the dot: due now


def test_the_same_schedule_in_another_zone_fires_at_other_instants() -> None:
    paris = make_schedule("Europe/Paris").jobs["daily_briefing"].trigger
    assert next_slot(paris, None, utc(2026, 3, 2, 12)) == utc(2026, 3, 3, 5)
    assert make_schedule("Europe/Paris").jobs["daily_briefing"].key != make_schedule().jobs["daily_briefing"].key


def test_the_timezone_setting_must_be_an_iana_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AEGIS_TIMEZONE", raising=False)
    assert Settings().timezone == "UTC"
    assert Settings(timezone=NY).timezone == NY
    for bad in ("Mars/Olympus_Mons", "America", "../../etc/passwd", "EST5EDT "):
        with pytest.raises(ValidationError, match="IANA time zone name"):
            Settings(timezone=bad)
