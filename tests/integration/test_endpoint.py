"""The local AWS endpoint for real: a moto server process started and stopped by the
harness, boto3, the AWS CLI and localstack-client bound to it, idempotent multipart
uploads, and clear errors for a busy port, a dead endpoint, a missing bucket or key."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from harness import procs
from harness.aws.s3 import S3Error, S3Uri, download_prefix, ensure_bucket, upload_dir
from harness.net import port_free
from harness.procs import cmdline, pid_alive

pytestmark = pytest.mark.integration


def harness(*args: str, work: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "HARNESS_WORK_DIR": str(work / ".harness"), **(env or {})}
    return procs.run([sys.executable, "-m", "harness.cli", *args], capture_output=True,
                          text=True, cwd=work, env=full_env, timeout=180, check=False)


def test_up_status_down_leaves_no_process_and_frees_the_port(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    first = harness("up", "--port", str(port), work=tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in first.stdout
    status = json.loads(harness("status", "--json", work=tmp_path).stdout)
    pid = status["endpoint"]["pid"]
    assert status["endpoint"]["state"] == "running" and pid_alive(pid)
    second = harness("up", "--port", str(port), work=tmp_path)
    assert second.returncode == 0 and "already running" in second.stdout
    elsewhere = harness("up", "--port", str(port), "--region", "eu-west-1", work=tmp_path)
    assert elsewhere.returncode != 0 and "Traceback" not in elsewhere.stderr
    assert "in region us-east-1, not eu-west-1" in elsewhere.stderr + elsewhere.stdout
    assert "harness down" in elsewhere.stderr + elsewhere.stdout
    assert json.loads(harness("status", "--json", work=tmp_path).stdout)["endpoint"]["pid"] \
        == pid  # not a second server
    down = harness("down", work=tmp_path)
    assert down.returncode == 0 and "stopped endpoint" in down.stdout
    assert not pid_alive(pid) or "harness.emr.server" not in cmdline(pid)
    assert port_free("127.0.0.1", port)
    assert "nothing is running" in harness("status", work=tmp_path).stdout


def test_a_taken_port_is_a_one_line_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = harness("up", "--port", str(port), work=tmp_path)
    assert proc.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_an_unreachable_endpoint_is_a_one_line_error(tmp_path):
    proc = harness("fixtures", "upload", "--rows", "100", "--to", "s3://raw/x",
                   "--endpoint-url", "http://127.0.0.1:1", work=tmp_path)
    assert proc.returncode != 0
    assert "no AWS endpoint answers at http://127.0.0.1:1" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_non_loopback_endpoint_is_refused_before_sending(tmp_path):
    proc = harness("fixtures", "upload", "--rows", "100", "--to", "s3://raw/x",
                   "--endpoint-url", "http://s3.example.invalid:4566", work=tmp_path)
    assert proc.returncode != 0 and "is not on this machine" in proc.stderr


def test_upload_is_multipart_for_large_files_and_idempotent(endpoint, tmp_path):
    s3 = endpoint.client("s3")
    src = tmp_path / "src"
    (src / "nested").mkdir(parents=True)
    (src / "big.bin").write_bytes(os.urandom(9 * 1024 * 1024))
    (src / "nested" / "small.txt").write_text("hello")
    target = S3Uri("uploads", "run-1")
    assert ensure_bucket(s3, "uploads", endpoint.region) is True
    assert ensure_bucket(s3, "uploads", endpoint.region) is False
    first = upload_dir(s3, src, target)
    assert sorted(first.uploaded) == ["run-1/big.bin", "run-1/nested/small.txt"]
    etag = s3.head_object(Bucket="uploads", Key="run-1/big.bin")["ETag"]
    assert etag.strip('"').endswith("-2")  # two 8 MiB parts: multipart
    second = upload_dir(s3, src, target)
    assert second.uploaded == [] and len(second.skipped) == 2
    (src / "nested" / "small.txt").write_text("changed")
    third = upload_dir(s3, src, target)
    assert third.uploaded == ["run-1/nested/small.txt"]
    back = download_prefix(s3, target, tmp_path / "back")
    assert (tmp_path / "back" / "nested" / "small.txt").read_text() == "changed"
    assert len(back) == 2


def test_missing_bucket_and_key_keep_s3_error_names(endpoint, tmp_path):
    s3 = endpoint.client("s3")
    with pytest.raises(S3Error, match="NoSuchBucket"):
        download_prefix(s3, S3Uri("no-such-bucket", "x"), tmp_path)
    ensure_bucket(s3, "keys", endpoint.region)
    from harness.aws.s3 import _error

    with pytest.raises(Exception) as err:
        s3.get_object(Bucket="keys", Key="missing")
    assert _error(err.value, "reading").problem.startswith("NoSuchKey")


def test_child_processes_boto3_and_aws_cli_land_on_the_endpoint(endpoint, tmp_path):
    s3 = endpoint.client("s3")
    ensure_bucket(s3, "children", endpoint.region)
    code = "import boto3; print([b['Name'] for b in boto3.client('s3').list_buckets()['Buckets']])"
    env = endpoint.child_env()
    py = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                        text=True, check=False, timeout=60)
    assert "children" in py.stdout, py.stderr
    aws = Path(sys.executable).with_name("aws")
    cli = subprocess.run([str(aws), "s3", "ls"], env=env, capture_output=True, text=True,
                         check=False, timeout=60)
    assert "children" in cli.stdout, cli.stderr


def test_localstack_client_works_unchanged_on_the_default_port(tmp_path):
    assert port_free("127.0.0.1", 4566), "something else already uses 4566"
    up = harness("up", work=tmp_path)  # default port: 4566, LocalStack's
    try:
        assert up.returncode == 0, up.stderr
        import localstack_client.session

        s3 = localstack_client.session.Session().client("s3")
        s3.create_bucket(Bucket="from-localstack-client")
        names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
        assert "from-localstack-client" in names
    finally:
        harness("down", work=tmp_path)
    assert port_free("127.0.0.1", 4566)


def test_what_s3_refuses_is_refused_through_boto3(endpoint):
    from botocore.config import Config
    from botocore.exceptions import ClientError

    from harness.aws import Endpoint

    s3 = endpoint.client("s3", config=Config(retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as err:  # botocore's client-side check allows upper case
        s3.create_bucket(Bucket="Rehearsal-Logs")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err.value.response["Error"]["Code"] == "InvalidBucketName"
    assert "Rehearsal-Logs" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    # a region AWS does not have: refused, not redirected to us-east-1 by botocore
    elsewhere = Endpoint(url=endpoint.url, region="mars-north-1").client(
        "s3", config=Config(retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as err:
        elsewhere.list_buckets()
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err.value.response["Error"]["Code"] == "AuthorizationHeaderMalformed"
    assert "'mars-north-1'" in err.value.response["Error"]["Message"]


def test_step_args_that_are_not_a_list_are_refused_on_the_wire(endpoint):
    import urllib.error
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    # botocore never sends this (it refuses it, or sends a string's characters as a list)
    body = json.dumps({"JobFlowId": "j-ANY", "Steps": [{"Name": "s", "HadoopJarStep": {
        "Jar": "command-runner.jar", "Args": "spark-submit s3://code/job.py"}}]}).encode()
    request = AWSRequest("POST", endpoint.url + "/", data=body, headers={
        "X-Amz-Target": "ElasticMapReduce.AddJobFlowSteps",
        "Content-Type": "application/x-amz-json-1.1"})
    SigV4Auth(Credentials("testing", "testing"), "elasticmapreduce",
              endpoint.region).add_auth(request)
    raw = urllib.request.Request(request.url, data=body, method="POST",
                                 headers=dict(request.headers))
    with pytest.raises(urllib.error.HTTPError) as http:
        urllib.request.urlopen(raw, timeout=10)
    answer = json.loads(http.value.read())
    assert http.value.code == 400 and answer["__type"] == "SerializationException"
    assert "Steps[0].HadoopJarStep.Args must be a list" in answer["message"]
