"""Spark on s3:// through S3A against the embedded endpoint: the 400k job reads its
fixture from S3 and writes Parquet through the magic committer that boto3 lists and pandas
reads back equal to the local-file run; missing inputs and a dead endpoint are one-line
errors; the jars come from the harness's own cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from harness import procs
from harness.aws.s3 import S3Uri, download_prefix, ensure_bucket, upload_dir
from harness.aws.s3a import resolve_jars, spark_conf
from harness.bench.equivalence import compare_outputs
from harness.config import Settings
from harness.spark import spark_submit
from harness.workloads import generate_fixture

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def jars():
    resolution = resolve_jars(Settings().jar_cache)
    assert resolution.total_bytes < 50 * 2**20  # the individual SDK modules, not the bundle
    return resolution.jars


def test_jars_are_cached_and_verified(jars):
    again = resolve_jars(Settings().jar_cache)
    assert again.downloaded == 0 and again.jars == jars
    names = {p.name for p in jars}
    assert "hadoop-aws-3.5.0.jar" in names and "s3-2.35.4.jar" in names


def test_400k_job_s3_to_s3_equals_the_local_run(endpoint, cascade, tmp_path_factory, jars):
    fixture, _ = generate_fixture(cascade, 400_000, 42, 0.02,
                                  tmp_path_factory.mktemp("fx") / "400k")
    s3 = endpoint.client("s3")
    for bucket in ("raw", "curated"):
        ensure_bucket(s3, bucket, endpoint.region)
    upload_dir(s3, fixture.path, S3Uri("raw", "cascade/400k"))
    result = spark_submit(cascade.spark_job, ["s3://raw/cascade/400k", "s3://curated/run-1"],
                          master="local[2]", conf=spark_conf(endpoint, jars),
                          env=endpoint.child_env({}))
    assert result.returncode == 0, result.error_excerpt()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="curated", Prefix="run-1/")["Contents"]]
    assert any(k.startswith("run-1/enriched/part-") and k.endswith(".parquet") for k in keys)
    success = json.loads(s3.get_object(Bucket="curated",
                                       Key="run-1/enriched/_SUCCESS")["Body"].read())
    assert success["committer"] == "magic"  # S3A committer, not the rename-based one
    local = tmp_path_factory.mktemp("back")
    download_prefix(s3, S3Uri("curated", "run-1"), local)
    outputs = {name: pd.read_parquet(local / name) for name in cascade.output_names}
    reference = cascade.reference_outputs(fixture.read_tables())  # the judge (DuckDB)
    comparison = compare_outputs(cascade.outputs, reference, outputs, 1e-9)
    assert comparison.equal, comparison.summary()


def _harness(*args: str, cwd) -> subprocess.CompletedProcess:
    return procs.run([sys.executable, "-m", "harness.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300, check=False,
                          env={**os.environ, "HARNESS_WORK_DIR": str(cwd / ".harness")})


def test_missing_bucket_missing_key_and_dead_endpoint(endpoint, tmp_path):
    ensure_bucket(endpoint.client("s3"), "empty", endpoint.region)
    cases = [
        (["--input", "s3://no-such-bucket/x"], "NoSuchBucket: bucket 'no-such-bucket'"),
        (["--input", "s3://empty/nothing-here"], "NoSuchKey: nothing is stored under"),
    ]
    for args, needle in cases:
        proc = _harness("spark-job", *args, "--output", "s3://empty/out",
                        "--endpoint-url", endpoint.url, cwd=tmp_path)
        assert proc.returncode != 0 and needle in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    dead = _harness("spark-job", "--input", "s3://raw/x", "--output", "s3://raw/y",
                    "--endpoint-url", "http://127.0.0.1:1", cwd=tmp_path)
    assert dead.returncode != 0 and "no AWS endpoint answers" in dead.stderr


def test_bench_with_s3_storage_runs_spark_s3_to_s3(tmp_path, endpoint):
    proc = _harness("bench", "--rows", "3000", "--variants", "batched,vectorised,spark",
                    "--storage", "s3", "--endpoint-url", endpoint.url, "--json", "b.json",
                    cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = {r["variant"]: r for r in json.loads((tmp_path / "b.json").read_text())["results"]}
    assert all(r["output_equal"] for r in results.values())
    assert results["spark"]["details"]["input"].startswith("s3://harness-raw/cascade/")
    assert results["spark"]["details"]["output"].startswith("s3://harness-curated/")
