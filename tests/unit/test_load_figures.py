"""The load run's figures (harness.emr.load): what a poller process measured comes back
whole, and a latency is set against the endpoint's own time for the same answer, which
the endpoint states in a Server-Timing header on every AWS answer."""

from __future__ import annotations

from harness.emr.load import Calls, _percentile
from harness.emr.server import dispatcher


def test_every_aws_answer_states_the_endpoints_own_time():
    from werkzeug.test import Client

    answer = Client(dispatcher()).get("/", headers={
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261202/us-east-1/s3/"
                         "aws4_request, SignedHeaders=host, Signature=0"})
    timing = answer.headers["Server-Timing"]
    assert timing.startswith("endpoint;dur=") and float(timing.split("=")[1]) >= 0


def test_a_call_keeps_its_latency_and_the_endpoints_time():
    calls = Calls()
    answer = {"ResponseMetadata": {"HTTPHeaders": {"server-timing": "endpoint;dur=2.5"}}}
    assert calls.call(lambda: answer) is answer
    calls.call(lambda: {"ResponseMetadata": {"HTTPHeaders": {}}})  # no header: not counted
    assert len(calls.latencies_ms) == 2 and calls.server_ms == [2.5]


def test_a_failed_call_is_counted_with_its_status():
    from botocore.exceptions import ClientError

    def refused() -> None:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"},
                           "ResponseMetadata": {"HTTPStatusCode": 500, "HTTPHeaders": {
                               "server-timing": "endpoint;dur=1.0"}}}, "ListClusters")

    calls = Calls()
    assert calls.call(refused) is None
    assert calls.server_errors == 1 and calls.errors[0].startswith("500 ")
    assert calls.server_ms == [1.0]


def test_the_calls_of_several_processes_merge_whole():
    one, two = Calls(), Calls()
    one.latencies_ms, one.server_ms = [1.0, 3.0], [0.5]
    two.latencies_ms, two.errors, two.server_errors = [2.0], ["500 boom"], 1
    merged = Calls()
    merged.merge(one.as_json())
    merged.merge(two.as_json())
    figures = merged.figures()
    assert figures["calls"] == 3 and figures["errors"] == 1 and figures["server_errors"] == 1
    assert figures["p50_ms"] == 2.0 and figures["max_ms"] == 3.0
    assert figures["endpoint_p50_ms"] == 0.5


def test_the_p99_is_the_nearest_rank():
    ordered = [float(i) for i in range(1, 201)]
    assert _percentile(ordered, 0.99) == 198.0
    assert _percentile([7.0], 0.99) == 7.0
