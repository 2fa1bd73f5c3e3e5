"""The detached mode: `harness up` starts the endpoint (and, later, clusters) in the
background and records them; `harness status` reports; `harness down` stops exactly what
was recorded and checks that nothing is left."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.aws import EmbeddedEndpoint, Endpoint
from harness.aws.endpoint import DEFAULT_REGION, port_free
from harness.errors import HarnessError
from harness.procs import stop_group
from harness.state import EndpointRecord, RuntimeState


@dataclass
class UpResult:
    endpoint: Endpoint
    already_running: bool


def up(work_dir: Path, port: int, region: str = DEFAULT_REGION) -> UpResult:
    """Start the embedded endpoint in the background, unless one `up` started still runs."""
    state = RuntimeState.load(work_dir)
    record = state.endpoint
    if record is not None and record.alive:
        endpoint = Endpoint(url=record.url, region=record.region, provider=record.provider)
        if endpoint.healthy():
            return UpResult(endpoint, already_running=True)
    if record is not None:  # stale: its process died; forget it
        _stop_endpoint(record)
        state.clear()
    log = work_dir / "logs" / "endpoint.log"
    embedded = EmbeddedEndpoint(port=port, region=region, log=log, detached=True)
    endpoint = embedded.start()
    assert embedded.process is not None
    state.endpoint = EndpointRecord(url=endpoint.url or "", port=embedded.port,
                                    pid=embedded.process.pid, provider="moto", region=region,
                                    log=str(log))
    state.save()
    return UpResult(endpoint, already_running=False)


def status(work_dir: Path) -> dict[str, Any]:
    state = RuntimeState.load(work_dir)
    data: dict[str, Any] = {"endpoint": None, "clusters": state.clusters}
    if state.endpoint is not None:
        record = state.endpoint
        healthy = record.alive and Endpoint(url=record.url, region=record.region).healthy()
        data["endpoint"] = {"url": record.url, "provider": record.provider, "pid": record.pid,
                            "region": record.region, "state": "running" if healthy else
                            ("unhealthy" if record.alive else "dead"), "log": record.log}
    return data


def down(work_dir: Path) -> list[str]:
    """Stop everything `up` recorded; return what was stopped. Raises if a port stays busy."""
    state = RuntimeState.load(work_dir)
    stopped = []
    if state.endpoint is not None:
        _stop_endpoint(state.endpoint)
        if not port_free("127.0.0.1", state.endpoint.port):
            raise HarnessError(f"port {state.endpoint.port} is still in use after stopping "
                               "the endpoint", "find the process with `ss -ltnp` and stop it")
        stopped.append(f"endpoint {state.endpoint.url} (pid {state.endpoint.pid})")
    state.clear()
    return stopped


def _stop_endpoint(record: EndpointRecord) -> None:
    if record.pid is not None and record.alive:
        stop_group(record.pid, grace_s=10.0)
