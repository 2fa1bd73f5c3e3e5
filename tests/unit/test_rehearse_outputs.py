"""After a run (a real-AWS one above all), the summary looks for outputs only where the job
flow's steps point: never the account's bucket list, never a sibling prefix, never the
logs; a location it may not read is a note, not a failed (and billed) run. Against moto's
S3 in this process (mock_aws): nothing leaves the machine."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from harness.aws.s3 import S3Uri
from harness.emr.rehearse import named_locations, written_since
from tests.moto_s3 import moto_s3

ARGS = ["spark-submit", "--conf", "spark.sql.warehouse.dir=s3a://acme/warehouse",
        "--py-files", "s3://acme-code/lib.zip,s3n://acme-code/more.zip",
        "s3://acme-code/job.py", "s3://acme-raw/cascade/10000", "s3://acme/out/10000",
        "--checkpoint=s3://acme-private/ckpt"]


@pytest.fixture
def s3(monkeypatch):
    with moto_s3(monkeypatch, "acme", "acme-code", "acme-raw", "acme-logs", "unrelated") as client:
        yield client


def test_the_locations_are_the_ones_steps_name():
    assert [str(u) for u in named_locations(ARGS)] == [
        "s3://acme-code/job.py", "s3://acme-code/lib.zip", "s3://acme-code/more.zip",
        "s3://acme-private/ckpt", "s3://acme-raw/cascade/10000", "s3://acme/out/10000",
        "s3://acme/warehouse"]


def test_outputs_are_looked_for_only_where_the_job_flow_points(s3):
    s3.put_object(Bucket="acme-raw", Key="cascade/10000/orders.parquet", Body=b"input")
    s3.put_object(Bucket="acme-code", Key="job.py", Body=b"code")
    _written_yesterday(("acme-raw", "cascade/10000/orders.parquet"), ("acme-code", "job.py"))
    since = time.time() - 60  # the run started a minute ago (S3 lists whole seconds)
    for bucket, key in (("acme", "out/10000/part-0.parquet"), ("acme", "out/100000/x"),
                        ("unrelated", "new-object"), ("acme-logs", "emr/j-1/steps/s-1/stdout.gz")):
        s3.put_object(Bucket=bucket, Key=key, Body=b"new")
    s3.meta.events.register("before-call.s3.ListBuckets", _no_bucket_listing)
    outputs, unreadable = written_since(s3, named_locations(ARGS + ["s3://acme-logs/emr/"]),
                                        since, log_uri="s3://acme-logs/emr/")
    # the sibling out/100000, the unrelated bucket and the step logs are not outputs; the
    # inputs and code were there before the run
    assert outputs == ["s3://acme/out/10000/part-0.parquet"]
    # a bucket these credentials cannot read (here: missing) is named, not fatal
    assert unreadable == [("s3://acme-private/ckpt", "NoSuchBucket while listing "
                           "s3://acme-private/ckpt")]


def _written_yesterday(*objects: tuple[str, str]) -> None:
    """Inputs that were there long before the run (moto's record of when they were put)."""
    from moto.s3.models import s3_backends

    backend = s3_backends["123456789012"]["aws"]
    for bucket, key in objects:
        backend.buckets[bucket].keys[key].last_modified = datetime.now(UTC) - timedelta(days=1)


def _no_bucket_listing(**_kwargs):
    raise AssertionError("the summary listed every bucket of the account")


def test_a_location_of_one_object_is_that_object(s3):
    since = time.time() - 60
    s3.put_object(Bucket="acme", Key="report.csv", Body=b"new")
    s3.put_object(Bucket="acme", Key="report.csv.bak", Body=b"new")
    outputs, _ = written_since(s3, [S3Uri("acme", "report.csv")], since)
    assert outputs == ["s3://acme/report.csv"]
