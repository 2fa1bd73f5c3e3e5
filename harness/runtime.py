"""The detached mode: `harness up` starts the endpoint (and, later, clusters) in the
background and records them; `harness status` reports; `harness down` stops exactly what
was recorded and checks that nothing is left."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import procs
from harness.aws import EmbeddedEndpoint, Endpoint, wire
from harness.aws.endpoint import DEFAULT_REGION
from harness.cluster import BACKENDS, ClusterError, RunningCluster, build_topology, load_groups
from harness.errors import HarnessError, UsageError
from harness.net import port_free
from harness.state import JOBFLOWS, EndpointRecord, RuntimeState, jobflow_records


@dataclass
class UpResult:
    endpoint: Endpoint
    already_running: bool
    emr_backend: str = "process"  # where the endpoint's EMR job flows run their clusters


def up(work_dir: Path, port: int, region: str | None = None,
       backend: str = "process") -> UpResult:
    """Start the embedded endpoint in the background in `region` (us-east-1 unless given),
    unless one `up` started still runs (then a `region` other than its own is refused);
    its EMR job flows start their clusters on `backend`."""
    if region is not None:
        wire.check_region(region)  # else the endpoint refuses its own health check
    work_dir.mkdir(parents=True, exist_ok=True)
    state = RuntimeState.load(work_dir)
    record = state.endpoint
    if record is not None and record.alive:
        endpoint = Endpoint(url=record.url, region=record.region, provider=record.provider)
        if endpoint.healthy():
            if region is not None and region != record.region:
                raise UsageError(f"an endpoint already runs on {record.url} in region "
                                 f"{record.region}, not {region}",
                                 f"`harness down` first to start one in {region}, or "
                                 f"`harness up --region {record.region}`")
            return UpResult(endpoint, already_running=True, emr_backend=record.emr_backend)
    if record is not None:  # stale: its process died; forget it
        _stop_endpoint(record)
        state.clear()
    _backend(backend).preflight()  # job flows will need it: fail now, not at run_job_flow
    log = work_dir / "logs" / "endpoint.log"
    region = region or DEFAULT_REGION
    embedded = EmbeddedEndpoint(port=port, region=region, log=log, detached=True,
                                emr_backend=backend)
    endpoint = embedded.start()
    assert embedded.process is not None
    state.endpoint = EndpointRecord(url=endpoint.url or "", port=embedded.port,
                                    pid=embedded.process.pid, provider="moto", region=region,
                                    log=str(log), emr_backend=backend,
                                    pid_start=embedded.process.identity.start)
    state.save()
    return UpResult(endpoint, already_running=False, emr_backend=backend)


def up_cluster(work_dir: Path, source: str, backend: str = "process",
               memory_budget_mb: int | None = None,
               java_home: Path | None = None) -> tuple[RunningCluster, bool]:
    """Start a cluster of the given topology in the background (one at a time); returns it
    and whether it was already running."""
    state = RuntimeState.load(work_dir)
    for data in state.clusters:
        cluster = RunningCluster.from_dict(data)
        impl = _backend(cluster.backend)
        if any(impl.node_alive(n) for n in cluster.nodes):
            return cluster, True
    state.clusters = []
    topology = build_topology(load_groups(source), memory_budget_mb)
    impl = _backend(backend, java_home)
    cluster = impl.start(topology, work_dir, f"c-{secrets.token_hex(4)}", detached=True)
    state.clusters.append(cluster.to_dict())
    state.save()
    return cluster, False


def hand_over(work_dir: Path) -> int:
    """The end of a successful `harness up`: what it started detached (the endpoint, a
    cluster's daemons or containers) now belongs to the endpoint process (harness.procs),
    which stops it when it stops; until then, a killed `up` leaves it to the reaper."""
    record = RuntimeState.load(work_dir).endpoint
    if record is None or record.pid is None or not record.alive:
        return 0
    start = record.pid_start if record.pid_start is not None else procs.start_time(record.pid)
    return procs.hand_over(procs.Identity(record.pid, start, procs.cmdline(record.pid)))


def check_cluster(source: str, backend: str, memory_budget_mb: int | None,
                  java_home: Path | None) -> None:
    """Everything that can be checked before anything starts: topology, backend, and what
    the backend needs (Java; a Docker engine and the node image)."""
    build_topology(load_groups(source), memory_budget_mb)
    _backend(backend, java_home).preflight()


def running_cluster(work_dir: Path) -> RunningCluster:
    """The cluster `harness up --cluster` started; ClusterError with the remedy if none."""
    for data in RuntimeState.load(work_dir).clusters:
        cluster = RunningCluster.from_dict(data)
        if _backend(cluster.backend).node_alive(cluster.nodes[0]):
            return cluster
    raise ClusterError("no cluster is running", "start one with harness up --cluster small")


def kill_node(work_dir: Path, node: str, notice_s: float = 0.0) -> RunningCluster:
    cluster = running_cluster(work_dir)
    _backend(cluster.backend).kill_node(cluster, node, notice_s)
    state = RuntimeState.load(work_dir)
    state.clusters = [cluster.to_dict() if c["id"] == cluster.id else c
                      for c in state.clusters]
    state.save()
    return cluster


def reclaim_jobflow_node(work_dir: Path, cluster_id: str, node: str,
                         notice_s: float) -> dict[str, Any]:
    """A spot reclaim of a job flow's node, done by the endpoint that runs the job flow
    (harness.emr.admin); the EMR API then shows its instances TERMINATED."""
    from harness.emr.admin import reclaim

    record = RuntimeState.load(work_dir).endpoint
    if record is None or not record.alive:
        raise ClusterError("no endpoint started by harness up is running",
                           "start one with harness up, then run the job flow on it")
    return reclaim(record.url, cluster_id, node, notice_s)


def _backend(name: str, java_home: Path | None = None):  # noqa: ANN202
    if name not in BACKENDS:
        raise HarnessError(f"unknown cluster backend {name!r}",
                           f"use one of: {', '.join(BACKENDS)}")
    return BACKENDS[name](java_home=java_home)


def _jobflow_clusters(work_dir: Path) -> list[RunningCluster]:
    """Job-flow clusters the endpoint's EMR control plane recorded as running."""
    return [RunningCluster.from_dict(raw) for raw in jobflow_records(work_dir).values()]


def _cluster_status(cluster: RunningCluster, notes: list[str]) -> dict[str, Any]:
    impl = _backend(cluster.backend)
    nodes = []
    for node in cluster.nodes:
        item = node.to_dict()
        if node.state != "LOST":  # a killed node stays LOST; others are what the backend says
            item["state"] = "RUNNING" if impl.node_alive(node) else "TERMINATED"
        nodes.append(item)
    return {"id": cluster.id, "backend": cluster.backend, "master_url": cluster.master_url,
            "master_ui_url": cluster.master_ui_url, "startup_s": cluster.startup_s,
            "notes": notes, "nodes": nodes, "mapping": list(cluster.mapping)}


def _stop_cluster_nodes(cluster: RunningCluster) -> None:
    """Stop the nodes from any process (by pid, or by the containers' label)."""
    _backend(cluster.backend).stop(cluster)


def status(work_dir: Path) -> dict[str, Any]:
    state = RuntimeState.load(work_dir)
    data: dict[str, Any] = {"endpoint": None, "clusters": []}
    for raw in state.clusters:
        cluster = RunningCluster.from_dict(raw)
        data["clusters"].append(_cluster_status(cluster, cluster.notes))
    for cluster in _jobflow_clusters(work_dir):
        data["clusters"].append(_cluster_status(cluster, ["EMR job flow", *cluster.notes]))
    if state.endpoint is not None:
        record = state.endpoint
        healthy = record.alive and Endpoint(url=record.url, region=record.region).healthy()
        data["endpoint"] = {"url": record.url, "provider": record.provider, "pid": record.pid,
                            "region": record.region, "state": "running" if healthy else
                            ("unhealthy" if record.alive else "dead"), "log": record.log,
                            "emr_backend": record.emr_backend}
    return data


@dataclass
class DownResult:
    """What `down` stopped, and what it could not stop (each with its error)."""

    stopped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def attempt(self, what: str, stop: Callable[[], object]) -> bool:
        try:
            stop()
        except Exception as exc:  # noqa: BLE001 - reported, and the rest is still stopped
            detail = exc.one_line() if isinstance(exc, HarnessError) else \
                f"{type(exc).__name__}: {exc}"
            self.failed.append(f"{what}: {detail}")
            return False
        self.stopped.append(what)
        return True


def down(work_dir: Path, force: bool = False) -> DownResult:
    """Stop everything `up` recorded, carrying on past a failure: returns what was stopped
    and what failed (whose records stay in the state file, for another try). Raises,
    stopping nothing, if a job flow is termination protected, unless `force` (which
    removes the protection; harness.emr.controls)."""
    state = RuntimeState.load(work_dir)
    result = DownResult()
    if state.endpoint is not None and state.endpoint.alive:
        from harness.emr.controls import release_protection

        endpoint = Endpoint(url=state.endpoint.url, region=state.endpoint.region)
        if endpoint.healthy():
            released = release_protection(endpoint.client("emr"), force)
            if released:
                result.stopped.append(f"termination protection of {', '.join(released)}")
    left = []
    for raw in state.clusters:
        cluster = RunningCluster.from_dict(raw)
        if not result.attempt(f"cluster {cluster.id} ({len(cluster.nodes)} nodes)",
                              lambda c=cluster: _stop_cluster_nodes(c)):
            left.append(raw)
    state.clusters = left
    record = state.endpoint
    if record is not None:
        # its EMR control plane terminates its job flows
        stopped = result.attempt(f"endpoint {record.url} (pid {record.pid})",
                                 lambda: _stop_endpoint(record))
        # a control plane killed hard leaves its clusters: stop them too
        jobflows_left = False
        for cluster in _jobflow_clusters(work_dir):
            jobflows_left |= not result.attempt(f"job flow {cluster.id}",
                                                lambda c=cluster: _stop_cluster_nodes(c))
        if not jobflows_left:
            (work_dir / JOBFLOWS).unlink(missing_ok=True)
        if stopped:
            state.endpoint = None
    if state.empty:
        state.clear()
    else:
        state.save()
    return result


def _stop_endpoint(record: EndpointRecord) -> None:
    if record.identity is not None:  # only if the pid is still that endpoint
        procs.stop_identified([record.identity], grace_s=60.0)  # job flows stop first
    if not port_free("127.0.0.1", record.port):
        raise HarnessError(f"port {record.port} is still in use after stopping the endpoint",
                           "find the process with `ss -ltnp` and stop it")
