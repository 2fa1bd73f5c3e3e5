"""The benchmark suite: every variant of a workload at several sizes, each proving its
output equal to the reference before its time counts.

    .venv/bin/python -m pytest benchmarks/test_suite.py --benchmark-json .harness/suite.json
    tox -e bench          # the suite, then the gate against benchmarks/baselines/, then
                          # harness report (HTML + PNG)

Every benchmark's `extra_info` carries the figure the gate and the report use:

    workload, variant, rows, measure    what was timed ("total", "startup" or "job")
    seconds                             the variant's own time: the median over rounds of
                                        its measured (or projected) seconds, excluding
                                        database loading and verification, which
                                        pytest-benchmark's own stats include
    projected, sample_rows              legacy row-at-a-time variants beyond --bench-sample
    output_equal, output_digest         equal to the reference in this run; fingerprint
                                        the gate compares with the baseline's

Spark is timed once per size and platform (a JVM start is the point of the exercise) and
split into start-up and job: spark-local's start-up is the driver's JVM and session,
spark-cluster's the cluster's cold start, spark-emr's run_job_flow until WAITING; "job"
is the job's own time from its metrics line, "total" the spark-submit (or step) wall time
on an already running platform.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pytest

from harness.bench.machine import machine_info
from harness.bench.runner import BenchOptions, BenchRun, VariantResult
from harness.config import get_profile

from .conftest import dataset, suite_workload
from .reference import reference_computation


@pytest.fixture(scope="session")
def machine() -> dict[str, Any]:
    return machine_info()


def _record(benchmark, machine: dict, variant: str, rows: int, measure: str,
            seconds: float | None, result: VariantResult, **extra: Any) -> None:
    benchmark.extra_info.update(
        workload=benchmark.extra_info.get("workload"), variant=variant, rows=rows,
        measure=measure, seconds=None if seconds is None else round(seconds, 6),
        projected=result.projected, sample_rows=result.measured_rows,
        output_equal=result.output_equal, output_digest=result.output_digest,
        machine=machine, **extra)
    assert result.output_equal, f"{variant} at {rows:,} rows: {result.mismatch}"


def _rounds(rows: int) -> int:
    """Three rounds where a round takes seconds, one where it takes minutes."""
    return 3 if rows <= 10_000 else 1


def test_reference_computation(benchmark):
    """The fixed computation the gate normalises by (see benchmarks/reference.py)."""
    benchmark(reference_computation)
    benchmark.extra_info.update(variant="reference", measure="total", rows=0,
                                seconds=benchmark.stats.stats.median, output_equal=True)


def test_legacy(benchmark, pytestconfig, bench_work_dir, machine, legacy_variant, bench_rows):
    workload = suite_workload(pytestconfig)
    benchmark.extra_info["workload"] = workload.name
    fixture = dataset(workload, bench_rows)
    profile = get_profile(pytestconfig.getoption("--bench-profile"))
    cap = pytestconfig.getoption("--bench-sample")
    row_at_a_time = workload.legacy[legacy_variant].row_at_a_time
    sample = cap if row_at_a_time and 0 < cap < bench_rows else 0
    options = BenchOptions(variants=[legacy_variant], profile=profile, sample=sample,
                           work_dir=bench_work_dir / f"{legacy_variant}-{bench_rows}")
    results: list[VariantResult] = []

    def run() -> None:
        results.extend(BenchRun(workload, fixture, options, machine=dict).run().results)

    # a row-at-a-time job's sample is minutes long: one round (the gate re-runs if unsure)
    benchmark.pedantic(run, rounds=1 if row_at_a_time else _rounds(bench_rows), iterations=1)
    seconds = [r.seconds for r in results if r.seconds is not None]
    _record(benchmark, machine, legacy_variant, bench_rows, "total",
            statistics.median(seconds) if len(seconds) == len(results) else None,
            next((r for r in results if not r.output_equal), results[-1]),
            profile=profile.name, round_trips=results[-1].round_trips)


def test_vectorised(benchmark, pytestconfig, bench_work_dir, machine, bench_rows):
    """The single-node vectorised job: read the files, compute, write Parquet."""
    workload = suite_workload(pytestconfig)
    benchmark.extra_info["workload"] = workload.name
    options = BenchOptions(variants=["vectorised"], profile=get_profile("local"),
                           work_dir=bench_work_dir / f"vectorised-{bench_rows}")
    run = BenchRun(workload, dataset(workload, bench_rows), options, machine=dict)
    results: list[VariantResult] = []
    benchmark.pedantic(lambda: results.extend(run.run().results),
                       rounds=_rounds(bench_rows) + 2, iterations=1)
    _record(benchmark, machine, "vectorised", bench_rows, "total",
            statistics.median(r.measured_seconds for r in results),
            next((r for r in results if not r.output_equal), results[-1]))


# -- Spark: local[*], the EMR-shaped cluster, a step on a job flow ---------------------------


class SparkPlatforms:
    """Runs each (platform, size) once on the harness plugin's targets (harness.targets):
    spark-local on local[*], spark-cluster on the plugin's cluster, spark-emr as a step on
    one job flow through the plugin's endpoint; each started the first time it is needed
    and stopped at the end of the session."""

    TARGETS = {"spark-local": "local", "spark-cluster": "cluster", "spark-emr": "emr-step"}

    def __init__(self, request: pytest.FixtureRequest, work_dir: Path) -> None:
        self.request = request
        self.work_dir = work_dir
        self.runs: dict[tuple[str, int], dict[str, Any]] = {}

    def get(self, platform: str, workload, rows: int) -> dict[str, Any]:  # noqa: ANN001
        key = (platform, rows)
        if key not in self.runs:
            self.runs[key] = self._run(platform, workload, dataset(workload, rows))
        return self.runs[key]

    def _run(self, platform: str, workload, fixture) -> dict[str, Any]:  # noqa: ANN001
        from harness.bench.runner import EMR_STEP, SPARK
        from harness.targets import cluster_cores

        target = self.request.getfixturevalue("harness_target")(self.TARGETS[platform])
        variant = EMR_STEP if platform == "spark-emr" else SPARK
        opts = BenchOptions(variants=[variant], profile=get_profile("local"),
                            work_dir=self.work_dir / f"{platform}-{fixture.rows}",
                            targets={variant: target})
        (result,) = BenchRun(workload, fixture, opts, machine=dict).run().results
        job = result.details.get("job_s")
        run = {"result": result, "total": result.measured_seconds, "job": job}
        if platform == "spark-local":  # the driver's JVM and session
            return {**run, "startup": result.measured_seconds - (job or 0.0),
                    "backend": "local[*]"}
        if platform == "spark-cluster":
            # the cluster starts once for every size; its submits' totals leave that start out
            cluster = target.running()
            return {**run, "startup": cluster.startup_s, "backend": cluster.backend,
                    "cores": cluster_cores(cluster), "startup_shared": True}
        return {**run, "startup": target.ready_s, "backend": "emr-api",
                "job_flow": result.details.get("cluster_id"), "startup_shared": True}


@pytest.fixture(scope="session")
def spark_platforms(request: pytest.FixtureRequest, bench_work_dir: Path) -> SparkPlatforms:
    return SparkPlatforms(request, bench_work_dir / "spark")


@pytest.mark.parametrize("measure", ["total", "startup", "job"])
def test_spark(benchmark, pytestconfig, spark_platforms, machine, spark_platform, bench_rows,
               measure):
    """One Spark run per platform and size (the first of its three tests runs it under the
    timer); start-up and job reported apart."""
    workload = suite_workload(pytestconfig)
    benchmark.extra_info["workload"] = workload.name
    run = benchmark.pedantic(spark_platforms.get, args=(spark_platform, workload, bench_rows),
                             rounds=1, iterations=1)
    extra = {k: run[k] for k in ("backend", "cores", "job_flow", "startup_shared") if k in run}
    _record(benchmark, machine, spark_platform, bench_rows, measure, run[measure],
            run["result"], **extra)
