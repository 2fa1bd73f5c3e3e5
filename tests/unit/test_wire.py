"""What AWS refuses and moto does not is refused by the endpoint as AWS refuses it: a bucket
name against S3's naming rules (InvalidBucketName) and a request signed for a region AWS
does not have (AuthorizationHeaderMalformed, without the <Region> that would make botocore
re-sign for us-east-1). Driven through the endpoint's WSGI application (no server started)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from werkzeug.test import Client

from harness.aws.wire import bucket_name_problem
from harness.emr.server import dispatcher


def s3_auth(region: str = "us-east-1") -> str:
    return (f"AWS4-HMAC-SHA256 Credential=testing/20261202/{region}/s3/aws4_request, "
            "SignedHeaders=host, Signature=0")


def error(response) -> dict[str, str]:  # noqa: ANN001
    return {child.tag: child.text or "" for child in ET.fromstring(response.get_data())}


@pytest.mark.parametrize("name", ["Upper-Case", "ab", "a" * 64, "-leading", "two..dots",
                                  "192.168.5.4", "under_score", "xn--punycode",
                                  "mine--ol-s3"])
def test_create_bucket_with_an_invalid_name_is_invalid_bucket_name(name):
    response = Client(dispatcher()).put(f"/{name}", headers={"Authorization": s3_auth()})
    assert response.status_code == 400
    body = error(response)
    assert body["Code"] == "InvalidBucketName" and body["BucketName"] == name
    assert body["Message"].startswith("The specified bucket is not valid.")


def test_valid_names_pass_and_other_requests_are_moto_s():
    client = Client(dispatcher())
    for name in ("rehearsal-logs", "a.b-c", "abc"):
        assert bucket_name_problem(name) is None
    response = client.put("/faults-rules-ok", headers={"Authorization": s3_auth()})
    assert response.status_code == 200, response.get_data(as_text=True)
    # an existing bucket's name is not re-judged on reads (S3 answers NoSuchBucket there)
    response = client.get("/Upper-Case", headers={"Authorization": s3_auth()})
    assert error(response)["Code"] == "NoSuchBucket"
    client.delete("/faults-rules-ok", headers={"Authorization": s3_auth()})


def test_a_region_aws_does_not_have_is_authorization_header_malformed():
    response = Client(dispatcher()).get("/", headers={"Authorization": s3_auth("mars-north-1")})
    assert response.status_code == 400
    body = error(response)
    assert body["Code"] == "AuthorizationHeaderMalformed"
    assert "'mars-north-1'" in body["Message"] and "us-east-1" in body["Message"]
    assert "Region" not in body  # botocore's redirector would re-sign and retry with it
    ok = Client(dispatcher()).get("/", headers={"Authorization": s3_auth("eu-west-1")})
    assert ok.status_code == 200


def signed(region: str, service: str) -> str:
    return (f"AWS4-HMAC-SHA256 Credential=testing/20261202/{region}/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0")


def test_other_services_answer_an_unknown_region_as_aws_does_not_with_a_500():
    import json

    client = Client(dispatcher())
    # a query-protocol service (moto raised KeyError: a 500)
    response = client.post("/", data="Action=ListQueues&Version=2012-11-05", headers={
        "Authorization": signed("mars-north-1", "sqs"),
        "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 403
    body = {c.tag: c for c in ET.fromstring(response.get_data())}["Error"]
    assert body.find("Code").text == "SignatureDoesNotMatch"
    assert "'mars-north-1'" in body.find("Message").text
    # a JSON-protocol one
    response = client.post("/", data="{}", headers={
        "Authorization": signed("mars-north-1", "logs"),
        "X-Amz-Target": "Logs_20140328.DescribeLogGroups",
        "Content-Type": "application/x-amz-json-1.1"})
    assert response.status_code == 400
    assert json.loads(response.get_data())["__type"] == "InvalidSignatureException"
    # a real region still reaches moto
    response = client.post("/", data="Action=ListQueues&Version=2012-11-05", headers={
        "Authorization": signed("eu-west-1", "sqs"),
        "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200


def test_a_bucket_named_console_is_s3_s_and_the_unsigned_console_is_the_consoles():
    """Path-style S3 clients of 127.0.0.1 sign; browsers never do: only an unsigned
    /console request is the console's."""
    client = Client(dispatcher())
    auth = {"Authorization": s3_auth()}
    created = client.put("/console", headers=auth)
    assert created.status_code == 200, created.get_data(as_text=True)
    try:
        put = client.put("/console/key.txt", data=b"kept", headers=auth)
        assert put.status_code == 200, put.get_data(as_text=True)
        got = client.get("/console/key.txt", headers=auth)
        assert got.status_code == 200 and got.get_data() == b"kept"
        # a presigned URL is signed too (X-Amz-Credential in the query)
        presigned = client.get("/console/key.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
                               "X-Amz-Credential=testing%2F20261202%2Fus-east-1%2Fs3%2F"
                               "aws4_request&X-Amz-Signature=0")
        assert presigned.get_data() == b"kept"
        unsigned = client.get("/console/static/console.js",
                              environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert unsigned.status_code == 200 and b"function" in unsigned.get_data()
        bad_state = client.get("/console/?state=SLEEPING",
                               environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert bad_state.status_code == 400 and "SLEEPING" in bad_state.text
    finally:
        client.delete("/console/key.txt", headers=auth)
        client.delete("/console", headers=auth)
