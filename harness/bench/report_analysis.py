"""The analysis behind `harness report`: from loaded benchmark results to the report's
tables (time, rows/s, speed-up vs the workload's baseline legacy variant), the scaling fits
with their projections, and the crossovers (the line arithmetic itself is in scaling.py).

Which figure stands for a variant's time at a size: the "total" measure (for Spark, the wall
time including its JVM and session start), else, for Spark, start-up + job. Figures whose
output did not verify are withheld. The fits use measured figures only; a variant with only
projected figures is fitted on those, and says so.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from harness.bench.report_model import INCUMBENT, Report, Row, SeriesFit, WorkloadReport
from harness.bench.results import MEASURES, SPARK, VECTORISED, Results, Sample
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

_HEADLINE_ORDER = ("spark-cluster", "spark-emr", "spark-local")  # the headline crossover first


def _orderer(samples: list[Sample], baseline: str | None):
    """Report order: the legacy variants (the baseline first, then as they came), the
    vectorised one, the Spark platforms, anything else."""
    first = {s.variant: i for i, s in reversed(list(enumerate(samples)))}
    legacy = {s.variant for s in samples if s.legacy}

    def key(variant: str) -> tuple[int, int, int]:
        if variant in legacy:
            return 0, variant != baseline, first[variant]
        if variant == VECTORISED:
            return 1, 0, 0
        if variant in SPARK:
            return 2, SPARK.index(variant), 0
        return 3, 0, first[variant]

    return key


def _labels(samples: list[Sample]) -> dict[Sample, str]:
    """A series label per sample: the variant, qualified by the release runtime it ran on
    where that is not the run's default (spark-local@emr-7.12.0), by the legacy database's
    latency profile when it is not the local one, and by backend when a variant ran on
    several."""
    backends: dict[tuple[str, str | None], set] = defaultdict(set)
    for s in samples:
        backends[(s.variant, s.runtime)].add(s.backend)
    labels = {}
    for s in samples:
        label = s.variant if s.runtime is None else f"{s.variant}@{s.runtime}"
        if s.legacy and s.profile and s.profile != "local":
            label += f" ({s.profile})"
        if len(backends[(s.variant, s.runtime)]) > 1 and s.backend:
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


def _baseline(series: str, variants: dict[str, str], legacy: set[str],
              baseline: str | None) -> str | None:
    """The baseline series a series' speed-up is against: for a legacy variant, the
    baseline's series under the same latency profile; otherwise the local one."""
    if baseline is None:
        return None
    base = [s for s, v in variants.items() if v == baseline]
    if not base:
        return None
    if variants[series] in legacy:
        suffix = series[len(variants[series]):]
        same = [s for s in base if s[len(baseline):] == suffix]
        if same:
            return same[0]
    return next((s for s in base if s == baseline), base[0])


def _phases(series: list[str], by_point: dict[tuple[str, int, str], list[Sample]],
            ) -> list[dict[str, Any]]:
    """Per series and size, the median of each phase over the runs that recorded it."""
    entries = []
    for label in series:
        for n in sorted({n for (lb, n, m) in by_point if lb == label and m == "total"}):
            runs = [dict(s.phases) for s in by_point[(label, n, "total")]
                    if s.phases and s.output_equal]
            if not runs:
                continue
            names = list(dict.fromkeys(k for r in runs for k in r))
            entries.append({"variant": label, "rows": n, "phases": {
                k: _median([r[k] for r in runs if k in r]) for k in names}})
    return entries


def _workload(name: str, samples: list[Sample], projection_rows: list[int],
              baseline: str | None = None) -> WorkloadReport:
    labels = _labels(samples)
    by_point: dict[tuple[str, int, str], list[Sample]] = defaultdict(list)
    variants: dict[str, str] = {}
    on: dict[str, str | None] = {}  # series: the release runtime it names, if any
    described: dict[str, list[str]] = defaultdict(list)  # series: the runtimes it recorded
    for s in samples:
        by_point[(labels[s], s.rows, s.measure)].append(s)
        variants[labels[s]] = s.variant
        on[labels[s]] = s.runtime
        if s.runtime_describe and s.runtime_describe not in described[labels[s]]:
            described[labels[s]].append(s.runtime_describe)
    order = _orderer(samples, baseline)
    legacy = {s.variant for s in samples if s.legacy}
    series = sorted(variants, key=lambda s: (order(variants[s]), s))

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
    baselines = {s: b for s in series
                 if (b := _baseline(s, variants, legacy, baseline)) is not None}
    index = {(r.series, r.rows): r for r in rows}
    for r in rows:
        base = index.get((baselines.get(r.series, ""), r.rows))
        if base and base.seconds and r.seconds:
            r.speedup = base.seconds / r.seconds
            r.speedup_projected = base.projected or r.projected
    report = WorkloadReport(name, series, variants, rows, fits, [], startup_job, baselines,
                            baseline, _phases(series, by_point),
                            {s: "; ".join(described[s]) for s in series if described[s]})
    report.crossovers = _crossovers(report, on)
    return report


def _crossovers(report: WorkloadReport, on: dict[str, str | None]) -> list[Crossover]:
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
    # the cluster against local[*] on the same runtime, each runtime's pair
    for cluster in (s for s in spark if report.variants[s] == "spark-cluster"):
        local = next((s for s in spark if report.variants[s] == "spark-local"
                      and on.get(s) == on.get(cluster)), None)
        a, b = report.fit_for(cluster), report.fit_for(local) if local else None
        if a and b and local:
            found.append(crossover(cluster, a.fit, local, b.fit))
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
    workloads = [_workload(w, [s for s in results.samples if s.workload == w], sizes,
                           results.baselines.get(w))
                 for w in results.workloads]
    return Report(workloads, results.runs, sizes, list(results.warnings))
