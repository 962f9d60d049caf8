"""The console's browser assets (Chart.js) come from npm, exactly as ``package-lock.json`` pins them.

On a fresh clone ``aegis up`` (and the test suite) install them once with ``npm ci`` when npm is
there; without npm the console still works, and charts show as their tables.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = ROOT / "node_modules" / "chart.js" / "dist"


def ensure_node_assets(root: Path = ROOT) -> str | None:
    """Install the pinned browser assets if they are missing; returns a sentence for the owner, or None."""
    if (root / "node_modules" / "chart.js" / "dist").is_dir() or not (root / "package-lock.json").is_file():
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "charts need the console's browser assets: install Node.js with npm, then run 'npm ci' here"
    done = subprocess.run(  # noqa: S603 - npm from PATH, fixed arguments, our own lock file
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        return "installing the console's browser assets ('npm ci') failed: charts show as tables"
    return "installed the console's browser assets (npm ci)"
