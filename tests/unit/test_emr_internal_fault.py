"""A fault inside the endpoint is the endpoint's, not the caller's: AWS answers it with
InternalServerError (HTTP 500, which SDKs retry), never with a 400 ValidationException.
Driven through the endpoint's own WSGI application in this process (no server started)."""

from __future__ import annotations

import json

from werkzeug.test import Client

from harness.emr.models import RehearsalEmrBackend
from harness.emr.server import dispatcher, install_emr_backend

AUTH = ("AWS4-HMAC-SHA256 Credential=testing/20261202/us-east-1/elasticmapreduce/"
        "aws4_request, SignedHeaders=host;x-amz-target, Signature=0")


def emr_call(client: Client, operation: str, body: dict) -> tuple[int, dict]:
    response = client.post("/", data=json.dumps(body), headers={
        "X-Amz-Target": f"ElasticMapReduce.{operation}",
        "Content-Type": "application/x-amz-json-1.1", "Authorization": AUTH})
    return response.status_code, json.loads(response.get_data(as_text=True) or "{}")


def test_a_fault_inside_the_endpoint_is_a_500_internal_server_error(monkeypatch):
    def fault(self, *args, **kwargs):  # a bug of ours (or moto's) in the middle of an action
        raise KeyError("ig-NOSUCHGROUP")

    monkeypatch.setattr(RehearsalEmrBackend, "list_clusters", fault)
    restore = install_emr_backend(None)
    try:
        client = Client(dispatcher())
        status, body = emr_call(client, "ListClusters", {})
        assert status == 500, body
        assert body.get("__type", "").endswith("InternalServerError"), body
        assert "ig-NOSUCHGROUP" in body.get("message", body.get("Message", "")), body
        monkeypatch.undo()  # the fault gone, the same application still serves
        status, body = emr_call(client, "ListClusters", {})
        assert status == 200 and body["Clusters"] == [], body
    finally:
        restore()


FLOW = {"Name": "x", "ReleaseLabel": "emr-7.12.0", "Instances": {"InstanceGroups": [
    {"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1}]}}
FLEET_FLOW = {"Name": "fleet", "ReleaseLabel": "emr-7.12.0", "Instances": {"InstanceFleets": [
    {"InstanceFleetType": "MASTER", "TargetOnDemandCapacity": 1,
     "InstanceTypeConfigs": [{"InstanceType": "m5.xlarge"}]}]}}


def test_a_cluster_that_cannot_start_is_one_job_flow_terminated_with_errors():
    # an endpoint with no job-flow runner: every accepted cluster fails to start
    restore = install_emr_backend(None)
    try:
        client = Client(dispatcher())
        status, body = emr_call(client, "RunJobFlow", FLOW)
        assert status == 200, body
        _, listed = emr_call(client, "ListClusters", {})
        assert [c["Id"] for c in listed["Clusters"]] == [body["JobFlowId"]]
        _, described = emr_call(client, "DescribeCluster", {"ClusterId": body["JobFlowId"]})
        state = described["Cluster"]["Status"]
        assert state["State"] == "TERMINATED_WITH_ERRORS"
        assert state["StateChangeReason"]["Code"] == "INTERNAL_ERROR"
        assert "could not start" in state["StateChangeReason"]["Message"]
    finally:
        restore()


def test_a_fault_after_the_record_exists_is_the_clusters_not_a_500(monkeypatch):
    def fault(self, *args):  # a bug of ours once moto created the record
        raise KeyError("fleet-spec")

    monkeypatch.setattr(RehearsalEmrBackend, "add_instance_fleets", fault)
    restore = install_emr_backend(None)
    try:
        client = Client(dispatcher())
        status, body = emr_call(client, "RunJobFlow", FLEET_FLOW)
        assert status == 200, body  # a 500 would make the SDK's retry create a second one
        _, listed = emr_call(client, "ListClusters", {})
        assert [c["Id"] for c in listed["Clusters"]] == [body["JobFlowId"]]
        _, described = emr_call(client, "DescribeCluster", {"ClusterId": body["JobFlowId"]})
        reason = described["Cluster"]["Status"]["StateChangeReason"]
        assert reason["Code"] == "INTERNAL_ERROR" and "KeyError" in reason["Message"]
        # before any record exists, the same kind of fault is a retryable 500 instead
        monkeypatch.setattr(RehearsalEmrBackend, "validate_job_flow", fault)
        status, body = emr_call(client, "RunJobFlow", FLOW)
        assert status == 500 and body["__type"] == "InternalServerError", body
        _, listed = emr_call(client, "ListClusters", {})
        assert len(listed["Clusters"]) == 1
    finally:
        restore()
