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
