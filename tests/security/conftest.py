"""The adversarial suite runs once per session; its tests assert on the shared results."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from agent.adversarial.cases import load_dir
from agent.adversarial.casetypes import Case
from agent.adversarial.evaluate import RunResult
from agent.adversarial.report import Report, build_report
from agent.adversarial.suite import load_registry_data, run_suite

HERE = Path(__file__).parent
CASES = HERE / "cases"
ARTIFACTS = HERE.parents[1] / "test-artifacts" / "adversarial"


@pytest.fixture(scope="session")
def registry_data() -> dict[str, Any]:
    return load_registry_data()


@pytest.fixture(scope="session")
def corpus() -> list[Case]:
    return load_dir(CASES / "injection") + load_dir(CASES / "benign")


@pytest.fixture(scope="session")
def runs(corpus: list[Case], registry_data: dict[str, Any]) -> list[RunResult]:
    return asyncio.run(run_suite(corpus, registry_data))


@pytest.fixture(scope="session")
def report(runs: list[RunResult]) -> Report:
    return build_report(runs)
