"""The data model of `harness report`: per workload, the table rows (a variant at a size),
the fitted lines with their projections, the crossovers and the start-up/job split; and the
report over every workload with the runs it came from. Built by report_analysis, drawn by
report_html and report_plots; `to_json()` is report.json."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from harness.bench.results import RunInfo
from harness.bench.scaling import Crossover, LinearFit, Projection

# the variant Spark has to overtake, the single-node pandas job: the crossovers are against
# it (the judge of outputs is the workload's reference, never a variant)
INCUMBENT = "vectorised"


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
                "rows_per_s": self.rows_per_s, "speedup_vs_baseline": self.speedup,
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
    """One workload's part of the report."""

    workload: str
    series: list[str]  # in report order
    variants: dict[str, str]  # series label: its variant
    rows: list[Row]
    fits: list[SeriesFit]
    crossovers: list[Crossover]
    # per Spark series and size: variant (the series label), rows, startup_s, job_s,
    # startup_shared (one cold start measured for every size, e.g. an EMR cluster's)
    startup_job: list[dict[str, Any]]
    baselines: dict[str, str] = field(default_factory=dict)  # series: its baseline series
    baseline: str | None = None  # the legacy variant speed-ups are against, where known
    # per Spark series and size where its runs recorded them: variant (the series label),
    # rows, phases ({name: median seconds}, in run order)
    phases: list[dict[str, Any]] = field(default_factory=list)
    # per Spark series, the runtime its runs recorded ("emr-7.12.0: Spark 3.5.6 / ..."): a
    # series on a release other than the run's default is labelled PLATFORM@LABEL
    runtimes: dict[str, str] = field(default_factory=dict)

    def fit_for(self, series: str, measure: str = "total") -> SeriesFit | None:
        """The series' fitted line for the measure (total or job), if it has one."""
        return next((f for f in self.fits if f.series == series and f.measure == measure),
                    None)

    def headline(self) -> str:
        """The crossover sentence the page leads with."""
        if self.crossovers:
            return self.crossovers[0].sentence()
        have = set(self.variants.values())
        if INCUMBENT not in have:
            return f"No crossover: no {INCUMBENT} figures to compare Spark with."
        return f"No crossover: no Spark figures to compare with the {INCUMBENT} incumbent."

    def to_json(self) -> dict:
        return {"workload": self.workload, "table": [r.to_json() for r in self.rows],
                "fits": [f.to_json() for f in self.fits],
                "crossovers": [c.to_json() for c in self.crossovers],
                "startup_vs_job": self.startup_job, "phases": self.phases,
                "spark_runtimes": self.runtimes,
                "baseline": self.baseline,
                "speedup_baselines": self.baselines,
                "headline": self.headline()}


@dataclass
class Report:
    """The whole report: every workload, the runs it was built from, the sizes projected to."""

    workloads: list[WorkloadReport]
    runs: list[RunInfo]
    projection_rows: list[int]
    warnings: list[str] = field(default_factory=list)
    generated: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                 time.gmtime()))

    def machine_label(self) -> str:
        """The machine the runs were on, or how many machines when they differ."""
        labels = list(dict.fromkeys(r.machine_label() for r in self.runs))
        return labels[0] if len(labels) == 1 else f"{len(labels)} machines"

    def to_json(self) -> dict:
        return {"generated": self.generated, "projection_rows": self.projection_rows,
                "machine": self.machine_label(), "warnings": self.warnings,
                "inputs": [{"source": r.source, "format": r.format, "datetime": r.datetime,
                            "commit": r.commit, "machine": r.machine} for r in self.runs],
                "workloads": {w.workload: w.to_json() for w in self.workloads}}
