"""The S3 helpers against moto in this process (mock_aws, no server): prefixes are matched
as folders, an S3 or connection failure is an S3Error that keeps its cause, and anything
else (a bug) propagates as it is instead of becoming "check the endpoint"."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from harness.aws.s3 import S3Error, S3Uri, download_prefix, ensure_bucket, list_keys, under
from harness.net import free_port
from tests.moto_s3 import moto_s3


@pytest.fixture
def s3(monkeypatch):
    with moto_s3(monkeypatch, "raw") as client:
        yield client


def test_a_prefix_is_a_folder_not_the_start_of_a_sibling(s3, tmp_path):
    for key in ("cascade/10000/orders.parquet", "cascade/10000/sub/x.csv",
                "cascade/100000/orders.parquet", "cascade/10000.bak"):
        s3.put_object(Bucket="raw", Key=key, Body=key.encode())
    keys = sorted(o["Key"] for o in list_keys(s3, S3Uri("raw", "cascade/10000")))
    assert keys == ["cascade/10000/orders.parquet", "cascade/10000/sub/x.csv"]
    assert [o["Key"] for o in list_keys(s3, S3Uri("raw", "cascade/10000/"))] == keys
    got = download_prefix(s3, S3Uri("raw", "cascade/10000"), tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in got) == [
        "orders.parquet", "sub/x.csv"]
    # the URI of one object names that object (and its name is kept)
    (one,) = download_prefix(s3, S3Uri("raw", "cascade/10000.bak"), tmp_path / "one")
    assert one == tmp_path / "one" / "10000.bak" and one.read_bytes() == b"cascade/10000.bak"
    assert under("a/b", "") and under("a/b", "a") and not under("ab/c", "a")


def test_s3_failures_keep_their_cause(s3):
    with pytest.raises(S3Error) as err:
        list(list_keys(s3, S3Uri("nosuchbucket", "x")))
    assert "NoSuchBucket" in err.value.problem
    assert isinstance(err.value.__cause__, ClientError)
    unreachable = boto3.client("s3", region_name="us-east-1",
                               endpoint_url=f"http://127.0.0.1:{free_port()}",
                               config=Config(retries={"max_attempts": 1}, connect_timeout=2))
    with pytest.raises(S3Error) as err:
        ensure_bucket(unreachable, "raw", "us-east-1")
    assert "cannot reach the S3 endpoint" in err.value.problem
    assert isinstance(err.value.__cause__, EndpointConnectionError)


def test_a_bug_is_not_turned_into_check_the_endpoint(s3):
    class Broken:  # a client whose paginator is broken: a bug, not S3's answer
        def get_paginator(self, name):  # noqa: ANN001, ANN202
            raise TypeError("get_paginator() got an unexpected keyword")

    with pytest.raises(TypeError, match="unexpected keyword"):
        list(list_keys(Broken(), S3Uri("raw", "x")))
