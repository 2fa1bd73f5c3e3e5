"""The benchmark suite: every variant of a workload at several sizes, each proving its
output equal to the reference before its time counts.

    .venv/bin/python -m pytest benchmarks/test_suite.py --benchmark-json .harness/suite.json
    tox -e bench          # the suite, then the gate against benchmarks/baselines/, then
                          # harness report (HTML + PNG)

Every benchmark's `extra_info` carries the figure the gate and the report use (the gate
judges `seconds` and nothing else; pytest-benchmark's own stats time the real call too, but
include set-up and verification):

    workload, variant, rows, measure    what was timed ("total", or "startup" for a
                                        platform's start-up measured once for all sizes)
    seconds                             the variant's own time: the median over rounds of
                                        its measured (or projected) seconds, excluding
                                        database loading and verification
    paired_reference_s                  a short fixed computation timed right before each
                                        round (benchmarks/reference.py), median over rounds
    projected, sample_rows              legacy row-at-a-time variants beyond --bench-sample
    legacy, baseline (legacy variants)  a legacy variant, and the workload's baseline (the
                                        legacy variant speed-ups are against)
    output_equal, output_digest         equal to the reference in this run; fingerprint
                                        the gate compares with the baseline's
    startup_s, job_s (Spark)            the run's start-up (local[*]: the driver's JVM and
                                        session) and the job's own time from its metrics line
    runtime, bench_runtime (Spark)      what the platform ran on (label, Spark, Scala,
                                        Python, ANSI; harness.targets.runtime_description),
                                        and the --bench-runtimes entry: "default" or a label
    phases (Spark)                      {phase: seconds}, where the total went (driver
                                        start, session, read, executors, compute, commit,
                                        write, stop; an EMR step's bookkeeping around them),
                                        see harness.phases

One measurement is one benchmark. Spark runs once per size, platform and runtime
(`test_spark[PLATFORM-ROWS]`, `test_spark[PLATFORM@LABEL-ROWS]` on a release runtime of
--bench-runtimes; "total" the spark-submit or step wall time on an already running
platform, start-up and job in its extra_info); each runtime's cluster cold start and
run_job_flow until WAITING happen once per session and are one benchmark each
(`test_spark_startup[spark-cluster]`, `[spark-emr]`, `[spark-cluster@LABEL]`), which runs
before the sizes use them.
The run's reference benchmark is `test_reference_computation`, named in the JSON's
`suite.reference` (benchmarks/conftest.py).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pytest

from harness.bench.machine import machine_info
from harness.bench.runner import BenchOptions, BenchRun, VariantResult
from harness.config import get_profile

from .conftest import DEFAULT_RUNTIME, SparkCase, dataset, suite_workload
from .reference import PairedReference, reference_computation


@pytest.fixture(scope="session")
def machine() -> dict[str, Any]:
    return machine_info()


def _record(benchmark, machine: dict, variant: str, rows: int, measure: str,
            seconds: float | None, result: VariantResult | None, paired: PairedReference,
            **extra: Any) -> None:
    benchmark.extra_info.update(
        workload=benchmark.extra_info.get("workload"), variant=variant, rows=rows,
        measure=measure, seconds=None if seconds is None else round(seconds, 6),
        paired_reference_s=paired.seconds, machine=machine, **extra)
    if result is not None:
        benchmark.extra_info.update(
            projected=result.projected, sample_rows=result.measured_rows,
            output_equal=result.output_equal, output_digest=result.output_digest)
        assert result.output_equal, f"{variant} at {rows:,} rows: {result.mismatch}"


def _rounds(rows: int) -> int:
    """Three rounds where a round takes seconds, one where it takes minutes."""
    return 3 if rows <= 10_000 else 1


def test_reference_computation(benchmark):
    """The fixed computation the gate may normalise by (see benchmarks/reference.py),
    counted by its minimum over rounds: its cost without interference."""
    benchmark(reference_computation)
    benchmark.extra_info.update(variant="reference", measure="total", rows=0,
                                seconds=benchmark.stats.stats.min, output_equal=True)


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
    paired = PairedReference()

    def run() -> None:
        results.extend(BenchRun(workload, fixture, options, machine=dict).run().results)

    # a row-at-a-time job's sample is minutes long: one round (the gate re-runs if unsure)
    benchmark.pedantic(run, setup=paired.setup,
                       rounds=1 if row_at_a_time else _rounds(bench_rows), iterations=1)
    seconds = [r.seconds for r in results if r.seconds is not None]
    _record(benchmark, machine, legacy_variant, bench_rows, "total",
            statistics.median(seconds) if len(seconds) == len(results) else None,
            next((r for r in results if not r.output_equal), results[-1]), paired,
            profile=profile.name, round_trips=results[-1].round_trips,
            legacy=True, baseline=workload.baseline_variant)


def test_vectorised(benchmark, pytestconfig, bench_work_dir, machine, bench_rows):
    """The single-node vectorised job: read the files, compute, write Parquet."""
    workload = suite_workload(pytestconfig)
    benchmark.extra_info["workload"] = workload.name
    options = BenchOptions(variants=["vectorised"], profile=get_profile("local"),
                           work_dir=bench_work_dir / f"vectorised-{bench_rows}")
    run = BenchRun(workload, dataset(workload, bench_rows), options, machine=dict)
    results: list[VariantResult] = []
    paired = PairedReference()
    benchmark.pedantic(lambda: results.extend(run.run().results), setup=paired.setup,
                       rounds=_rounds(bench_rows) + 2, iterations=1)
    _record(benchmark, machine, "vectorised", bench_rows, "total",
            statistics.median(r.measured_seconds for r in results),
            next((r for r in results if not r.output_equal), results[-1]), paired)


# -- Spark: local[*], the EMR-shaped cluster, a step on a job flow ---------------------------


class SparkPlatforms:
    """Each platform on each runtime (a SparkCase) is a target of the harness plugin
    (harness.targets): spark-local runs on local[*], spark-cluster on the plugin's cluster
    (another runtime's: one of the same topology for it), spark-emr as a step on one job flow
    (of that runtime's ReleaseLabel) through the plugin's endpoint. Started once, the first
    time they are needed, stopped at the end of the session; each (case, size) runs once."""

    TARGETS = {"spark-local": "local", "spark-cluster": "cluster", "spark-emr": "emr-step"}

    def __init__(self, request: pytest.FixtureRequest, work_dir: Path) -> None:
        self.request = request
        self.work_dir = work_dir
        self.runs: dict[tuple[SparkCase, int], dict[str, Any]] = {}
        self.started: dict[SparkCase, dict[str, Any]] = {}  # case: its start-up figures

    def target(self, case: SparkCase):  # noqa: ANN201 (a harness.targets.Target)
        return self.request.getfixturevalue("harness_target")(self.TARGETS[case.platform],
                                                              runtime=case.runtime)

    def prepare(self, case: SparkCase) -> None:
        """What a platform's start-up needs first and is not part of it: the endpoint and
        its buckets for a job flow."""
        if case.platform == "spark-emr":
            self.target(case).prepare()

    def start(self, case: SparkCase) -> dict[str, Any]:
        """Start the platform once (local[*] has nothing to start); its start-up figures."""
        if case not in self.started:
            self.prepare(case)
            target = self.target(case)
            runtime = {"runtime": target.describe_runtime(),
                       "bench_runtime": case.runtime or DEFAULT_RUNTIME}
            if case.platform == "spark-cluster":
                cluster = target.running()
                self.started[case] = {"startup_s": cluster.startup_s,
                                      "backend": cluster.backend, **runtime}
            elif case.platform == "spark-emr":
                job_flow = target.job_flow()
                self.started[case] = {"startup_s": target.ready_s, "backend": "emr-api",
                                      "job_flow": job_flow, **runtime}
            else:
                self.started[case] = {"backend": "local[*]", **runtime}
        return self.started[case]

    def get(self, case: SparkCase, workload, rows: int) -> dict[str, Any]:  # noqa: ANN001
        key = (case, rows)
        if key not in self.runs:
            self.start(case)
            self.runs[key] = self._run(case, workload, dataset(workload, rows))
        return self.runs[key]

    def _run(self, case: SparkCase, workload, fixture) -> dict[str, Any]:  # noqa: ANN001
        from harness.bench.runner import EMR_STEP, SPARK
        from harness.targets import cluster_cores

        target = self.target(case)
        variant = EMR_STEP if case.platform == "spark-emr" else SPARK
        opts = BenchOptions(variants=[variant], profile=get_profile("local"),
                            work_dir=self.work_dir / f"{case.id}-{fixture.rows}",
                            targets={variant: target})
        (result,) = BenchRun(workload, fixture, opts, machine=dict).run().results
        job = result.details.get("job_s")
        run = {"result": result, "total": result.measured_seconds, "job": job,
               **{k: v for k, v in self.started[case].items() if k != "startup_s"}}
        if result.details.get("runtime"):  # what the run itself reported
            run["runtime"] = result.details["runtime"]
        if case.platform == "spark-local":  # the driver's JVM and session, part of each submit
            run["startup"] = result.measured_seconds - (job or 0.0)
        elif case.platform == "spark-cluster":
            # the cluster starts once for every size (test_spark_startup); its submits'
            # totals leave that start out
            run["cores"] = cluster_cores(target.running())
        return run


@pytest.fixture(scope="session")
def spark_platforms(request: pytest.FixtureRequest, bench_work_dir: Path) -> SparkPlatforms:
    return SparkPlatforms(request, bench_work_dir / "spark")


RECORDED = ("backend", "cores", "job_flow", "runtime", "bench_runtime")


def test_spark_startup(benchmark, pytestconfig, spark_platforms, machine,
                       spark_startup_platform):
    """A platform's start-up on one runtime, measured once for every size: the EMR-shaped
    cluster's cold start (until every worker is ALIVE) or run_job_flow until WAITING. It
    must be the platform's first use in the session (the suite's order sees to that)."""
    case = spark_startup_platform
    benchmark.extra_info["workload"] = suite_workload(pytestconfig).name
    assert case not in spark_platforms.started, (
        f"{case} was started before its start-up benchmark: run "
        "test_spark_startup before test_spark (as the suite orders them)")
    paired = PairedReference()

    def setup() -> None:
        spark_platforms.prepare(case)  # the endpoint is not part of the job flow's start
        paired.setup()

    started = benchmark.pedantic(spark_platforms.start, args=(case,), setup=setup,
                                 rounds=1, iterations=1)
    _record(benchmark, machine, case.platform, 0, "startup", started["startup_s"], None,
            paired, output_equal=True, startup_shared=True,
            **{k: started[k] for k in RECORDED if k in started})


def test_spark(benchmark, pytestconfig, spark_platforms, machine, spark_platform, bench_rows):
    """One Spark run per platform, runtime and size on a running platform (its start-up is
    test_spark_startup's; local[*]'s driver start is in startup_s), its job time apart."""
    case = spark_platform
    workload = suite_workload(pytestconfig)
    benchmark.extra_info["workload"] = workload.name
    paired = PairedReference()

    def setup() -> None:
        spark_platforms.start(case)  # not timed: a start-up is its own benchmark
        paired.setup()

    run = benchmark.pedantic(spark_platforms.get, args=(case, workload, bench_rows),
                             setup=setup, rounds=1, iterations=1)
    extra = {k: run[k] for k in RECORDED if k in run}
    if "startup" in run:  # local[*]: the driver's JVM and session, part of each submit
        # the whole submit less the job: none without the job's metrics line
        extra["startup_s"] = None if run["job"] is None else round(run["startup"], 6)
    phases = run["result"].details.get("phases")
    if phases:  # where the total went (harness.phases)
        extra["phases"] = phases
    _record(benchmark, machine, case.platform, bench_rows, "total", run["total"],
            run["result"], paired, job_s=run["job"], **extra)
