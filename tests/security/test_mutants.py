"""Negative controls (INJECTION.md §6.8): every deliberately weakened gateway must make a case fail."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from agent.adversarial.casetypes import Case
from agent.adversarial.report import build_report
from agent.adversarial.suite import Detection, detect_mutant
from agent.adversarial.variants import MUTANTS
from tests.security.conftest import ARTIFACTS

# Rules whose removal is masked by a second layer, so only the case's expected gate changes.
DEFENCE_IN_DEPTH = {"without R4 (egress allow-list)": "guarded_fetch re-checks the allow-list before connecting"}


# The case and approver that caught each mutant on the last full search (test-artifacts mutants.md):
# tried first, so a mutant caught late in the corpus does not replay every case before it. A stale
# or missing entry only costs time: the whole search still runs.
CAUGHT_BY = {
    "without R3 (secrets in args)": ("E03", "approve-all"),
    "without R6 (budgets)": ("S05", "approve-all"),
    "without R7 (financial params)": ("C05", "approve-all"),
    "egress allow-all": ("W02", "approve-all"),
    "fetch outside the guard after the first URL": ("W03", "approve-all"),
    "grants not bound to args": ("X02", "approve-all"),
    "cards hide provenance": ("C01", "approve-clean"),
}


@pytest.fixture(scope="module")
def detections() -> Iterator[dict[str, Detection]]:
    found: dict[str, Detection] = {}
    yield found
    if found:
        md = build_report([], [found[k] for k in MUTANTS if k in found]).markdown
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "mutants.md").write_text(md[md.index("## Mutation tests") :], encoding="utf-8")


@pytest.mark.parametrize("name", list(MUTANTS))
def test_the_suite_catches_the_mutant(
    name: str, corpus: list[Case], registry_data: dict[str, Any], detections: dict[str, Detection]
) -> None:
    detection = asyncio.run(detect_mutant(MUTANTS[name], corpus, registry_data, first=CAUGHT_BY.get(name)))
    detections[name] = detection
    assert detection.killed, f"mutant {name!r} survived the whole corpus"
    if name not in DEFENCE_IN_DEPTH:  # a real security outcome failed, not only the expected gate
        assert detection.how == "outcome", detection.reasons


def test_a_stale_hint_only_costs_time(corpus: list[Case], registry_data: dict[str, Any]) -> None:
    mutant = MUTANTS["R0 allows every tool"]
    hint = ("E03", "approve-all")  # a case that does not catch this mutant: the whole search still runs
    detection = asyncio.run(detect_mutant(mutant, corpus, registry_data, first=hint))
    assert detection.killed and detection.how == "outcome" and detection.case_id != "E03", detection
