"""A mailbox's ``mail_analysis``: the model reads through a READ tool and writes back through an ADMIN
one after one of the integration's own jobs; the mail sync then uses the model when it may."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from agent.jobs.schedule import installed_jobs
from integrations import Catalog, Manifest
from integrations.catalog import _tuples, manifest_path


def _gmail(**change: Any) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(manifest_path("gmail").read_text(encoding="utf-8"))
    raw["mail_analysis"] = {**raw["mail_analysis"], **change}
    return raw


def test_the_mailboxes_declare_it_and_their_sync_may_use_the_model() -> None:
    catalog = Catalog.load()
    assert [name for name, _ in catalog.mail_analysers("sync_emails")] == ["gmail", "outlook"]
    assert catalog.mail_analysers("sync_calendar") == []
    jobs = installed_jobs(catalog)
    assert jobs["sync_emails"].model == "optional" and jobs["sync_calendar"].model == "none"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"record": "gmail.send"}, "ADMIN"),  # a model-callable write
        ({"pending": "gmail.disconnect"}, "READ"),
        ({"after": "sync_calendar"}, "after names a job"),
        ({"record": "outlook.record_analysis"}, "does not declare"),
    ],
)
def test_a_wrong_declaration_is_refused(change: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Manifest.model_validate(_tuples(_gmail(**change)))
