"""The region `harness up --region X` gives the endpoint reaches the server process: its
console (the default LogUri bucket it makes, the prices of a cluster's cost) and its job
flows' steps (AWS_DEFAULT_REGION) use X, not us-east-1."""

from __future__ import annotations

from harness.aws.endpoint import EmbeddedEndpoint
from harness.emr.server import dispatcher, parse_args


def test_the_endpoint_process_is_told_its_region():
    command = EmbeddedEndpoint(port=4566, region="eu-west-1").command()
    assert command[command.index("-m") + 1] == "harness.emr.server"
    assert parse_args(command[command.index("-m") + 2:]).region == "eu-west-1"
    assert parse_args([]).region == "us-east-1"


def test_the_console_uses_the_endpoints_region():
    assert dispatcher(region="eu-west-1").console.region == "eu-west-1"
    assert dispatcher().console.region == "us-east-1"
