"""The seed schedule's integration jobs, for tests of the job engine whatever is installed."""

from __future__ import annotations

from agent.jobs.schedule import IntegrationJob

# The owner's whole seed schedule, as if every integration it names were installed: the engine is
# tested on it, whatever this version installs (one integration name per job, as a stand-in).
SEED_JOBS: dict[str, IntegrationJob] = {
    "sync_finances": IntegrationJob(("finance",), {"every": "6h"}),
    "sync_emails": IntegrationJob(("mail",), {"every": "30m"}),
    "sync_calendar": IntegrationJob(("calendar",), {"every": "15m"}),
    "sync_social": IntegrationJob(("social",), {"every": "2h"}),
    "run_crawlers": IntegrationJob(("crawlers",), {"every": "4h"}),
    "generate_content": IntegrationJob(
        ("content",),
        {"cron": "0 7 * * *", "misfire_grace": "1h", "budget": {"tokens": 20000, "cost_usd": 0.10}},
        "required",
    ),
    "grocery_order": IntegrationJob(("grocery",), {"every": "4d", "at": "09:00", "misfire_grace": "12h"}),
    "health_sync": IntegrationJob(("health",), {"every": "1h"}),
}
