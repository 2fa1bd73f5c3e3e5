"""The process backend (the default): pyspark's own Spark master and workers as local
JVM processes on 127.0.0.1, one per EMR node, each with its own work and log directory.

The master starts first; once its RPC port answers, the workers start in parallel (a
worker that finds no master backs off for 5-15 s, which would dominate a cold start).
Readiness is the master's JSON status listing every worker ALIVE.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING

from harness import logs
from harness.cluster.base import (
    WORKER_DECOMMISSION_OPTS,
    WORKER_TIMEOUT_S,
    AddedSetup,
    Node,
    NodeSetup,
    RunningCluster,
    joined,
    port_open,
    registered,
    spot_reclaim_target,
    started,
    wait_decommissioned,
    wait_for,
)
from harness.cluster.topology import NodeSpec, Topology
from harness.net import free_port
from harness.procs import Identity, OwnedProcess, stop_identified
from harness.spark import FAST_JVM_OPTS, java_executable, spark_home

if TYPE_CHECKING:
    from harness.runtimes import InstalledRuntime

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
DAEMON_PACKAGE = "org.apache.spark.deploy."  # in a daemon's command line (identity fallback)
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


class ProcessBackend:
    """Every node a Spark daemon in its own process group on this machine."""

    alias = "process"
    ships_s3a_jars = False  # drivers bring them (spark.jars); workers fetch them from there

    def __init__(self, java_home: Path | None = None, daemon_memory: str = "256m",
                 ready_timeout_s: float = 90.0) -> None:
        self.java_home = java_home
        self.daemon_memory = daemon_memory
        self.ready_timeout_s = ready_timeout_s
        self._procs: dict[str, OwnedProcess] = {}

    def preflight(self) -> None:
        java_executable(self.java_home)

    def _env(self, node_dir: Path, home: Path) -> dict[str, str]:
        java = java_executable(self.java_home)
        return {
            **os.environ,
            "JAVA_HOME": str(java.resolve().parent.parent),
            "SPARK_HOME": str(home),
            "SPARK_DAEMON_MEMORY": self.daemon_memory,
            "SPARK_DAEMON_JAVA_OPTS": FAST_JVM_OPTS,
            "SPARK_MASTER_OPTS": f"-Dspark.worker.timeout={WORKER_TIMEOUT_S} "
                                 "-Dspark.deploy.retainedApplications=20",
            "SPARK_WORKER_OPTS": WORKER_DECOMMISSION_OPTS,  # SIGPWR decommissions a worker
            "SPARK_LOCAL_DIRS": str(node_dir / "local"),
            "SPARK_WORKER_DIR": str(node_dir / "work"),
            "SPARK_LOG_DIR": str(node_dir / "logs"),
            "SPARK_PID_DIR": str(node_dir),
            "SPARK_NO_DAEMONIZE": "1",
            "SPARK_LOCAL_IP": "127.0.0.1",  # executors and block managers on loopback only
        }

    def _launch(self, node: Node, args: list[str], base: Path, detached: bool,
                env: dict[str, str], home: Path) -> None:
        node_dir = base / node.spec.name
        cmd = [str(home / "bin" / "spark-class"), *args]
        env = dict(env)
        runner = env.pop("HARNESS_NODE_RUNNER", None)  # the node's own view of the machine
        if runner:
            cmd.insert(0, runner)
        proc = OwnedProcess(cmd, env={**self._env(node_dir, home), **env}, cwd=node_dir,
                            log=Path(node.log or node_dir / "logs" / "daemon.log"),
                            detached=detached)
        self._procs[node.spec.name] = proc
        node.pid, node.pid_start = proc.pid, proc.identity.start

    def start(self, topology: Topology, work_dir: Path, cluster_id: str,
              detached: bool = False, runtime: InstalledRuntime | None = None,
              setup: NodeSetup | None = None) -> RunningCluster:
        since = time.perf_counter()
        # a release label's Spark, or the harness's own pyspark
        home = runtime.spark_home if runtime is not None else spark_home()
        base = (work_dir / "clusters" / cluster_id).resolve()
        base.mkdir(parents=True, exist_ok=True)
        master_port, master_ui = free_port(), free_port()
        master_url = f"spark://127.0.0.1:{master_port}"
        nodes: list[Node] = []
        for spec in (topology.master, *topology.workers):
            for sub in ("local", "work", "logs"):
                (base / spec.name / sub).mkdir(parents=True, exist_ok=True)
            ui = master_ui if spec.role == "MASTER" else free_port()
            nodes.append(Node(spec, f"http://127.0.0.1:{ui}",
                              log=str(base / spec.name / "logs" / f"{spec.name}.log"),
                              port=master_port if spec.role == "MASTER" else None))
        cluster = RunningCluster(
            id=cluster_id, backend=self.alias, master_url=master_url,
            master_ui_url=f"http://127.0.0.1:{master_ui}", work_dir=str(base),
            nodes=nodes, executor_memory_mb=topology.executor_memory_mb,
            mapping=topology.mapping_lines(),
            notes=list(topology.notes),
            spark_home=str(runtime.spark_home) if runtime is not None else None,
            runtime=runtime.label if runtime is not None else None,
        )
        try:
            # the nodes exist (their directories) before their daemons start: the job
            # flow's bootstrap actions run here, as on EMR
            daemon_env = setup(cluster) if setup is not None else {}
            master = nodes[0]
            self._launch(master, [
                MASTER_CLASS, "--host", "127.0.0.1", "--port", str(master_port),
                "--webui-port", str(master_ui)], base, detached,
                daemon_env.get(master.spec.name, {}), home)
            self._wait(lambda: port_open(master_port), nodes[:1], "the master to listen")
            for node in cluster.workers:
                self._worker(node, base, master_url, detached, daemon_env.get(node.spec.name, {}),
                             home)
            self._wait(cluster.workers_registered, nodes,
                       "every worker to register with the master")
        except BaseException:
            self._stop_nodes(nodes)
            raise
        return started(cluster, since)

    def _worker(self, node: Node, base: Path, master_url: str, detached: bool,
                env: dict[str, str], home: Path) -> None:
        spec = node.spec
        # its UI port chosen now, not when the node was made: a job flow's bootstrap actions
        # run in between, and another process may take a port chosen that long before
        # (the readiness check finds workers by their UI address)
        node.ui_url = f"http://127.0.0.1:{free_port()}"
        self._launch(node, [
            WORKER_CLASS, "--host", "127.0.0.1", "--cores", str(spec.cores),
            "--memory", f"{spec.memory_mb}m", "--webui-port", node.ui_url.rsplit(":", 1)[1],
            "--work-dir", str(base / spec.name / "work"), master_url], base, detached, env, home)

    def add_workers(self, cluster: RunningCluster, specs: list[NodeSpec],
                    setup: AddedSetup | None = None) -> list[Node]:
        """Start workers on the running cluster (its runtime's Spark); the master gives
        running applications executors on them as soon as they register. `setup` (a job
        flow's node environments and bootstrap actions) runs on them first, as at start."""
        base = Path(cluster.work_dir)
        home = Path(cluster.spark_home) if cluster.spark_home else spark_home()
        nodes: list[Node] = []
        try:
            for spec in specs:
                for sub in ("local", "work", "logs"):
                    (base / spec.name / sub).mkdir(parents=True, exist_ok=True)
                nodes.append(Node(spec, f"http://127.0.0.1:{free_port()}",
                                  log=str(base / spec.name / "logs" / f"{spec.name}.log")))
            daemon_env = setup(nodes) if setup is not None else {}
            for node in nodes:
                self._worker(node, base, cluster.master_url, False,
                             daemon_env.get(node.spec.name, {}), home)
            self._wait(registered(cluster, nodes), nodes,
                       f"{', '.join(s.name for s in specs)} to register with the master")
        except BaseException:
            self._stop_nodes(nodes)
            raise
        return joined(cluster, nodes)

    def remove_workers(self, cluster: RunningCluster, names: list[str], graceful: bool = True,
                       timeout_s: float = 60.0, stop: bool = True) -> None:
        """SIGPWR makes a worker decommission (spark.decommission.enabled); then stop it."""
        nodes = [cluster.node(name) for name in names]
        if graceful:
            for node in nodes:
                if node.pid is not None and _identity(node).running():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(node.pid, signal.SIGPWR)  # the worker's JVM (spark-class execs)
            wait_decommissioned(nodes, timeout_s)
        if stop:
            self._stop_nodes(nodes)

    def _wait(self, ready, nodes: list[Node], what: str) -> None:  # noqa: ANN001
        def exited(node: Node) -> str | None:
            if node.pid is None or _identity(node).running():
                return None
            return f"{node.spec.name} ({logs.tail(Path(node.log or ''))})"

        wait_for(ready, nodes, what, self.ready_timeout_s, exited)

    def _stop_nodes(self, nodes: list[Node]) -> None:
        # workers first (with their executors: same process group), then the master
        for node in sorted(nodes, key=lambda n: n.spec.daemon == "master"):
            proc = self._procs.pop(node.spec.name, None)
            if proc is not None:
                proc.stop(grace_s=5.0)
            elif node.pid is not None:  # another process's (harness up): only if still it
                stop_identified([_identity(node)], grace_s=5.0)
            node.state = "TERMINATED"

    def stop(self, cluster: RunningCluster) -> None:
        self._stop_nodes(cluster.nodes)

    def kill_node(self, cluster: RunningCluster, node: str, notice_s: float = 0.0) -> None:
        """Take a worker away abruptly, as EC2 reclaims a spot instance: after the notice
        period, SIGKILL the worker and its executors (no graceful shutdown)."""
        target = spot_reclaim_target(cluster, node, notice_s)
        if target.pid is not None:
            proc = self._procs.pop(node, None)
            if proc is not None:
                proc.signal(signal.SIGKILL)
                proc.stop()
            else:  # a node of another process (harness up): only if the pid is still it
                _identity(target).signal_group(signal.SIGKILL)
        target.state = "LOST"

    def node_alive(self, node: Node) -> bool:
        return node.pid is not None and _identity(node).running()

    def spawn(self, cluster: RunningCluster, node: Node, argv: list[str], env: dict[str, str],
              cwd: Path, stdout: IO[bytes], stderr: IO[bytes]) -> OwnedProcess:
        """Run argv on this machine as a command of the node. A job flow's node environment
        (harness.emr.nodeenv) gives PATH and a runner (HARNESS_NODE_RUNNER: EMR's paths,
        command not found as 127); without one, the cluster's Spark (spark-submit) and this
        interpreter's bin directory (python3, aws) come first on PATH."""
        merged = dict(os.environ)
        merged["SPARK_LOCAL_IP"] = "127.0.0.1"
        if "PATH" not in env:
            path = f"{Path(sys.executable).parent}:{merged.get('PATH', '/usr/bin:/bin')}"
            if cluster.spark_home:  # the release's spark-submit before the harness's own
                path = f"{Path(cluster.spark_home) / 'bin'}:{path}"
                merged["SPARK_HOME"] = cluster.spark_home
            merged.update({"PATH": path, "PYSPARK_PYTHON": sys.executable})
        if self.java_home:
            merged["JAVA_HOME"] = str(self.java_home)
        for key, value in env.items():
            if value == "":
                merged.pop(key, None)
            else:
                merged[key] = value
        runner = merged.pop("HARNESS_NODE_RUNNER", None)
        return OwnedProcess([runner, *argv] if runner else argv, env=merged, cwd=cwd,
                            stdout=stdout, stderr=stderr)


def _identity(node: Node) -> Identity:
    """The node's daemon as a process: its pid and start time (a record without the start
    time: a Spark daemon's command line), so a reused pid is never taken for it."""
    assert node.pid is not None
    return Identity(node.pid, node.pid_start, cmd_hint=DAEMON_PACKAGE)
