"""The real repository's CI workflow: valid, and scanning everything the deployment runs with trivy.
(trivy itself is not run here: it is neither in Debian bookworm nor on PyPI.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def _workflow() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return doc


def test_the_workflow_is_valid_for_github_actions() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def _trivy_steps() -> list[dict[str, Any]]:
    return [
        step
        for job in _workflow()["jobs"].values()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("aquasecurity/trivy-action@")
    ]


def test_trivy_is_pinned_by_commit_and_fails_the_build_on_findings() -> None:
    steps = _trivy_steps()
    assert steps
    for step in steps:
        assert re.fullmatch(r"aquasecurity/trivy-action@[0-9a-f]{40}", step["uses"])
        assert step["with"].get("exit-code") == "1"
    kinds = {s["with"].get("scan-type", "image") for s in steps}
    assert kinds == {"fs", "config", "image"}


def test_every_image_the_deployment_runs_is_scanned() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yml").read_text(encoding="utf-8"))
    pinned = {s["image"] for s in compose["services"].values() if "build" not in s}
    assert set(_workflow()["jobs"]["scan-images"]["strategy"]["matrix"]["image"]) == pinned
    image_refs = {s["with"].get("image-ref") for s in _trivy_steps()}
    assert "aegis:ci" in image_refs  # the app image, built from deploy/Dockerfile


def test_the_test_job_runs_the_local_ci_script() -> None:
    steps = _workflow()["jobs"]["test"]["steps"]
    assert any("bash .ci/run" in str(s.get("run", "")) for s in steps)
