"""The region `harness up --region X` gives the endpoint reaches the server process: its
console (the default LogUri bucket it makes, the prices of a cluster's cost) and its job
flows' steps (AWS_DEFAULT_REGION) use X, not us-east-1."""

from __future__ import annotations

import pytest

from harness.aws.endpoint import EmbeddedEndpoint
from harness.emr.server import dispatcher, main, parse_args
from harness.errors import UsageError


def test_the_endpoint_process_is_told_its_region():
    command = EmbeddedEndpoint(port=4566, region="eu-west-1").command()
    assert command[command.index("-m") + 1] == "harness.emr.server"
    assert parse_args(command[command.index("-m") + 2:]).region == "eu-west-1"
    assert parse_args([]).region == "us-east-1"


def test_the_console_uses_the_endpoints_region():
    assert dispatcher(region="eu-west-1").console.region == "eu-west-1"
    assert dispatcher().console.region == "us-east-1"


def test_a_region_aws_does_not_have_is_refused_before_the_endpoint_starts(capsys):
    """The endpoint refuses requests signed for a region AWS does not have, its own health
    check too: such a --region is a usage error at once, not a 30 s wait."""
    with pytest.raises(UsageError) as refused:
        parse_args(["--region", "us-est-1"])
    assert "'us-est-1' is not an AWS region" in refused.value.problem
    assert "us-east-1" in refused.value.remedy
    assert main(["--region", "mars-north-1", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "'mars-north-1' is not an AWS region" in err and len(err.splitlines()) == 1


def _emr(client, operation, body, region=None):  # noqa: ANN001, ANN202
    import json

    headers = {"X-Amz-Target": f"ElasticMapReduce.{operation}",
               "Content-Type": "application/x-amz-json-1.1"}
    if region is not None:
        headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential=testing/20261202/{region}/"
                                    "elasticmapreduce/aws4_request, SignedHeaders=host, "
                                    "Signature=0")
    response = client.post("/", data=json.dumps(body), headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return json.loads(response.get_data(as_text=True))


def test_an_unsigned_emr_request_is_in_the_endpoints_region():
    """An unsigned request names no region: it is the endpoint's (--region), as the
    console's and the job flows' are, not us-east-1's."""
    from werkzeug.test import Client

    from harness.emr.server import install_emr_backend

    restore = install_emr_backend(None)  # the endpoint's EMR, without job-flow runner
    client = Client(dispatcher(region="ap-southeast-2"))
    flow = {"Name": "unsigned", "ReleaseLabel": "emr-7.12.0", "Instances": {
        "InstanceGroups": [{"InstanceRole": "MASTER", "InstanceType": "m5.xlarge",
                            "InstanceCount": 1}]}}
    started = _emr(client, "RunJobFlow", flow)
    cluster_id = started["JobFlowId"]
    try:
        assert started["ClusterArn"].startswith("arn:aws:elasticmapreduce:ap-southeast-2:")
        listed = _emr(client, "ListClusters", {}, region="ap-southeast-2")["Clusters"]
        assert cluster_id in [c["Id"] for c in listed]
        elsewhere = _emr(client, "ListClusters", {}, region="us-east-1")["Clusters"]
        assert cluster_id not in [c["Id"] for c in elsewhere]
    finally:
        _emr(client, "TerminateJobFlows", {"JobFlowIds": [cluster_id]})
        restore()
