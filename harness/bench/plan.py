"""`harness plan --rows N`: from the Spark job's measured time on the local cluster, project
run time and cost at a target volume on candidate EMR clusters, next to the legacy job (the
workload's baseline legacy variant, as the bench JSON names it).

The model, stated so its limits are plain: job time = fixed + rows x per-row, fitted by
least squares over the measured sizes (Spark session start-up kept apart); the per-row
part scales with cores, one EMR vCPU doing the work of one local core; the cluster is
billed from provisioning (a typical 7 minutes on EMR, not measurable here) to the end.
With two or more sizes the fit's own error is reported; `--check` compares a projection
with a real measured run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.bench.results import BenchFile, read_bench
from harness.bench.scaling import fit_line
from harness.catalog import instance_type
from harness.cost.estimate import estimate
from harness.cost.pricing import hourly_price
from harness.errors import UsageError
from harness.plotting import pyplot

EMR_PROVISIONING_S = 420.0  # EMR's typical time from run_job_flow to RUNNING (assumed)


def _groups(master: str, core: str, n_core: int, task: str | None = None, n_task: int = 0,
            ) -> list[dict[str, Any]]:
    groups = [{"Name": "Master", "InstanceRole": "MASTER", "InstanceType": master,
               "InstanceCount": 1},
              {"Name": "Core", "InstanceRole": "CORE", "InstanceType": core,
               "InstanceCount": n_core}]
    if task and n_task:
        groups.append({"Name": "Task", "InstanceRole": "TASK", "InstanceType": task,
                       "InstanceCount": n_task, "Market": "SPOT"})
    return groups


CANDIDATES: dict[str, list[dict[str, Any]]] = {
    "small: 2 x m5.xlarge": _groups("m5.xlarge", "m5.xlarge", 2),
    "medium: 4 x m5.2xlarge": _groups("m5.xlarge", "m5.2xlarge", 4),
    "compute: 4 x c5.2xlarge + 4 spot": _groups("m5.xlarge", "c5.2xlarge", 4, "c5.2xlarge", 4),
    "large: 4 x m5.4xlarge + 8 spot": _groups("m5.xlarge", "m5.4xlarge", 4, "m5.4xlarge", 8),
}


@dataclass
class Point:
    rows: int
    job_s: float
    session_s: float
    cores: int


@dataclass
class Fit:
    fixed_s: float
    per_row_core_s: float  # seconds per row per core
    session_s: float
    points: list[Point]
    max_error: float | None  # largest relative residual of the fit, when it has one

    def job_seconds(self, rows: int, cores: int) -> float:
        return self.fixed_s + rows * self.per_row_core_s / cores


@dataclass(frozen=True)
class LegacyRate:
    """The legacy job's rate: the workload's baseline legacy variant and its rows/s."""

    variant: str
    rows_per_s: float


def _baseline_rate(bench: BenchFile) -> LegacyRate | None:
    result = bench.result(bench.baseline)
    if result is None or not result.rows_per_s:
        return None
    return LegacyRate(result.variant, result.rows_per_s)


def load_points(paths: list[Path]) -> tuple[list[Point], LegacyRate | None]:
    """Spark measurements (and the baseline legacy variant's rate, if any) from bench JSON
    files."""
    points, rate = [], None
    for path in paths:
        bench = read_bench(path)
        for result in bench.results:
            job_s = result.details.get("job_s")
            if result.variant == "spark" and result.output_equal and job_s and \
                    result.rows_in:
                points.append(Point(result.rows_in, job_s,
                                    result.details.get("session_start_s") or 0.0,
                                    int(result.details.get("cores") or 1)))
        rate = _baseline_rate(bench) or rate
    if not points:
        raise UsageError("no verified Spark measurement in the given files",
                         "run harness bench --cluster --variants spark --json FILE first")
    return points, rate


def legacy_rate(path: Path) -> LegacyRate | None:
    """The baseline legacy variant's rows/s in a bench JSON (projected or measured)."""
    return _baseline_rate(read_bench(path))


def fit(points: list[Point]) -> Fit:
    """Least squares of job_s = fixed + rows x per_row_core / cores."""
    line = fit_line((p.rows / p.cores, p.job_s) for p in points)
    session = sum(p.session_s for p in points) / len(points)
    return Fit(line.fixed_s, line.per_row_s, session, points, line.max_error)


@dataclass
class Projection:
    name: str
    cores: int
    job_s: float
    billed_s: float
    on_demand: float
    as_written: float


def project(rows: int, model: Fit, region: str = "us-east-1") -> list[Projection]:
    projections = []
    for name, groups in CANDIDATES.items():
        cores = sum(instance_type(g["InstanceType"]).vcpu * g["InstanceCount"]
                    for g in groups if g["InstanceRole"] != "MASTER")
        job = model.session_s + model.job_seconds(rows, cores)
        billed = EMR_PROVISIONING_S + job
        cost = estimate(groups, billed, region)
        projections.append(Projection(name, cores, job, billed, cost.on_demand_total,
                                      cost.spot_total))
    return projections


def legacy_projection(rows: int, rate: LegacyRate | None, region: str) -> dict | None:
    """The legacy job (its baseline variant) at the target size, on one m5.xlarge host (EC2
    only)."""
    if rate is None:
        return None
    seconds = rows / rate.rows_per_s
    price = hourly_price("m5.xlarge", region).ec2_on_demand
    return {"variant": rate.variant, "seconds": seconds, "host": "m5.xlarge",
            "cost": round(seconds / 3600 * price, 4)}


def plot(projections: list[Projection], legacy: dict | None, rows: int, path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    for p in projections:
        ax.scatter(p.job_s / 60, p.as_written, s=60)
        ax.annotate(p.name, (p.job_s / 60, p.as_written), textcoords="offset points",
                    xytext=(6, 4), fontsize=8)
    if legacy:
        ax.scatter(legacy["seconds"] / 60, legacy["cost"], marker="x", s=80, color="black")
        ax.annotate(f"legacy {legacy['variant']} (1 host)",
                    (legacy["seconds"] / 60, legacy["cost"]),
                    textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("projected job time (minutes, log scale)")
    ax.set_ylabel("projected cost per run (USD, incl. 7 min EMR provisioning)")
    ax.set_title(f"{rows:,} rows: time vs cost (projected, not measured)")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


@dataclass
class Plan:
    """`harness plan`'s answer: the fitted model, the candidates' projections, the legacy
    job's, the check against a real run (if asked), and all of it as a JSON record."""

    rows: int
    region: str
    model: Fit
    points: list[Point]
    projections: list[Projection]
    legacy: dict | None
    checked: dict | None
    data: dict[str, Any]


def make_plan(rows: int, from_json: list[Path], region: str = "us-east-1",
              check: Path | None = None, legacy_from: Path | None = None,
              plot_path: Path | None = None) -> Plan:
    """Fit the measured Spark runs, project them to `rows` on the candidate clusters (and
    the legacy job beside them), compare with a real run at `rows` when `check` names one,
    and draw the plot when `plot_path` is given."""
    points, rate = load_points(from_json)
    if legacy_from is not None:
        rate = legacy_rate(legacy_from) or rate
    model = fit(points)
    projections = project(rows, model, region)
    legacy = legacy_projection(rows, rate, region)
    checked = None
    if check is not None:
        real, _ = load_points([check])
        local = [r for r in real if r.rows == rows]
        if not local:
            raise UsageError(f"{check} has no Spark run at {rows:,} rows", "pass a run at --rows")
        predicted = model.session_s + model.job_seconds(rows, local[0].cores)
        actual = local[0].session_s + local[0].job_s
        checked = {"predicted_s": round(predicted, 2), "actual_s": round(actual, 2),
                   "error": round((predicted - actual) / actual, 4)}
    data = {"rows": rows, "region": region, "model": {
        "fixed_s": round(model.fixed_s, 3),
        "per_row_core_us": round(model.per_row_core_s * 1e6, 3),
        "session_start_s": round(model.session_s, 2), "fit_max_error": model.max_error,
        "measured": [p.__dict__ for p in points],
        "assumptions": "job = fixed + rows x per-row / cores; 1 EMR vCPU = 1 local core; "
                       f"{EMR_PROVISIONING_S:.0f} s EMR provisioning billed"},
        "candidates": [p.__dict__ for p in projections], "legacy": legacy, "check": checked}
    if plot_path is not None:
        plot(projections, legacy, rows, plot_path)
    return Plan(rows, region, model, points, projections, legacy, checked, data)
