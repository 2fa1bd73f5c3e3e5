"""The cluster contract: one interface, several backends (local processes, containers).

A backend starts a topology and returns a RunningCluster (master URL, nodes with their
processes or containers), stops it, kills a node the way a spot reclaim does, tells
whether a node still runs, and runs a command on a node (bootstrap actions, EMR steps)."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from harness import logs
from harness.cluster.topology import NodeSpec, Topology
from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.runtimes import InstalledRuntime

# A worker whose heartbeats stop is declared lost after this many seconds (Spark's
# default: 60). Shorter finds a killed node sooner, but a driver or a CPU-capped container
# beside a busy master answers late: at 10 s the master dropped live workers every 30 s.
# Executors of a killed node are noticed at once either way, by their dropped connections.
WORKER_TIMEOUT_S = 30
# Workers decommission on SIGPWR (Spark's default signal), as EMR's nodes do on a resize
# or a spot interruption notice: no new executors, their executors' blocks handed over.
WORKER_DECOMMISSION_OPTS = "-Dspark.decommission.enabled=true"


class ClusterError(HarnessError):
    """The cluster cannot start, be reached or be changed as asked."""


@dataclass
class Node:
    """A running node: its spec, where its UI is, and what to signal to stop it (a process
    group's pid, or a container's id)."""

    spec: NodeSpec
    ui_url: str
    pid: int | None = None
    log: str | None = None
    state: str = "STARTING"  # STARTING, RUNNING, LOST (killed), TERMINATED
    port: int | None = None
    container: str | None = None
    # the EMR (EC2) instance ids this node rehearses, for a job flow's node
    emr_instances: list[str] = field(default_factory=list)
    # the process's start time (harness.procs.Identity): with `pid`, which process is ours
    pid_start: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.spec.to_dict(), "ui_url": self.ui_url, "pid": self.pid,
                "log": self.log, "state": self.state, "port": self.port,
                "container": self.container, "emr_instances": list(self.emr_instances),
                "pid_start": self.pid_start}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Node:
        spec = NodeSpec.from_dict(data)
        return cls(spec, data["ui_url"], data.get("pid"), data.get("log"),
                   data.get("state", "RUNNING"), data.get("port"), data.get("container"),
                   list(data.get("emr_instances") or []), data.get("pid_start"))


@dataclass
class RunningCluster:
    """A started cluster: where its master is, its nodes, and what its backend needs to stop
    it (also what `harness up` records in the state file)."""

    id: str
    backend: str
    master_url: str
    master_ui_url: str
    work_dir: str
    nodes: list[Node]
    executor_memory_mb: int
    started_at: float = field(default_factory=time.time)
    startup_s: float | None = None
    notes: list[str] = field(default_factory=list)
    # what the backend needs to find everything it started (the docker backend's label)
    handle: str | None = None
    # Spark settings a driver outside the cluster needs (e.g. its address on a bridge network)
    driver_conf: dict[str, str] = field(default_factory=dict)
    # how the EMR instances are rehearsed (Topology.mapping_lines)
    mapping: list[str] = field(default_factory=list)
    # the Spark every node runs (daemons, executors, drivers): a release label's runtime,
    # or None for the harness's own pyspark; `runtime` is its label
    spark_home: str | None = None
    runtime: str | None = None

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.spec.name == name:
                return node
        raise ClusterError(f"cluster {self.id} has no node {name!r}",
                           f"nodes are: {', '.join(n.spec.name for n in self.nodes)}")

    @property
    def workers(self) -> list[Node]:
        """The nodes running a Spark worker (on a single-node cluster: beside the master)."""
        return [n for n in self.nodes if n.spec.daemon == "worker"]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["nodes"] = [n.to_dict() for n in self.nodes]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunningCluster:
        data = dict(data)
        data["nodes"] = [Node.from_dict(n) for n in data["nodes"]]
        return cls(**data)

    def spark_conf(self) -> dict[str, str]:
        """What a driver needs to use this cluster as EMR's would be used."""
        return {
            "spark.executor.memory": f"{self.executor_memory_mb}m",
            "spark.executor.cores": str(min(n.spec.cores for n in self.workers)),
            # lost executors are replaced and their tasks re-run elsewhere
            "spark.task.maxFailures": "8",
            "spark.stage.maxConsecutiveAttempts": "8",
            **self.driver_conf,
        }

    def master_status(self, timeout: float = 2.0) -> dict[str, Any]:
        """The Spark master's own JSON view (workers, their state, cores, memory)."""
        with urllib.request.urlopen(f"{self.master_ui_url}/json/", timeout=timeout) as resp:
            return json.loads(resp.read())

    def workers_registered(self) -> bool:
        """True when the master lists every worker node ALIVE (the readiness condition)."""
        try:
            status = self.master_status(timeout=1.0)
        except (OSError, ValueError):  # not listening yet, or a half-started UI's empty page
            return False
        alive = {w.get("webuiaddress") for w in status.get("workers", [])
                 if w.get("state") == "ALIVE"}
        return all(n.ui_url in alive for n in self.workers)


def wait_for(ready: Callable[[], bool], nodes: list[Node], what: str, timeout_s: float,
             exited: Callable[[Node], str | None], check_every_s: float = 0.0) -> None:
    """Poll ready() until it holds. Every check_every_s, exited(node) says whether a node
    has gone (a description with its last log lines) or runs (None): a node that exits
    while we wait, or the timeout, is a ClusterError pointing to the logs."""
    deadline = time.monotonic() + timeout_s
    checked = 0.0
    while time.monotonic() < deadline:
        if ready():
            return
        if time.monotonic() - checked >= check_every_s:
            checked = time.monotonic()
            for node in nodes:
                gone = exited(node)
                if gone is not None:
                    raise ClusterError(f"{gone} exited while waiting for {what}",
                                       f"see its log {node.log}")
        time.sleep(0.1)
    raise ClusterError(f"timed out after {timeout_s:.0f} s waiting for {what}",
                       f"see the node logs under {Path(nodes[0].log or '.').parents[2]}")


# The master binds exactly the ports it is given (Spark would otherwise try the next ones
# up, and a master on another port than its URL says is one no worker finds); a port taken
# meanwhile makes it exit, and it is started again on fresh ports. Its REST submission
# server (on by default from Spark 4) is off: its fixed port, 6066, is another cluster's on
# a shared host, and spark-submit falls back to the master's RPC gateway without it.
MASTER_PORT_OPTS = "-Dspark.port.maxRetries=0 -Dspark.master.rest.enabled=false"
MASTER_START_ATTEMPTS = 3
_PORT_CONFLICT = ("BindException", "Address already in use", "could not bind")


def is_port_conflict(log: str) -> bool:
    """Whether a daemon's log says it could not bind its port."""
    return any(sign in log for sign in _PORT_CONFLICT)


def start_master(launch: Callable[[int, int], Callable[[], str | None]],
                 listening: Callable[[int, int], bool], timeout_s: float,
                 choose: Callable[[], int], attempts: int = MASTER_START_ATTEMPTS,
                 ) -> tuple[int, int]:
    """Start a Spark master on an RPC and a UI port chosen now (after a job flow's bootstrap
    actions, not before: another process may take a port chosen minutes earlier) and wait
    until it listens; returns (port, ui_port). `launch(port, ui)` starts it and returns a
    check saying whether it exited (its log since the start) or runs (None). A master that
    exits on a port conflict is started again on fresh ports, at most `attempts` times; any
    other exit, or the timeout, is a ClusterError."""
    for attempt in range(1, attempts + 1):
        port, ui = choose(), choose()
        exited = launch(port, ui)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if listening(port, ui):
                return port, ui
            log = exited()
            if log is not None:
                if is_port_conflict(log) and attempt < attempts:
                    break  # taken since it was chosen: fresh ports
                raise ClusterError(f"the Spark master exited while starting "
                                   f"({logs.error_excerpt(log) or 'no log'})",
                                   "see the master node's log")
            time.sleep(0.1)
        else:
            raise ClusterError(f"timed out after {timeout_s:.0f} s waiting for the master to "
                               "listen", "see the master node's log")
    raise AssertionError("unreachable")  # the last attempt returns or raises


def master_answers(cluster_url: Callable[[int], str], ui_host: str = "127.0.0.1",
                   ) -> Callable[[int, int], bool]:
    """The readiness check of a master started on (port, ui): its UI answers, it is the
    master of `cluster_url(port)` (not another process that took the UI port), and ALIVE
    (its start finished: it takes workers)."""
    def check(port: int, ui: int) -> bool:
        try:
            with urllib.request.urlopen(f"http://{ui_host}:{ui}/json/", timeout=1.0) as resp:
                status = json.loads(resp.read())
        except (OSError, ValueError):
            return False
        return status.get("url") == cluster_url(port) and status.get("status") == "ALIVE"

    return check


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts connections on host:port (a daemon's readiness)."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def spot_reclaim_target(cluster: RunningCluster, node: str, notice_s: float) -> Node:
    """The node a kill-node takes away, after EC2's notice period (shortened to notice_s):
    a ClusterError for the master or for a node already lost."""
    target = cluster.node(node)
    if target.spec.role == "MASTER":
        raise ClusterError("the master node cannot be killed like a spot instance",
                           "kill a CORE or TASK node (e.g. task-1)")
    if target.state == "LOST":
        raise ClusterError(f"{node} is already lost", "kill another node")
    if notice_s > 0:
        time.sleep(notice_s)  # the two-minute warning, shortened
    return target


def worker_executors(node: Node, timeout: float = 2.0) -> list[dict[str, Any]] | None:
    """The executors running on a worker, from its own JSON view (None: it does not answer)."""
    try:
        with urllib.request.urlopen(f"{node.ui_url}/json/", timeout=timeout) as resp:
            return list(json.loads(resp.read()).get("executors", []))
    except (OSError, ValueError):
        return None


def wait_decommissioned(nodes: list[Node], timeout_s: float) -> None:
    """After SIGPWR: wait (at most timeout_s) until the workers run no executor, i.e. their
    executors finished their tasks and handed over their blocks (Spark's decommissioning)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(not worker_executors(n, timeout=1.0) for n in nodes):
            return
        time.sleep(0.2)


def registered(cluster: RunningCluster, nodes: list[Node]) -> Callable[[], bool]:
    """The condition: the master lists these worker nodes ALIVE."""
    def check() -> bool:
        try:
            status = cluster.master_status(timeout=1.0)
        except (OSError, ValueError):
            return False
        alive = {w.get("webuiaddress") for w in status.get("workers", [])
                 if w.get("state") == "ALIVE"}
        return all(n.ui_url in alive for n in nodes)

    return check


def joined(cluster: RunningCluster, nodes: list[Node]) -> list[Node]:
    """Workers a resize started, registered with the master: RUNNING nodes of the cluster."""
    for node in nodes:
        node.state = "RUNNING"
    cluster.nodes.extend(nodes)
    return nodes


def started(cluster: RunningCluster, since: float) -> RunningCluster:
    """Mark every node RUNNING and record the start-up time (since: a perf_counter)."""
    for node in cluster.nodes:
        node.state = "RUNNING"
    cluster.startup_s = round(time.perf_counter() - since, 2)
    return cluster


class NodeProcess(Protocol):
    """A command running on a node (a bootstrap action, a step's driver)."""

    def wait(self, timeout: float | None = None) -> int: ...

    def signal(self, sig: int, group: bool = True) -> None: ...

    def stop(self, grace_s: float = 5.0) -> None: ...


# Called by a backend's start() once the nodes exist and before their Spark daemons start
# (a job flow's bootstrap actions run there); returns extra environment variables for each
# node's daemon, by node name. An exception it raises ends the start, nodes stopped.
NodeSetup = Callable[[RunningCluster], dict[str, dict[str, str]]]
# The same for the workers a resize adds (add_workers): called with those nodes (not yet in
# cluster.nodes) once they exist and before their daemons start; an exception it raises
# fails the resize, those nodes stopped.
AddedSetup = Callable[[list[Node]], dict[str, dict[str, str]]]


class WorkerResizes:
    """add_workers and remove_workers of the ClusterBackend contract, once for every backend:
    a backend says how it makes a node, starts a node's worker daemon, waits, decommissions
    a worker (Spark's SIGPWR) and stops nodes."""

    def _new_node(self, cluster: RunningCluster, spec: NodeSpec) -> Node:
        raise NotImplementedError

    def _start_worker(self, cluster: RunningCluster, node: Node, env: dict[str, str],
                      after_setup: bool) -> None:
        raise NotImplementedError

    def _wait(self, ready: Callable[[], bool], nodes: list[Node], what: str) -> None:
        raise NotImplementedError

    def _decommission(self, node: Node) -> None:
        raise NotImplementedError

    def _stop_nodes(self, nodes: list[Node]) -> None:
        raise NotImplementedError

    def add_workers(self, cluster: RunningCluster, specs: list[NodeSpec],
                    setup: AddedSetup | None = None) -> list[Node]:
        """Start workers on the running cluster (a resize): the nodes first, then `setup`
        on them (a job flow's node environments and bootstrap actions, as at start), then
        their daemons, whose executors running applications get as soon as they register.
        A failure stops them."""
        nodes: list[Node] = []
        try:
            for spec in specs:
                nodes.append(self._new_node(cluster, spec))
            daemon_env = setup(nodes) if setup is not None else {}
            for node in nodes:
                self._start_worker(cluster, node, daemon_env.get(node.spec.name, {}),
                                   setup is not None)
            self._wait(registered(cluster, nodes), nodes,
                       f"{', '.join(s.name for s in specs)} to register with the master")
        except BaseException:
            self._stop_nodes(nodes)
            raise
        return joined(cluster, nodes)

    def remove_workers(self, cluster: RunningCluster, names: list[str], graceful: bool = True,
                       timeout_s: float = 60.0, stop: bool = True) -> None:
        """Take workers away: gracefully, Spark's decommissioning first (SIGPWR: no new
        executors, blocks handed over; at most timeout_s for their executors to finish),
        then stop them (unless `stop` is False: a spot notice leaves that to kill_node)."""
        nodes = [cluster.node(name) for name in names]
        if graceful:
            for node in nodes:
                self._decommission(node)
            wait_decommissioned(nodes, timeout_s)
        if stop:
            self._stop_nodes(nodes)


class ClusterBackend(Protocol):
    """What every backend implements; `alias` is what --backend names."""

    alias: str
    # True when nodes carry the S3A jars on Spark's classpath (as EMR's do), so drivers
    # running on them need no spark.jars
    ships_s3a_jars: bool

    def preflight(self) -> None:
        """Check what the backend needs before anything starts (ClusterError if missing)."""
        ...

    def start(self, topology: Topology, work_dir: Path, cluster_id: str,
              detached: bool = False, runtime: InstalledRuntime | None = None,
              setup: NodeSetup | None = None) -> RunningCluster:
        """Start the topology's nodes running `runtime`'s Spark (None: the harness's own
        pyspark) and wait until every worker registered; `setup` runs on the nodes before
        their daemons start (NodeSetup)."""
        ...

    def stop(self, cluster: RunningCluster) -> None: ...

    def kill_node(self, cluster: RunningCluster, node: str, notice_s: float = 0.0) -> None: ...

    def node_alive(self, node: Node) -> bool: ...

    def add_workers(self, cluster: RunningCluster, specs: list[NodeSpec],
                    setup: AddedSetup | None = None) -> list[Node]:
        """Start workers on the running cluster (a resize); returns them once registered.
        `setup` runs on them before their daemons start (AddedSetup)."""
        ...

    def remove_workers(self, cluster: RunningCluster, names: list[str], graceful: bool = True,
                       timeout_s: float = 60.0, stop: bool = True) -> None:
        """Take workers away: gracefully, Spark's decommissioning first (SIGPWR; waits at
        most timeout_s for their executors to finish), then stop them (unless `stop` is
        False: a spot notice leaves the kill to kill_node)."""
        ...

    def spawn(self, cluster: RunningCluster, node: Node, argv: list[str], env: dict[str, str],
              cwd: Path, stdout: IO[bytes], stderr: IO[bytes]) -> NodeProcess:
        """Run argv on the node. `env` holds the node's variables (an empty value unsets
        one); the backend adds what its nodes need to find spark-submit, python3 and aws."""
        ...
