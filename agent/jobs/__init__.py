"""Recurring work (issue 7): the owner's schedule on APScheduler 3, the run history, retries and
alerts, the cost guard, and the morning briefing / weekly digest.

Persistence, chosen deliberately (option *b*): the schedule is configuration the owner edits
(``schedule.yaml``), so APScheduler keeps its jobs in memory and they are rebuilt from that file at
every start. What must survive a restart lives in our own tables, written through our async database
layer: each job's next slot and paused flag (``job_state``) and every run (``job_runs``, unique per
``(job_id, scheduled_for)``). A slot is claimed in the same transaction that moves ``next_run_at``
past it, so a restart neither loses a slot (an unclaimed past slot is due at once, under the misfire
grace) nor runs one twice (a claimed slot is never claimed again; a run cut short is retried on its
own row). APScheduler's ``SQLAlchemyJobStore`` was not used: it is synchronous (a second, sync
driver for PostgreSQL) and pickles callables into the database, which we will not load back.

Wiring at the composition root::

    schedule = load_schedule(settings.timezone, settings.data_dir / "schedule.yaml")
    engine = JobEngine(schedule, RunStore(db), default_handlers(...), integrations=..., activity=...,
                       notifier=..., cost=CostGuard(DatabaseLedger(db)))
    scheduler = JobScheduler(engine); await scheduler.start(); ...; await scheduler.stop()
"""

from agent.jobs.briefing import BriefingDoc, BriefingSources, BriefingStore, DigestSources, Section
from agent.jobs.engine import CostGuard, Handler, JobBusy, JobContext, JobEngine, RetryPolicy
from agent.jobs.handlers import default_handlers
from agent.jobs.history import RunPage, RunStore, RunView
from agent.jobs.ports import (
    FixedActivity,
    IntegrationCheck,
    IntegrationStatus,
    JobError,
    JobSkipped,
    MemoryNotifier,
    Notification,
    NotificationFeed,
    Notifier,
    OwnerActivity,
    StaticIntegrations,
    SyncRunner,
    TokenSource,
)
from agent.jobs.schedule import Schedule, ScheduleError, load_schedule
from agent.jobs.scheduler import JobScheduler
from agent.jobs.tokens import Grant, JobTokens, minting_parent

__all__ = [
    "BriefingDoc",
    "BriefingSources",
    "BriefingStore",
    "CostGuard",
    "DigestSources",
    "FixedActivity",
    "Grant",
    "Handler",
    "IntegrationCheck",
    "IntegrationStatus",
    "JobBusy",
    "JobContext",
    "JobEngine",
    "JobError",
    "JobScheduler",
    "JobSkipped",
    "JobTokens",
    "MemoryNotifier",
    "Notification",
    "NotificationFeed",
    "Notifier",
    "OwnerActivity",
    "RetryPolicy",
    "RunPage",
    "RunStore",
    "RunView",
    "Schedule",
    "ScheduleError",
    "Section",
    "StaticIntegrations",
    "SyncRunner",
    "TokenSource",
    "default_handlers",
    "load_schedule",
    "minting_parent",
]
