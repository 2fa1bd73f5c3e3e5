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
    output_equal, output_digest         equal to the reference in this run; fingerprint
                                        the gate compares with the baseline's
    startup_s, job_s (Spark)            the run's start-up (local[*]: the driver's JVM and
                                        session) and the job's own time from its metrics line

One measurement is one benchmark. Spark runs once per size and platform
(`test_spark[PLATFORM-ROWS]`, "total" the spark-submit or step wall time on an already
running platform, start-up and job in its extra_info); the cluster's cold start and
run_job_flow until WAITING happen once per session and are one benchmark each
(`test_spark_startup[spark-cluster]`, `[spark-emr]`), which runs before the sizes use them.
The run's reference benchmark is `test_reference_computation`, named in the JSON's
`suite.reference` (benchmarks/conftest.py).
"""

from __future__ import annotations

import gzip
import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from harness.bench.machine import machine_info
from harness.bench.runner import BenchOptions, BenchRun, VariantResult
from harness.config import get_profile

from .conftest import dataset, suite_workload
from .reference import PairedReference, reference_computation

JOB_FLOW_GROUPS = "small"


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
            profile=profile.name, round_trips=results[-1].round_trips)


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
    """Runs each (platform, size) once, on platforms started the first time they are
    needed: the plugin's cluster and endpoint, stopped at the end of the session (the
    endpoint's control plane terminates the job flow with it)."""

    def __init__(self, request: pytest.FixtureRequest, work_dir: Path) -> None:
        self.request = request
        self.work_dir = work_dir
        self.runs: dict[tuple[str, int], dict[str, Any]] = {}
        self.job_flow: tuple[str, float] | None = None
        self.started: dict[str, dict[str, Any]] = {}  # platform: its start-up figures

    def prepare(self, platform: str) -> None:
        """What a platform's start-up needs first and is not part of it: the endpoint and
        its buckets for a job flow."""
        if platform == "spark-emr":
            from harness.aws.s3 import ensure_bucket

            endpoint = self.request.getfixturevalue("harness_endpoint")
            s3 = endpoint.client("s3")
            for bucket in ("bench-raw", "bench-code", "bench-logs", "bench-curated"):
                ensure_bucket(s3, bucket, endpoint.region)

    def start(self, platform: str) -> dict[str, Any]:
        """Start the platform once (local[*] has nothing to start); its start-up figures."""
        if platform not in self.started:
            self.prepare(platform)
            if platform == "spark-cluster":
                cluster = self.request.getfixturevalue("harness_cluster")
                self.started[platform] = {"startup_s": cluster.startup_s,
                                          "backend": cluster.backend}
            elif platform == "spark-emr":
                emr = self.request.getfixturevalue("harness_endpoint").client("emr")
                self.job_flow = self._start_job_flow(emr)
                self.started[platform] = {"startup_s": self.job_flow[1], "backend": "emr-api",
                                          "job_flow": self.job_flow[0]}
            else:
                self.started[platform] = {"backend": "local[*]"}
        return self.started[platform]

    def get(self, platform: str, workload, rows: int) -> dict[str, Any]:  # noqa: ANN001
        key = (platform, rows)
        if key not in self.runs:
            self.start(platform)
            fixture = dataset(workload, rows)
            method = {"spark-local": self._local, "spark-cluster": self._cluster,
                      "spark-emr": self._emr}[platform]
            self.runs[key] = method(workload, fixture)
        return self.runs[key]

    def _bench(self, workload, fixture, name: str, **options: Any) -> dict[str, Any]:  # noqa: ANN001
        opts = BenchOptions(variants=["spark"], profile=get_profile("local"),
                            work_dir=self.work_dir / f"{name}-{fixture.rows}", **options)
        (result,) = BenchRun(workload, fixture, opts, machine=dict).run().results
        job = result.details.get("job_s")
        return {"result": result, "total": result.measured_seconds, "job": job,
                "driver_start": result.measured_seconds - (job or 0.0)}

    def _local(self, workload, fixture) -> dict[str, Any]:  # noqa: ANN001
        run = self._bench(workload, fixture, "local")
        return {**run, "startup": run["driver_start"], "backend": "local[*]"}

    def _cluster(self, workload, fixture) -> dict[str, Any]:  # noqa: ANN001
        cluster = self.request.getfixturevalue("harness_cluster")
        cores = sum(n.spec.cores for n in cluster.workers)
        run = self._bench(workload, fixture, "cluster", spark_master=cluster.master_url,
                          spark_conf=cluster.spark_conf(), spark_cores=cores)
        # the cluster starts once for every size (test_spark_startup); its submits' totals
        # leave that start out
        return {**run, "backend": cluster.backend, "cores": cores}

    def _start_job_flow(self, emr) -> tuple[str, float]:  # noqa: ANN001
        from harness.cluster import PRESETS

        started = time.perf_counter()
        cluster_id = emr.run_job_flow(
            Name="bench-suite", ReleaseLabel="emr-7.12.0", LogUri="s3://bench-logs/",
            Instances={"InstanceGroups": PRESETS[JOB_FLOW_GROUPS],
                       "KeepJobFlowAliveWhenNoSteps": True},
            JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole")["JobFlowId"]
        emr.get_waiter("cluster_running").wait(
            ClusterId=cluster_id, WaiterConfig={"Delay": 1, "MaxAttempts": 300})
        return cluster_id, time.perf_counter() - started

    def _emr(self, workload, fixture) -> dict[str, Any]:  # noqa: ANN001
        from harness.aws.s3 import S3Uri, download_prefix, upload_dir
        from harness.spark import parse_metrics

        endpoint = self.request.getfixturevalue("harness_endpoint")
        s3, emr = endpoint.client("s3"), endpoint.client("emr")
        assert self.job_flow is not None  # start() ran first
        cluster_id, _ = self.job_flow
        prefix = f"{workload.name}/{fixture.rows}"
        upload_dir(s3, fixture.path, S3Uri("bench-raw", prefix))
        s3.upload_file(str(workload.spark_job), "bench-code", f"{workload.name}/job.py")
        started = time.perf_counter()
        (step,) = emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=[{
            "Name": f"{workload.name}-{fixture.rows}", "ActionOnFailure": "CONTINUE",
            "HadoopJarStep": {"Jar": "command-runner.jar", "Args": [
                "spark-submit", f"s3://bench-code/{workload.name}/job.py",
                f"s3://bench-raw/{prefix}", f"s3://bench-curated/{prefix}"]}}])["StepIds"]
        while (state := emr.describe_step(ClusterId=cluster_id, StepId=step)["Step"]
               ["Status"]) ["State"] not in {"COMPLETED", "FAILED", "CANCELLED", "INTERRUPTED"}:
            time.sleep(0.5)
        wall = time.perf_counter() - started
        assert state["State"] == "COMPLETED", f"EMR step {step}: {state}"
        log = s3.get_object(Bucket="bench-logs",
                            Key=f"{cluster_id}/steps/{step}/stdout.gz")["Body"].read()
        job = parse_metrics(gzip.decompress(log).decode()).get("job_s")
        local = self.work_dir / f"emr-out-{fixture.rows}"
        download_prefix(s3, S3Uri("bench-curated", prefix), local)
        import pyarrow.parquet as pq

        outputs = {o: pq.read_table(local / o).to_pandas() for o in workload.output_names}
        opts = BenchOptions(variants=["spark"], profile=get_profile("local"),
                            work_dir=self.work_dir / f"emr-{fixture.rows}")
        result = BenchRun(workload, fixture, opts, machine=dict).verify(
            "spark", outputs, wall, {"job_s": job, "cluster_id": cluster_id, "step": step})
        return {"result": result, "total": wall, "job": job, "backend": "emr-api",
                "job_flow": cluster_id}


@pytest.fixture(scope="session")
def spark_platforms(request: pytest.FixtureRequest, bench_work_dir: Path) -> SparkPlatforms:
    return SparkPlatforms(request, bench_work_dir / "spark")


def test_spark_startup(benchmark, pytestconfig, spark_platforms, machine,
                       spark_startup_platform):
    """A platform's start-up, measured once for every size: the EMR-shaped cluster's cold
    start (until every worker is ALIVE) or run_job_flow until WAITING. It must be the
    platform's first use in the session (the suite's order sees to that)."""
    platform = spark_startup_platform
    benchmark.extra_info["workload"] = suite_workload(pytestconfig).name
    assert platform not in spark_platforms.started, (
        f"{platform} was started before its start-up benchmark: run "
        "test_spark_startup before test_spark (as the suite orders them)")
    paired = PairedReference()

    def setup() -> None:
        spark_platforms.prepare(platform)  # the endpoint is not part of the job flow's start
        paired.setup()

    started = benchmark.pedantic(spark_platforms.start, args=(platform,), setup=setup,
                                 rounds=1, iterations=1)
    _record(benchmark, machine, platform, 0, "startup", started["startup_s"], None, paired,
            output_equal=True, startup_shared=True,
            **{k: started[k] for k in ("backend", "job_flow") if k in started})


def test_spark(benchmark, pytestconfig, spark_platforms, machine, spark_platform, bench_rows):
    """One Spark run per platform and size on a running platform (its start-up is
    test_spark_startup's; local[*]'s driver start is in startup_s), its job time apart."""
    workload = suite_workload(pytestconfig)
    benchmark.extra_info["workload"] = workload.name
    paired = PairedReference()

    def setup() -> None:
        spark_platforms.start(spark_platform)  # not timed: a start-up is its own benchmark
        paired.setup()

    run = benchmark.pedantic(spark_platforms.get, args=(spark_platform, workload, bench_rows),
                             setup=setup, rounds=1, iterations=1)
    extra = {k: run[k] for k in ("backend", "cores", "job_flow") if k in run}
    if "startup" in run:  # local[*]: the driver's JVM and session, part of each submit
        # the whole submit less the job: none without the job's metrics line
        extra["startup_s"] = None if run["job"] is None else round(run["startup"], 6)
    _record(benchmark, machine, spark_platform, bench_rows, "total", run["total"],
            run["result"], paired, job_s=run["job"], **extra)
