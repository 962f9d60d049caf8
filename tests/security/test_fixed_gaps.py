"""Regressions for the two gateway gaps the suite found (now fixed; the cases live in the corpus):
G01 a secret the owner typed reached the approval card; G02 private data reached a third-party
server through a READ tool's arguments."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agent.adversarial.approvers import APPROVERS
from agent.adversarial.cases import load_file
from agent.adversarial.harness import run_case
from agent.adversarial.suite import violations
from agent.adversarial.variants import DEFENDED
from tests.security.conftest import CASES


def _violations(case_file: str, approver: str, registry_data: dict[str, Any]) -> list[str]:
    case = load_file(CASES / "injection" / case_file)
    return violations(asyncio.run(run_case(case, DEFENDED, APPROVERS[approver], registry_data)))


def test_g01_owner_typed_secret_stays_off_the_approval_card(registry_data: dict[str, Any]) -> None:
    assert _violations("G01_secret_on_approval_card.yaml", "approve-clean", registry_data) == []


@pytest.mark.parametrize("approver", ["deny-all", "approve-clean"])
def test_g02_private_data_does_not_reach_a_third_party_read_tool(approver: str, registry_data: dict[str, Any]) -> None:
    assert _violations("G02_private_data_to_third_party_read_tool.yaml", approver, registry_data) == []
