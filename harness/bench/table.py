"""The terminal table of `harness bench` (not `harness report`, which is report_*.py), its
JSON file and a rich progress sink."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from harness.bench.runner import IS_REFERENCE, BenchReport, VariantResult


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _runtime(report: BenchReport) -> str:
    """'emr-7.12.0: Spark 3.5.6 / Scala 2.12 / Python 3.9 / ANSI off' (or the harness's own)."""
    rt = report.runtime or {}
    if not rt:
        return f"Spark {report.machine.get('spark')}"
    return f"{rt.get('label')}: {rt.get('describe')}"


def render_table(report: BenchReport) -> Table:
    prof = report.profile
    latency = (f"DB round trip {prof['db_rtt_ms']} ms per statement, MODELLED"
               if prof["modelled"] else "no modelled DB latency")
    m = report.machine
    table = Table(
        title=f"{report.workload}: {report.fixture['rows']:,} rows "
              f"(seed {report.fixture['seed']}), profile {prof['name']} ({latency})",
        caption=f"{m.get('cores')} cores, {m.get('memory_gib')} GiB, Python {m.get('python')}, "
                f"Java {m.get('java')}; Spark variants on {_runtime(report)}; "
                f"{_judge(report)}. "
                "Projected figures are extrapolated from the measured sample.",
    )
    for col, justify in (("variant", "left"), ("rows", "right"), ("wall s", "right"),
                         ("rows/s", "right"), (f"vs {report.baseline or 'baseline'}", "right"),
                         ("figure", "left"), ("output", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in report.results:
        figure = (f"projected from {r.measured_rows:,} rows in {r.measured_seconds:.1f} s"
                  if r.projected else "measured")
        if r.modelled_latency:
            figure += ", modelled latency"
        table.add_row(
            r.variant,
            f"{r.rows_full:,}",
            _num(r.seconds, 2),
            _num(r.rows_per_s, 0),
            "—" if r.speedup_vs_baseline is None else f"{r.speedup_vs_baseline:,.1f}x",
            figure,
            _verdict(r),
        )
    return table


def _judge(report: BenchReport) -> str:
    """Who judged the outputs, in the caption."""
    if report.reference_independent:
        return (f"outputs judged by {report.reference} (independent: "
                f"{report.reference_description}); sampled runs by it on the same sample")
    return (f"reference: {report.reference}, one of the variants (the workload gives no "
            "independent reference, so its output is unchecked)")


def _verdict(result: VariantResult) -> str:
    if not result.output_equal:
        return f"DIFFERS: {result.mismatch}"
    return "reference" if result.verdict == IS_REFERENCE else "equal"


def write_json(report: BenchReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_json(), indent=2, default=str) + "\n")


class RichProgress:
    """A progress bar per variant on stderr (silent when stderr is not a terminal)."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description:<12}"), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=False,
        )
        self._task = None

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def begin(self, variant: str, total: int | None) -> None:
        self._task = self._progress.add_task(variant, total=total)

    def advance(self, n: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, n)

    def end(self, variant: str) -> None:
        if self._task is not None:
            task = self._progress.tasks[self._task]
            if task.total is None:
                self._progress.update(self._task, total=1, completed=1)
            else:
                self._progress.update(self._task, completed=task.total)
        self._task = None
