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
