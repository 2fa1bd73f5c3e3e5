"""The local-mode guard refuses non-loopback endpoints and real-looking credentials before
anything is sent. Hosts under the reserved `.invalid` domain stand in for remote ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.aws import Endpoint
from harness.aws.guard import GuardError, check_endpoint, check_local, looks_real

pytestmark = pytest.mark.usefixtures("no_real_aws")  # nothing real is reachable


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:4566", "http://localhost:4566", "http://127.8.9.10:1", "http://[::1]:4566",
])
def test_loopback_endpoints_pass(url):
    assert check_endpoint(url) == url


@pytest.mark.parametrize("url", [
    "http://s3.example.invalid:4566",
    "https://emr.us-east-1.amazonaws.invalid",
    "http://10.1.2.3:4566",
    "http://localhost.example.invalid",
    "ftp://127.0.0.1/x",
    None,
])
def test_other_endpoints_are_refused_with_a_remedy(url):
    with pytest.raises(GuardError) as err:
        check_endpoint(url)
    assert "--target aws" in err.value.remedy


def test_real_looking_credentials_are_refused():
    assert looks_real("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    assert looks_real("ASIAIOSFODNN7EXAMPLE", None)
    assert not looks_real("testing", "testing")
    with pytest.raises(GuardError, match="look like real AWS credentials") as err:
        check_local("http://127.0.0.1:4566", "AKIAIOSFODNN7EXAMPLE", "x" * 40)
    assert "AKIAIOSFODNN7EXAMPLE" not in str(err.value)  # never echo a key in full


def test_clients_are_guarded_before_any_request(monkeypatch):
    sent = []
    monkeypatch.setattr("botocore.endpoint.Endpoint.make_request",
                        lambda *a, **k: sent.append(a))
    remote = Endpoint(url="http://s3.example.invalid:4566")
    with pytest.raises(GuardError):
        remote.client("s3").list_buckets()
    real = Endpoint(url="http://127.0.0.1:1", access_key="AKIAIOSFODNN7EXAMPLE")
    with pytest.raises(GuardError):
        real.client("s3")
    assert sent == []


def test_child_env_binds_children_to_the_endpoint_and_drops_profiles():
    endpoint = Endpoint(url="http://127.0.0.1:4566")
    env = endpoint.child_env({"AWS_PROFILE": "prod", "AWS_SESSION_TOKEN": "tok", "PATH": "/bin"})
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert env["AWS_ACCESS_KEY_ID"] == "testing" and env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert "AWS_PROFILE" not in env and "AWS_SESSION_TOKEN" not in env
    assert env["PATH"] == "/bin"


def test_children_read_an_empty_real_profiles_file_not_dev_null():
    # /dev/null is no regular file: the AWS SDK for Java v1 (S3A's) logs a WARN stack
    # trace on every step for it; an empty file gives no profile and no warning
    env = Endpoint(url="http://127.0.0.1:4566").env()
    config = Path(env["AWS_CONFIG_FILE"])
    assert env["AWS_SHARED_CREDENTIALS_FILE"] == str(config) != os.devnull
    assert config.is_file() and config.read_text() == ""
    config.write_text("[default]\naws_access_key_id = AKIAREAL\n")  # a stray write is undone
    assert Path(Endpoint(url="http://127.0.0.1:4566").env()["AWS_CONFIG_FILE"]).read_text() == ""
