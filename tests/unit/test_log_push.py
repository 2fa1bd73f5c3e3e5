"""A running step's logs pushed to LogUri (harness.emr.controlplane.LogUpload): a push sends
only the files that changed since the last one, and after a failed upload (a LogUri bucket
that does not exist) the pushes stop, the final upload is tried once and its failure logged
once. Against moto's S3 in this process (mock_aws): nothing leaves the machine."""

from __future__ import annotations

import gzip

import pytest

from harness.aws.s3 import S3Uri, cluster_log_base
from harness.emr.controlplane import LogUpload
from tests.moto_s3 import moto_s3

NAMES = ("controller", "stdout", "stderr", "syslog")


@pytest.fixture
def s3(monkeypatch):
    with moto_s3(monkeypatch, "acme-logs") as client:
        yield client


def _step_dir(tmp_path):
    for name in NAMES:
        (tmp_path / name).write_text(f"{name} line 1\n")
    return tmp_path


def _puts(s3) -> list[str]:
    """The keys of every PutObject the client makes from now on."""
    keys: list[str] = []
    s3.meta.events.register("before-parameter-build.s3.PutObject",
                            lambda params, **_: keys.append(params["Key"]))
    return keys


def test_a_push_sends_only_the_logs_that_changed(s3, tmp_path):
    base = cluster_log_base("s3n://acme-logs/emr/", "j-1").child("steps/s-1")
    assert str(base) == "s3://acme-logs/emr/j-1/steps/s-1"
    lines: list[str] = []
    logs = LogUpload(s3, base, _step_dir(tmp_path), NAMES, lines.append)
    puts = _puts(s3)
    assert logs.push()
    assert sorted(puts) == sorted(f"emr/j-1/steps/s-1/{n}.gz" for n in NAMES)
    puts.clear()
    assert logs.push() and puts == []  # nothing changed: nothing re-sent
    with (tmp_path / "stdout").open("a") as out:
        out.write("line 2\n")
    assert logs.push() and puts == ["emr/j-1/steps/s-1/stdout.gz"]
    got = s3.get_object(Bucket="acme-logs", Key="emr/j-1/steps/s-1/stdout.gz")["Body"].read()
    assert gzip.decompress(got) == b"stdout line 1\nline 2\n"
    puts.clear()
    assert logs.upload() and len(puts) == len(NAMES)  # the final upload sends them all
    assert lines == []


def test_after_a_failed_upload_the_pushes_stop_and_each_failure_is_logged_once(s3, tmp_path):
    lines: list[str] = []
    logs = LogUpload(s3, S3Uri("no-such-bucket", "j-1/steps/s-1"), _step_dir(tmp_path),
                     NAMES, lines.append)
    puts = _puts(s3)
    assert not logs.push()
    assert len(puts) == 1 and len(lines) == 1  # the first failure ends this push
    assert "cannot upload controller to s3://no-such-bucket/j-1/steps/s-1" in lines[0]
    assert "NoSuchBucket" in lines[0]
    for _ in range(3):  # later pushes send and log nothing
        assert not logs.push()
    assert len(puts) == 1 and len(lines) == 1
    assert not logs.upload()  # the final upload is still tried, once, and said once
    assert len(puts) == 2 and len(lines) == 2
    s3.create_bucket(Bucket="no-such-bucket")  # e.g. made meanwhile: the final one lands
    assert logs.upload() and len(lines) == 2
    assert cluster_log_base(None, "j-1") is None and cluster_log_base("", "j-1") is None
