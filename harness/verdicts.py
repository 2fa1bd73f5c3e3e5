"""The regression gate's last verdict on disk: `harness gate` keeps it under the work
directory and the console's benchmarks page shows it (a small module: reading it must not
import the benchmark machinery)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LAST_VERDICT = Path("gate") / "last.json"


def record_verdict(work_dir: Path, report: Any, outcome: str) -> Path:
    """Keep what the gate decided (passed, failed or ambiguous) about a GateReport, and why."""
    path = work_dir / LAST_VERDICT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "outcome": outcome, "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "baseline": report.baseline, "current": report.current,
        "normalise": report.normalise, "summary": report.summary(),
        "problems": list(report.problems), "warnings": list(report.warnings),
        "verdicts": [v.line() for v in report.verdicts]}, indent=1))
    return path


def last_verdict(work_dir: Path) -> dict[str, Any] | None:
    """The verdict record_verdict kept; None when the gate has not run here."""
    try:
        return json.loads((work_dir / LAST_VERDICT).read_text())
    except (OSError, ValueError):
        return None
