"""Platform benchmarks: S3A against local files, the EMR-shaped cluster against local[*],
and a job flow through the EMR API. Each checks its output before its time is kept.

    .venv/bin/python -m pytest benchmarks/test_platform.py -s \\
        --benchmark-json .harness/benchmarks-platform.json
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from harness.aws import EmbeddedEndpoint
from harness.aws.s3 import S3Uri, download_prefix, ensure_bucket, upload_dir
from harness.aws.s3a import resolve_jars, spark_conf
from harness.bench.equivalence import compare_outputs
from harness.cluster import PRESETS, build_topology, running
from harness.config import Settings
from harness.spark import spark_submit
from harness.workloads import get_workload

from .conftest import cascade_fixture

CASCADE = get_workload("cascade")


def _equal(outputs_dir: Path, reference) -> None:
    outputs = {n: pd.read_parquet(outputs_dir / n) for n in CASCADE.output_names}
    comparison = compare_outputs(CASCADE.outputs, reference, outputs, 1e-9)
    assert comparison.equal, comparison.summary()


def _rss_mb(pids: list[int]) -> float:
    """Resident memory of the processes and all their descendants, in MB."""
    total, seen, todo = 0, set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            todo += [int(c) for c in children]
        except OSError:
            continue
    return total / 1024


def test_spark_local_files_vs_s3(benchmark, tmp_path):
    fixture = cascade_fixture(400_000)
    reference = CASCADE.vectorised(fixture.read_tables())
    jars = resolve_jars(Settings().jar_cache).jars
    with EmbeddedEndpoint(port=0, work_dir=tmp_path) as endpoint:
        s3 = endpoint.client("s3")
        for bucket in ("raw", "curated"):
            ensure_bucket(s3, bucket, endpoint.region)
        upload_dir(s3, fixture.path, S3Uri("raw", "400k"))
        times = {}
        for storage in ("local", "s3", "local", "s3"):
            if storage == "local":
                args, conf, env = [fixture.uri(), (tmp_path / "out").as_uri()], {}, None
            else:
                args = ["s3://raw/400k", "s3://curated/out"]
                conf, env = spark_conf(endpoint, jars), endpoint.child_env({})
            result = spark_submit(CASCADE.spark_job, args, master="local[*]", conf=conf,
                                  env=env)
            assert result.returncode == 0, result.error_excerpt()
            times.setdefault(storage, []).append((result.seconds, result.metrics["job_s"]))
        download_prefix(s3, S3Uri("curated", "out"), tmp_path / "s3out")
        _equal(tmp_path / "s3out", reference)
        _equal(tmp_path / "out", reference)
    benchmark.extra_info.update({f"{k}_wall_s": [round(w, 2) for w, _ in v]
                                 for k, v in times.items()})
    benchmark.extra_info.update({f"{k}_job_s": [j for _, j in v] for k, v in times.items()})
    print("\n", benchmark.extra_info)
    benchmark.pedantic(lambda: None, rounds=1)


def test_cluster_cold_start_job_and_memory(benchmark, tmp_path):
    fixture = cascade_fixture(400_000)
    reference = CASCADE.vectorised(fixture.read_tables())
    local = spark_submit(CASCADE.spark_job, [fixture.uri(), (tmp_path / "local").as_uri()],
                         master="local[*]")
    assert local.returncode == 0
    started = time.perf_counter()
    with running(build_topology(PRESETS["small"]), tmp_path, "process") as (cluster, _):
        cold = time.perf_counter() - started
        pids = [n.pid for n in cluster.nodes]
        peak, done = [0.0], threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], _rss_mb(pids))
                done.wait(0.2)

        sampler = threading.Thread(target=sample)
        sampler.start()
        runs = []
        for _ in range(2):
            result = spark_submit(CASCADE.spark_job,
                                  [fixture.uri(), (tmp_path / "cl").as_uri()],
                                  master=cluster.master_url, conf=cluster.spark_conf())
            assert result.returncode == 0, result.error_excerpt()
            runs.append((round(result.seconds, 2), result.metrics["job_s"]))
        done.set()
        sampler.join()
    _equal(tmp_path / "cl", reference)
    benchmark.extra_info.update(cold_start_s=round(cold, 2), cluster_runs=runs,
                                local_wall_s=round(local.seconds, 2),
                                local_job_s=local.metrics["job_s"],
                                peak_cluster_rss_mb=round(peak[0]))
    print("\n", benchmark.extra_info)
    benchmark.pedantic(lambda: None, rounds=1)


@pytest.mark.parametrize("rows", [400_000])
def test_emr_step_through_the_api(benchmark, tmp_path, rows):
    fixture = cascade_fixture(rows)
    with EmbeddedEndpoint(port=0, work_dir=tmp_path) as endpoint:
        s3, emr = endpoint.client("s3"), endpoint.client("emr")
        for bucket in ("raw", "code", "logs", "curated"):
            ensure_bucket(s3, bucket, endpoint.region)
        upload_dir(s3, fixture.path, S3Uri("raw", "in"))
        s3.upload_file(str(CASCADE.spark_job), "code", "job.py")
        t0 = time.perf_counter()
        cluster_id = emr.run_job_flow(
            Name="bench", ReleaseLabel="emr-7.12.0", LogUri="s3://logs/",
            Instances={"InstanceGroups": PRESETS["small"], "KeepJobFlowAliveWhenNoSteps": True},
            JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole")["JobFlowId"]
        emr.get_waiter("cluster_running").wait(ClusterId=cluster_id,
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 300})
        to_ready = time.perf_counter() - t0
        t1 = time.perf_counter()
        (step,) = emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=[{
            "Name": "enrich", "ActionOnFailure": "CONTINUE", "HadoopJarStep": {
                "Jar": "command-runner.jar",
                "Args": ["spark-submit", "s3://code/job.py", "s3://raw/in", "s3://curated/o"]}}],
        )["StepIds"]
        emr.get_waiter("step_complete").wait(ClusterId=cluster_id, StepId=step,
                                             WaiterConfig={"Delay": 1, "MaxAttempts": 600})
        step_s = time.perf_counter() - t1
        emr.terminate_job_flows(JobFlowIds=[cluster_id])
    benchmark.extra_info.update(run_job_flow_to_ready_s=round(to_ready, 2),
                                step_to_completed_s=round(step_s, 2))
    print("\n", benchmark.extra_info)
    benchmark.pedantic(lambda: None, rounds=1)


def test_per_row_rds_projection_reproduces_two_hours(benchmark, bench_work_dir):
    """The `rds` profile is calibrated on the original job: 400k rows per row in ~2 hours.
    The projection from a 1,000-row sample must land within 10% of 7,200 s."""
    from harness.bench.runner import BenchOptions, BenchRun
    from harness.config import get_profile

    fixture = cascade_fixture(400_000)
    options = BenchOptions(variants=["per-row"], profile=get_profile("rds"),
                           work_dir=bench_work_dir / "rds")
    (result,) = benchmark.pedantic(
        lambda: BenchRun(CASCADE, fixture, options, machine=dict).run().results,
        rounds=1, iterations=1)
    assert result.output_equal, result.mismatch
    benchmark.extra_info.update(projected_seconds=result.seconds, projected=result.projected)
    assert result.projected
    assert abs(result.seconds - 7_200) / 7_200 < 0.10, result.seconds
