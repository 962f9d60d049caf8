"""``python -m agent.adversarial <cases-dir> [--out DIR] [--mutants]``: run the adversarial suite
over any directory of case files, print the figures and write report.json / report.md."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from agent.adversarial.cases import CaseError, load_dir
from agent.adversarial.report import build_report
from agent.adversarial.suite import Detection, detect_mutant, load_registry_data, run_suite, violations
from agent.adversarial.variants import MUTANTS


async def _main(args: argparse.Namespace) -> int:
    try:
        cases = load_dir(Path(args.cases_dir))
    except CaseError as exc:
        print(exc, file=sys.stderr)  # noqa: T201 - CLI output
        return 2
    registry = load_registry_data()
    runs = await run_suite(cases, registry)
    mutants: list[Detection] = []
    if args.mutants:
        mutants = [await detect_mutant(m, cases, registry) for m in MUTANTS.values()]
    report = build_report(runs, mutants)
    report.write(Path(args.out))
    print(report.markdown)  # noqa: T201 - CLI output
    bad = [(r.case_id, r.approver, v) for r in runs if r.config != "undefended" for v in violations(r)]
    for case_id, approver, v in bad:
        print(f"FAIL {case_id} [{approver}]: {v}", file=sys.stderr)  # noqa: T201
    return 1 if bad or any(not d.killed for d in mutants) else 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m agent.adversarial", description=__doc__)
    parser.add_argument("cases_dir", help="a directory of case YAML files (searched recursively)")
    parser.add_argument("--out", default="test-artifacts/adversarial", help="where to write report.json/report.md")
    parser.add_argument("--mutants", action="store_true", help="also run the mutation tests")
    sys.exit(asyncio.run(_main(parser.parse_args())))


if __name__ == "__main__":
    main()
