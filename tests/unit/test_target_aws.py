"""`harness rehearse --target aws` sends the very job flow of the rehearsal to EMR, after
showing its cost and asking. Tested under moto's in-process mock_aws, so no request leaves
this machine; moto's EMR never finishes a step, so the run ends at its timeout."""

from __future__ import annotations

import json

import pytest
from moto import mock_aws
from typer.testing import CliRunner

from harness.cli import app

FLOW = {
    "Name": "nightly-enrichment", "ReleaseLabel": "emr-7.12.0", "LogUri": "s3://acme-logs/emr/",
    "Applications": [{"Name": "Spark"}], "JobFlowRole": "EMR_EC2_DefaultRole",
    "ServiceRole": "EMR_DefaultRole",
    "Instances": {"InstanceGroups": [
        {"Name": "Master", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge",
         "InstanceCount": 1},
        {"Name": "Core", "InstanceRole": "CORE", "InstanceType": "m5.xlarge", "InstanceCount": 2},
        {"Name": "Task", "InstanceRole": "TASK", "InstanceType": "m5.xlarge", "InstanceCount": 1,
         "Market": "SPOT"}]},
    "BootstrapActions": [{"Name": "deps",
                          "ScriptBootstrapAction": {"Path": "s3://acme-code/bootstrap.sh"}}],
    "Steps": [{"Name": "enrich", "ActionOnFailure": "TERMINATE_CLUSTER", "HadoopJarStep": {
        "Jar": "command-runner.jar",
        "Args": ["spark-submit", "s3://acme-code/job.py", "s3://acme-raw/in", "s3://acme/out"]}}],
}


pytestmark = pytest.mark.usefixtures("no_real_aws")  # nothing real is reachable


def test_no_credential_source_is_reachable_in_these_tests(no_real_aws):
    """What every test here runs under (tests/conftest.py): each provider of botocore's
    credential chain finds nothing, the chain resolves to None, a client call fails on
    credentials before anything is sent, and no socket to a host outside the loopback
    was opened (a connection to one is refused and recorded)."""
    import socket

    import boto3
    import botocore.session
    from botocore.exceptions import NoCredentialsError

    session = botocore.session.get_session()
    resolver = session.get_component("credential_provider")
    assert [p.METHOD for p in resolver.providers] and all(
        p.load() is None for p in resolver.providers), [p.METHOD for p in resolver.providers
                                                       if p.load() is not None]
    assert session.get_credentials() is None
    assert boto3.Session(region_name="us-east-1").get_credentials() is None
    with pytest.raises(NoCredentialsError):
        boto3.client("sts", region_name="us-east-1").get_caller_identity()
    assert no_real_aws == []
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("192.0.2.1", 443),
                                                                         timeout=1):
        pass  # TEST-NET-1: the guard refuses it without a packet sent
    assert no_real_aws == ["192.0.2.1:443"]
    no_real_aws.clear()


@pytest.fixture
def flow_dir(tmp_path, monkeypatch):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "job.py").write_text("print('job')\n")
    (tmp_path / "code" / "bootstrap.sh").write_text("#!/bin/bash\ntrue\n")
    (tmp_path / "flow.json").write_text(json.dumps(FLOW))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HARNESS_WORK_DIR", str(tmp_path / ".harness"))
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def test_real_run_shows_cost_asks_uploads_and_sends_the_same_job_flow(flow_dir, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "mock-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "mock-secret")
    with mock_aws():
        import boto3

        declined = CliRunner().invoke(app, ["rehearse", "flow.json", "--target", "aws",
                                            "--region", "us-east-1"], input="n\n")
        assert declined.exit_code != 0 and "Proceed?" in declined.output
        assert "REAL Amazon EMR in us-east-1" in declined.output
        assert "on-demand total" in declined.output  # the cost estimate came first
        emr = boto3.client("emr", region_name="us-east-1")
        assert emr.list_clusters()["Clusters"] == []  # nothing was sent

        result = CliRunner().invoke(app, [
            "rehearse", "flow.json", "--target", "aws", "--region", "us-east-1",
            "--upload", "code=s3://acme-code", "--timeout", "3"], input="y\n")
        (cluster,) = emr.list_clusters()["Clusters"]
        sent = emr.describe_cluster(ClusterId=cluster["Id"])["Cluster"]
        assert sent["Name"] == FLOW["Name"] and sent["ReleaseLabel"] == FLOW["ReleaseLabel"]
        (step,) = emr.list_steps(ClusterId=cluster["Id"])["Steps"]
        assert step["Config"]["Args"] == FLOW["Steps"][0]["HadoopJarStep"]["Args"]
        actions = emr.list_bootstrap_actions(ClusterId=cluster["Id"])["BootstrapActions"]
        assert actions[0]["ScriptPath"] == "s3://acme-code/bootstrap.sh"
        keys = {o["Key"] for o in boto3.client("s3").list_objects_v2(
            Bucket="acme-code")["Contents"]}
        assert keys == {"job.py", "bootstrap.sh"}
        # moto's EMR never completes a step: the follow loop gives up at --timeout
        assert result.exit_code != 0 and "did not finish within 3 s" in str(result.exception)


def test_real_run_without_region_or_credentials_is_refused(flow_dir, monkeypatch):
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(flow_dir / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(flow_dir / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = CliRunner().invoke(app, ["rehearse", "flow.json", "--target", "aws", "--yes"])
    assert result.exit_code != 0 and "--target aws needs a region" in str(result.exception)
    result = CliRunner().invoke(app, ["rehearse", "flow.json", "--target", "aws", "--yes",
                                      "--region", "us-east-1"])
    assert "no AWS credentials found" in str(result.exception)
