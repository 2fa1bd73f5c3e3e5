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
from .reference import reference_computation

JOB_FLOW_GROUPS = "small"


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
    """Runs each (platform, size) once, on platforms started the first time they are
    needed: the plugin's cluster and endpoint, stopped at the end of the session (the
    endpoint's control plane terminates the job flow with it)."""

    def __init__(self, request: pytest.FixtureRequest, work_dir: Path) -> None:
        self.request = request
        self.work_dir = work_dir
        self.runs: dict[tuple[str, int], dict[str, Any]] = {}
        self.job_flow: tuple[str, float] | None = None

    def get(self, platform: str, workload, rows: int) -> dict[str, Any]:  # noqa: ANN001
        key = (platform, rows)
        if key not in self.runs:
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
        # the cluster starts once for every size; its submits' totals leave that start out
        return {**run, "startup": cluster.startup_s, "backend": cluster.backend,
                "cores": cores, "startup_shared": True}

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
        from harness.aws.s3 import S3Uri, download_prefix, ensure_bucket, upload_dir
        from harness.spark import parse_metrics

        endpoint = self.request.getfixturevalue("harness_endpoint")
        s3, emr = endpoint.client("s3"), endpoint.client("emr")
        for bucket in ("bench-raw", "bench-code", "bench-logs", "bench-curated"):
            ensure_bucket(s3, bucket, endpoint.region)
        if self.job_flow is None:
            self.job_flow = self._start_job_flow(emr)
        cluster_id, ready_s = self.job_flow
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
        return {"result": result, "total": wall, "job": job, "startup": ready_s,
                "backend": "emr-api", "job_flow": cluster_id, "startup_shared": True}


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
