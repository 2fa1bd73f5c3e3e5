"""The AWS endpoint contract: a URL, a region and credentials that boto3 clients, child
processes and Spark's S3A all use. Providers: the embedded moto server (started here),
an attached endpoint the user runs (LocalStack, another moto), or real AWS (explicit)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.aws.guard import check_endpoint, check_local
from harness.errors import EndpointError
from harness.net import free_port, port_free
from harness.procs import OwnedProcess

DUMMY_KEY = "testing"
DEFAULT_REGION = "us-east-1"
DEFAULT_PORT = 4566  # LocalStack's port: tools built for LocalStack find us unchanged
# what the embedded endpoint runs: a name, not an import (the EMR layer composes the server
# on top of this one; aws/ never imports emr/)
SERVER_MODULE = "harness.emr.server"


def empty_profiles() -> str:
    """An empty regular file for AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, so that no
    profile of the user's can override the dummy credentials. Not /dev/null: the AWS SDK for
    Java v1 (S3A's, in Spark) refuses a path that is not a regular file and logs a WARN with
    a stack trace on every step. Under the temp dir, which the docker backend's nodes mount
    at the same path; rewritten if anything put content in it."""
    path = Path(tempfile.gettempdir()) / "emr-rehearsal-aws-profiles-empty"
    if not path.is_file() or path.stat().st_size:
        partial = path.with_name(f"{path.name}.{os.getpid()}")
        partial.write_text("")
        os.replace(partial, path)
    return str(path)


@dataclass(frozen=True)
class Endpoint:
    """Where AWS API calls go, and as whom. `target` is "local" or "aws"."""

    url: str | None
    region: str = DEFAULT_REGION
    access_key: str = DUMMY_KEY
    secret_key: str = DUMMY_KEY
    provider: str = "moto"
    target: str = "local"

    def check(self) -> Endpoint:
        """Run the local-mode guard (no-op for an explicit AWS target)."""
        if self.target == "local":
            check_local(self.url, self.access_key, self.secret_key)
        return self

    def env(self) -> dict[str, str]:
        """The variables a child process needs so its own boto3/AWS CLI land here too."""
        env = {"AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region}
        if self.target == "local":
            env.update({
                "AWS_ENDPOINT_URL": self.url or "",
                "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key,
                # no stray profile or session token may override the dummy credentials
                "AWS_SESSION_TOKEN": "",
                "AWS_PROFILE": "",
                "AWS_CONFIG_FILE": empty_profiles(),
                "AWS_SHARED_CREDENTIALS_FILE": empty_profiles(),
                "AWS_EC2_METADATA_DISABLED": "true",
            })
        return env

    def child_env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """`base` (default os.environ) with this endpoint's variables applied."""
        merged = dict(os.environ if base is None else base)
        for key, value in self.env().items():
            if value == "":
                merged.pop(key, None)
            else:
                merged[key] = value
        return merged

    def exports(self) -> str:
        """`export ...` lines for a user's shell."""
        return "\n".join(f"export {k}={v}" for k, v in self.env().items()
                         if v and k.startswith(("AWS_ENDPOINT", "AWS_ACCESS", "AWS_SECRET",
                                                "AWS_DEFAULT_REGION", "AWS_REGION")))

    def session(self):  # noqa: ANN201 (boto3.Session)
        import boto3

        self.check()
        if self.target == "aws":
            return boto3.Session(region_name=self.region)
        return boto3.Session(aws_access_key_id=self.access_key,
                             aws_secret_access_key=self.secret_key, region_name=self.region)

    def client(self, service: str, **kwargs: Any):  # noqa: ANN201 (a boto3 client)
        """A boto3 client bound to this endpoint (guarded in local mode)."""
        from botocore.config import Config

        config = kwargs.pop("config", None) or Config(
            retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5,
            read_timeout=120,
            s3={"addressing_style": "path"},
        )
        endpoint = self.url if self.target == "local" else None
        return self.session().client(service, endpoint_url=endpoint, config=config, **kwargs)

    def healthy(self, timeout: float = 2.0) -> bool:
        """True when the endpoint answers an S3 ListBuckets."""
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            client = self.client("s3", config=Config(connect_timeout=timeout,
                                                     read_timeout=timeout,
                                                     retries={"max_attempts": 1}))
            client.list_buckets()
            return True
        except (BotoCoreError, ClientError):
            return False

    def wait_healthy(self, deadline_s: float = 30.0, process: OwnedProcess | None = None,
                     log: Path | None = None) -> None:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if process is not None and not process.alive():
                detail = log.read_text().strip().splitlines()[-1] if log and log.exists() \
                    else f"exit code {process.proc.returncode}"
                if "already in use" in detail:
                    raise EndpointError(detail.removeprefix("error: ").split(" -- ")[0],
                                        "stop what runs there, or choose another --port")
                raise EndpointError(f"the endpoint process died: {detail}",
                                    "see the log for details")
            if self.healthy(timeout=1.0):
                return
            time.sleep(0.1)
        raise EndpointError(f"the endpoint {self.url} did not answer within {deadline_s:.0f} s",
                            "check that it is running (harness status) and reachable")


def port_in_use_error(host: str, port: int) -> EndpointError:
    return EndpointError(
        f"port {port} on {host} is already in use (another harness, LocalStack or moto?)",
        "stop what runs there (harness down), choose another --port, or attach to it with "
        f"--endpoint-url http://{host}:{port}",
    )


class EmbeddedEndpoint:
    """The embedded moto server as a child process (SERVER_MODULE, moto with the EMR control
    plane),
    owned: `with EmbeddedEndpoint(port) as endpoint: ...` stops it on every exit path."""

    def __init__(self, port: int | None = DEFAULT_PORT, host: str = "127.0.0.1",
                 region: str = DEFAULT_REGION, log: Path | None = None,
                 detached: bool = False, work_dir: Path | None = None,
                 emr_backend: str | None = None) -> None:
        self.host = host
        self.work_dir = work_dir
        self.emr_backend = emr_backend
        self.port = free_port(host) if port in (None, 0) else port
        self.region = region
        self.log = log
        self.detached = detached
        self.process: OwnedProcess | None = None

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(url=f"http://{self.host}:{self.port}", region=self.region,
                        provider="moto")

    def command(self) -> list[str]:
        """The server process's command line: its address and the region it serves (its
        console's and its job flows' steps')."""
        return [sys.executable, "-m", SERVER_MODULE, "--host", self.host,
                "--port", str(self.port), "--region", self.region]

    def start(self) -> Endpoint:
        check_endpoint(f"http://{self.host}:{self.port}")
        if not port_free(self.host, self.port):
            raise port_in_use_error(self.host, self.port)
        if self.log:
            self.log.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        if self.work_dir is not None:  # where the EMR control plane keeps job flows
            env["HARNESS_WORK_DIR"] = str(self.work_dir.resolve())
        if self.emr_backend is not None:  # where its EMR job flows start their clusters
            env["HARNESS_EMR_BACKEND"] = self.emr_backend
        self.process = OwnedProcess(
            self.command(), log=self.log, detached=self.detached, env=env,
            grace_s=60.0,  # the reaper's wait too: its control plane stops job flows first
        )
        try:
            self.endpoint.wait_healthy(process=self.process, log=self.log)
        except BaseException:
            self.stop()
            raise
        return self.endpoint

    def stop(self) -> None:
        if self.process is not None:
            # its EMR control plane terminates its job flows' clusters before it exits
            self.process.stop(grace_s=60.0)
            self.process = None

    def __enter__(self) -> Endpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def attach(url: str, region: str = DEFAULT_REGION, provider: str = "attached") -> Endpoint:
    """An endpoint the user already runs (LocalStack, moto): guarded, then health-checked."""
    endpoint = Endpoint(url=url.rstrip("/"), region=region, provider=provider).check()
    if not endpoint.healthy(timeout=3.0):
        raise EndpointError(f"no AWS endpoint answers at {url}",
                            "start it (e.g. harness up) or fix --endpoint-url")
    return endpoint


def aws_target(region: str | None) -> Endpoint:
    """Real AWS with the user's own credentials (only for an explicit --target aws)."""
    if not region:
        raise EndpointError("--target aws needs a region",
                            "pass --region or set AWS_REGION / AWS_DEFAULT_REGION")
    return Endpoint(url=None, region=region, access_key="", secret_key="", provider="aws",
                    target="aws")
