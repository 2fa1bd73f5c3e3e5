"""`harness report`: from benchmark JSON, the tables (time, rows/s, speed-up vs per-row),
the scaling fits with their projections and crossovers, and an HTML page with PNG plots.

Which figure stands for a variant's time at a size: the "total" measure (for Spark, the wall
time including its JVM and session start), else, for Spark, start-up + job. Figures whose
output did not verify are withheld. The fits use measured figures only; a variant with only
projected figures is fitted on those, and says so.
"""

from __future__ import annotations

import html
import json
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.bench.results import (
    LEGACY,
    MEASURES,
    SPARK,
    VARIANTS,
    Results,
    RunInfo,
    Sample,
)
from harness.bench.scaling import (
    PROJECTION_ROWS,
    Crossover,
    LinearFit,
    Projection,
    crossover,
    fit_line,
    project,
)
from harness.errors import UsageError

INCUMBENT = "vectorised"
_HEADLINE_ORDER = ("spark-cluster", "spark-emr", "spark-local")  # the headline crossover first


@dataclass
class Row:
    """One line of a workload's table: a variant at a size."""

    series: str
    variant: str
    rows: int
    seconds: float | None  # None: output did not verify, no speed is given
    projected: bool
    basis: str  # how the figure was obtained
    output_equal: bool | None  # None: not run at this size (a projection from the fit)
    speedup: float | None = None
    speedup_projected: bool = False

    @property
    def rows_per_s(self) -> float | None:
        return self.rows / self.seconds if self.seconds else None

    def to_json(self) -> dict:
        return {"variant": self.series, "rows": self.rows, "seconds": self.seconds,
                "projected": self.projected, "basis": self.basis,
                "rows_per_s": self.rows_per_s, "speedup_vs_per_row": self.speedup,
                "speedup_projected": self.speedup_projected, "output_equal": self.output_equal}


@dataclass
class SeriesFit:
    """A variant's fitted line for one measure, and what it projects."""

    series: str
    variant: str
    measure: str  # total | job
    fit: LinearFit
    projections: list[Projection]
    startup_s: float | None = None  # Spark start-up, a fixed cost reported apart from the job
    from_projected: bool = False  # fitted on projected figures: nothing else was measured

    @property
    def flags(self) -> list[str]:
        flags = list(self.fit.flags)
        if self.from_projected:
            flags.append("fitted on projected figures (nothing measured)")
        return flags

    def to_json(self) -> dict:
        return {"variant": self.series, "measure": self.measure, **self.fit.to_json(),
                "startup_s": self.startup_s, "flags": self.flags,
                "projections": [p.to_json() for p in self.projections]}


@dataclass
class WorkloadReport:
    workload: str
    series: list[str]  # in report order
    variants: dict[str, str]  # series label: its variant
    rows: list[Row]
    fits: list[SeriesFit]
    crossovers: list[Crossover]
    startup_job: list[dict[str, Any]]  # series, rows, startup_s, job_s, startup_shared
    baselines: dict[str, str] = field(default_factory=dict)  # series: its per-row baseline

    def fit_for(self, series: str, measure: str = "total") -> SeriesFit | None:
        return next((f for f in self.fits if f.series == series and f.measure == measure),
                    None)

    def headline(self) -> str:
        """The crossover sentence the page leads with."""
        if self.crossovers:
            return self.crossovers[0].sentence()
        have = set(self.variants.values())
        if INCUMBENT not in have:
            return f"No crossover: no {INCUMBENT} figures to compare Spark with."
        return "No crossover: no Spark figures to compare with the vectorised reference."

    def to_json(self) -> dict:
        return {"workload": self.workload, "table": [r.to_json() for r in self.rows],
                "fits": [f.to_json() for f in self.fits],
                "crossovers": [c.to_json() for c in self.crossovers],
                "startup_vs_job": self.startup_job, "speedup_baselines": self.baselines,
                "headline": self.headline()}


@dataclass
class Report:
    workloads: list[WorkloadReport]
    runs: list[RunInfo]
    projection_rows: list[int]
    warnings: list[str] = field(default_factory=list)
    generated: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                 time.gmtime()))

    def machine_label(self) -> str:
        labels = list(dict.fromkeys(r.machine_label() for r in self.runs))
        return labels[0] if len(labels) == 1 else f"{len(labels)} machines"

    def to_json(self) -> dict:
        return {"generated": self.generated, "projection_rows": self.projection_rows,
                "machine": self.machine_label(), "warnings": self.warnings,
                "inputs": [{"source": r.source, "format": r.format, "datetime": r.datetime,
                            "commit": r.commit, "machine": r.machine} for r in self.runs],
                "workloads": {w.workload: w.to_json() for w in self.workloads}}


# -- building the tables --------------------------------------------------------------------

def _order(variant: str) -> int:
    return VARIANTS.index(variant) if variant in VARIANTS else len(VARIANTS)


def _labels(samples: list[Sample]) -> dict[Sample, str]:
    """A series label per sample: the variant, qualified by the legacy database's latency
    profile when it is not the local one, and by backend when a variant ran on several."""
    backends: dict[str, set] = defaultdict(set)
    for s in samples:
        backends[s.variant].add(s.backend)
    labels = {}
    for s in samples:
        label = s.variant
        if s.variant in LEGACY and s.profile and s.profile != "local":
            label += f" ({s.profile})"
        if len(backends[s.variant]) > 1 and s.backend:
            label += f" [{s.backend}]"
        labels[s] = label
    return labels


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _point(samples: list[Sample]) -> tuple[float, bool, int | None]:
    """Median seconds of one point, preferring measured figures over projected ones."""
    measured = [s for s in samples if not s.projected]
    chosen = measured or samples
    sample_rows = next((s.sample_rows for s in chosen if s.sample_rows), None)
    return _median([s.seconds for s in chosen]), not measured, sample_rows


def _fit(points: dict[int, tuple[float, bool]], projection_rows: list[int]
         ) -> tuple[LinearFit, list[Projection], bool] | None:
    measured = {n: s for n, (s, projected) in points.items() if not projected}
    use = measured or {n: s for n, (s, _) in points.items()}
    if not use:
        return None
    line = fit_line(use.items())
    projections = project(line, projection_rows, measured)
    # where the input already holds a projected figure (a legacy run projected from its
    # sample), show that one rather than a second, different projection for the same size
    given = {n: s for n, (s, projected) in points.items() if projected}
    projections = [Projection(p.rows, given[p.rows], True) if p.projected and p.rows in given
                   else p for p in projections]
    return line, projections, not measured


def _baseline(series: str, variants: dict[str, str]) -> str | None:
    """The per-row series a series' speed-up is against: same latency profile for legacy
    variants, otherwise the local per-row one."""
    per_row = [s for s, v in variants.items() if v == "per-row"]
    if not per_row:
        return None
    if variants[series] in LEGACY:
        suffix = series[len(variants[series]):]
        same = [s for s in per_row if s[len("per-row"):] == suffix]
        if same:
            return same[0]
    return next((s for s in per_row if s == "per-row"), per_row[0])


def _workload(name: str, samples: list[Sample], projection_rows: list[int]) -> WorkloadReport:
    labels = _labels(samples)
    by_point: dict[tuple[str, int, str], list[Sample]] = defaultdict(list)
    variants: dict[str, str] = {}
    for s in samples:
        by_point[(labels[s], s.rows, s.measure)].append(s)
        variants[labels[s]] = s.variant
    series = sorted(variants, key=lambda s: (_order(variants[s]), s))

    def startups(label: str) -> list[float]:
        return [s.seconds for (lb, _, m), ss in by_point.items() if lb == label
                and m == "startup" for s in ss if s.output_equal]

    def startup_for(label: str, rows: int) -> tuple[float | None, bool]:
        """Start-up at this size; else the median over all sizes (a cold start measured
        once, e.g. an EMR cluster's), marked shared."""
        here = by_point.get((label, rows, "startup"))
        if here:
            return _point(here)[0], any(s.startup_shared for s in here)
        every = startups(label)
        return (_median(every), True) if every else (None, False)

    rows: list[Row] = []
    fits: list[SeriesFit] = []
    startup_job: list[dict[str, Any]] = []
    for label in series:
        sizes = sorted({n for (lb, n, _) in by_point if lb == label})
        totals: dict[int, tuple[float, bool]] = {}
        jobs: dict[int, tuple[float, bool]] = {}
        for n in sizes:
            equal = all(s.output_equal for m in MEASURES for s in by_point.get((label, n, m), []))
            total, job = by_point.get((label, n, "total")), by_point.get((label, n, "job"))
            if job and equal:
                job_s, _, _ = _point(job)
                start_s, shared = startup_for(label, n)
                jobs[n] = (job_s, False)
                startup_job.append({"variant": label, "rows": n, "startup_s": start_s,
                                    "job_s": job_s, "startup_shared": shared})
            if total:
                seconds, projected, sample_rows = _point(total)
                basis = (f"projected from a {sample_rows:,}-row sample" if projected and
                         sample_rows else "projected" if projected else "measured")
            elif job and (start := startup_for(label, n)[0]) is not None:
                seconds, projected = _point(job)[0] + start, False
                basis = "start-up + job (measured)"
            else:
                continue
            if equal:
                totals[n] = (seconds, projected)
            rows.append(Row(label, variants[label], n, seconds if equal else None, projected,
                            basis, equal))
        fitted = _fit(totals, projection_rows)
        if fitted:
            line, projections, from_projected = fitted
            fits.append(SeriesFit(label, variants[label], "total", line, projections,
                                  None, from_projected))
            for p in projections:
                if p.projected and p.rows not in sizes:
                    rows.append(Row(label, variants[label], p.rows, p.seconds, True,
                                    "projected (fit)", None))
        fitted = _fit(jobs, projection_rows)
        if fitted:
            line, projections, from_projected = fitted
            start = startups(label)
            fits.append(SeriesFit(label, variants[label], "job", line, projections,
                                  _median(start) if start else None, from_projected))
    rows.sort(key=lambda r: (series.index(r.series), r.rows))
    baselines = {s: b for s in series if (b := _baseline(s, variants)) is not None}
    index = {(r.series, r.rows): r for r in rows}
    for r in rows:
        base = index.get((baselines.get(r.series, ""), r.rows))
        if base and base.seconds and r.seconds:
            r.speedup = base.seconds / r.seconds
            r.speedup_projected = base.projected or r.projected
    report = WorkloadReport(name, series, variants, rows, fits, [], startup_job, baselines)
    report.crossovers = _crossovers(report)
    return report


def _crossovers(report: WorkloadReport) -> list[Crossover]:
    found = []
    incumbents = [s for s in report.series if report.variants[s] == INCUMBENT]
    spark = sorted((s for s in report.series if report.variants[s] in SPARK),
                   key=lambda s: (_HEADLINE_ORDER.index(report.variants[s]), s))
    if incumbents:
        ref = report.fit_for(incumbents[0])
        for s in spark:
            total = report.fit_for(s)
            if ref and total:
                found.append(crossover(s, total.fit, incumbents[0], ref.fit))
        for s in spark:
            job = report.fit_for(s, "job")
            if ref and job:
                found.append(crossover(s, job.fit, incumbents[0], ref.fit,
                                       "job alone, start-up apart"))
    cluster = [s for s in spark if report.variants[s] == "spark-cluster"]
    local = [s for s in spark if report.variants[s] == "spark-local"]
    if cluster and local:
        a, b = report.fit_for(cluster[0]), report.fit_for(local[0])
        if a and b:
            found.append(crossover(cluster[0], a.fit, local[0], b.fit))
    # where Spark starts paying off against the legacy job it replaces
    for s in spark:
        legacy = report.baselines.get(s)
        total, ref = report.fit_for(s), report.fit_for(legacy) if legacy else None
        if total and ref and legacy:
            sampled = [f.series for f in (total, ref) if f.from_projected]
            found.append(crossover(s, total.fit, legacy, ref.fit, sampled=sampled))
    return found


def build(results: Results, projection_rows: list[int] | None = None) -> Report:
    """The report's tables, fits and crossovers for every workload in the results."""
    sizes = sorted({*PROJECTION_ROWS, *(projection_rows or [])})
    bad = [n for n in sizes if n < 1]
    if bad:
        raise UsageError(f"--project must be a positive number of rows, got {bad[0]}",
                         "pass e.g. --project 4000000")
    workloads = [_workload(w, [s for s in results.samples if s.workload == w], sizes)
                 for w in results.workloads]
    return Report(workloads, results.runs, sizes, list(results.warnings))


# -- writing --------------------------------------------------------------------------------

def write(report: Report, out: Path) -> list[Path]:
    """index.html, report.json and the PNGs under `out`; returns the paths written."""
    from harness.bench import plots

    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file", "pass a directory (it is created if missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the report directory {out}: {exc}",
                         "pass a writable --out directory") from None
    written = plots.write_all(report, out)
    (out / "report.json").write_text(json.dumps(report.to_json(), indent=2) + "\n")
    (out / "index.html").write_text(render_html(report, [p.name for p in written]))
    return [*written, out / "report.json", out / "index.html"]


def _secs(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 3600:
        return f"{value:,.0f} ({value / 3600:,.1f} h)"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:#.3g}" if value < 1 else f"{value:,.2f}"


def _num(value: float | None, fmt: str = ",.0f") -> str:
    return "—" if value is None else format(value, fmt)


def _mark(text: str, projected: bool) -> str:
    return f'{text} <span class="proj">projected</span>' if projected else text


def _table(head: list[str], body: list[list[str]], cls: str = "") -> str:
    ths = "".join(f"<th>{h}</th>" for h in head)
    trs = "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in body)
    return f'<table class="{cls}"><thead><tr>{ths}</tr></thead><tbody>\n{trs}\n</tbody></table>'


def _workload_html(w: WorkloadReport, projection_rows: list[int]) -> str:
    e = html.escape
    body = []
    for r in w.rows:
        verified = ("—" if r.output_equal is None else "equal" if r.output_equal
                    else '<span class="bad">DIFFERS (time withheld)</span>')
        projected = r.projected and r.seconds is not None
        body.append([e(r.series), f"{r.rows:,}", _mark(_secs(r.seconds), projected),
                     _mark(_num(r.rows_per_s), projected),
                     _mark(_num(r.speedup, ",.1f") + ("×" if r.speedup else ""),
                           r.speedup_projected and r.speedup is not None),
                     e(r.basis), verified])
    times = _table(["variant", "rows", "seconds (median)", "rows/s",
                    "speed-up vs per-row", "figure", "output verified"], body, "num")
    times += ("<p>Speed-up is against per-row at the same size; a legacy variant run under a "
              "modelled database latency is compared with per-row under the same one. "
              "Rows marked <em>projected (fit)</em> come from the scaling fit below.</p>")
    fit_rows = []
    for f in w.fits:
        at = {p.rows: p for p in f.projections}
        cells = [_mark(_secs(at[n].seconds), at[n].projected) if n in at else "—"
                 for n in projection_rows]
        err = f.fit.max_error
        fit_rows.append([e(f.series), "total" if f.measure == "total" else "job (start-up apart)",
                         ", ".join(f"{n:,.0f}" for n in f.fit.sizes), f"{f.fit.fixed_s:,.2f}",
                         f"{f.fit.per_row_s * 1e6:,.2f}", _secs(f.startup_s),
                         "—" if err is None else f"{err:.1%}", *cells,
                         e("; ".join(f.flags)) or ""])
    fits = _table(["variant", "measure", "sizes fitted (rows)", "fixed s", "per-row µs",
                   "start-up s", "largest residual",
                   *(f"at {n:,} rows" for n in projection_rows), "notes"], fit_rows, "num")
    cross = "".join(f"<li>{e(c.sentence())}</li>" for c in w.crossovers) or \
        f"<li>{e(w.headline())}</li>"
    return (f'<section><h2>{e(w.workload)}</h2>\n'
            f'<p class="headline">{e(w.headline())}</p>\n'
            f"<h3>Time, throughput and speed-up</h3>\n{times}\n"
            f"<h3>Scaling: seconds = fixed + per-row × rows</h3>\n"
            f"<p>Least squares over the measured sizes; projections from the fitted line are "
            f"marked <span class=\"proj\">projected</span>. Spark's job fit keeps its start-up "
            f"apart as a fixed cost.</p>\n{fits}\n"
            f"<h3>Crossovers</h3>\n<ul>{cross}</ul>\n</section>")


def _machine_html(report: Report) -> str:
    e = html.escape
    body = []
    for r in report.runs:
        m, c = r.machine, r.commit
        commit = (c.get("id") or "—")[:12] + (f" ({c['branch']})" if c.get("branch") else "") \
            + (" dirty" if c.get("dirty") else "")
        body.append([e(Path(r.source).name), e(r.format), e(str(r.datetime or "—")),
                     e(commit), e(str(m.get("cores") or "—")),
                     e(str(m.get("memory_gib") or "—")), e(str(m.get("cpu") or "—")),
                     e(str(m.get("python") or "—")), e(str(m.get("java") or "—")),
                     e(str(m.get("spark") or "—")), e(str(m.get("pyspark") or "—"))])
    return _table(["input", "format", "date", "commit", "cores", "memory GiB", "CPU", "Python",
                   "Java", "Spark", "pyspark"], body)


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 80em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f3f3f3; }
table.num td:not(:first-child) { text-align: right; }
.proj { font-size: 0.75em; color: #9a5b00; background: #fff3dd; padding: 0 0.3em;
        border-radius: 3px; }
.bad { color: #b00020; font-weight: bold; }
.headline { font-size: 1.1em; font-weight: 600; }
.warn { color: #9a5b00; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
"""


def render_html(report: Report, images: list[str]) -> str:
    """The self-contained page (inline style; the PNGs beside it, referenced relatively)."""
    e = html.escape
    warnings = "".join(f'<p class="warn">warning: {e(w)}</p>' for w in report.warnings)
    sections = "\n".join(_workload_html(w, report.projection_rows) for w in report.workloads)
    figures = "\n".join(f'<figure><img src="{e(name)}" alt="{e(name)}"></figure>'
                        for name in images)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Benchmark report: {e(", ".join(w.workload for w in report.workloads))}</title>
<style>{_CSS}</style></head><body>
<h1>Benchmark report: {e(", ".join(w.workload for w in report.workloads))}</h1>
<p>Machine: {e(report.machine_label())}. Generated {e(report.generated)}. Figures are medians;
those marked <span class="proj">projected</span> were not measured at that size.</p>
{warnings}
<h2>Runs and machine</h2>
{_machine_html(report)}
{sections}
<h2>Plots</h2>
{figures}
</body></html>
"""
