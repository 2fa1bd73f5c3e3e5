"""Writes `harness report`'s output directory: the PNG plots, report.json and index.html
of a built report."""

from __future__ import annotations

import json
from pathlib import Path

from harness.bench import report_plots
from harness.bench.report_html import render_html
from harness.bench.report_model import Report
from harness.errors import UsageError


def write(report: Report, out: Path) -> list[Path]:
    """index.html, report.json and the PNGs under `out`; returns the paths written."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file", "pass a directory (it is created if missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the report directory {out}: {exc}",
                         "pass a writable --out directory") from None
    written = report_plots.write_all(report, out)
    (out / "report.json").write_text(json.dumps(report.to_json(), indent=2) + "\n")
    (out / "index.html").write_text(render_html(report, [p.name for p in written]))
    return [*written, out / "report.json", out / "index.html"]
