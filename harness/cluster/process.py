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
from typing import IO

from harness import logs
from harness.cluster.base import (
    WORKER_DECOMMISSION_OPTS,
    WORKER_TIMEOUT_S,
    Node,
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
from harness.procs import OwnedProcess, pid_alive, stop_group
from harness.spark import FAST_JVM_OPTS, java_executable, spark_home

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
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

    def _env(self, node_dir: Path) -> dict[str, str]:
        java = java_executable(self.java_home)
        return {
            **os.environ,
            "JAVA_HOME": str(java.resolve().parent.parent),
            "SPARK_HOME": str(spark_home()),
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

    def _launch(self, node: NodeSpec, args: list[str], base: Path,
                detached: bool) -> tuple[OwnedProcess, Path]:
        node_dir = base / node.name
        for sub in ("local", "work", "logs"):
            (node_dir / sub).mkdir(parents=True, exist_ok=True)
        log = node_dir / "logs" / f"{node.name}.log"
        cmd = [str(spark_home() / "bin" / "spark-class"), *args]
        proc = OwnedProcess(cmd, env=self._env(node_dir), cwd=node_dir, log=log,
                            detached=detached)
        self._procs[node.name] = proc
        return proc, log

    def start(self, topology: Topology, work_dir: Path, cluster_id: str,
              detached: bool = False) -> RunningCluster:
        since = time.perf_counter()
        base = (work_dir / "clusters" / cluster_id).resolve()
        base.mkdir(parents=True, exist_ok=True)
        master_port, master_ui = free_port(), free_port()
        master_spec = topology.master
        nodes: list[Node] = []
        try:
            proc, log = self._launch(master_spec, [
                MASTER_CLASS, "--host", "127.0.0.1", "--port", str(master_port),
                "--webui-port", str(master_ui)], base, detached)
            nodes.append(Node(master_spec, f"http://127.0.0.1:{master_ui}", proc.pid,
                              str(log), port=master_port))
            self._wait(lambda: port_open(master_port), nodes, "the master to listen")
            master_url = f"spark://127.0.0.1:{master_port}"
            for spec in topology.workers:
                nodes.append(self._worker(spec, base, master_url, detached))
            cluster = RunningCluster(
                id=cluster_id, backend=self.alias, master_url=master_url,
                master_ui_url=f"http://127.0.0.1:{master_ui}", work_dir=str(base),
                nodes=nodes, executor_memory_mb=topology.executor_memory_mb,
                mapping=topology.mapping_lines(),
                notes=list(topology.notes),
            )
            self._wait(cluster.workers_registered, nodes,
                       "every worker to register with the master")
        except BaseException:
            self._stop_nodes(nodes)
            raise
        return started(cluster, since)

    def _worker(self, spec: NodeSpec, base: Path, master_url: str, detached: bool) -> Node:
        ui = free_port()
        proc, log = self._launch(spec, [
            WORKER_CLASS, "--host", "127.0.0.1", "--cores", str(spec.cores),
            "--memory", f"{spec.memory_mb}m", "--webui-port", str(ui),
            "--work-dir", str(base / spec.name / "work"), master_url], base, detached)
        return Node(spec, f"http://127.0.0.1:{ui}", proc.pid, str(log))

    def add_workers(self, cluster: RunningCluster, specs: list[NodeSpec]) -> list[Node]:
        """Start workers on the running cluster; the master gives running applications
        executors on them as soon as they register."""
        base = Path(cluster.work_dir)
        nodes: list[Node] = []
        try:
            for spec in specs:
                nodes.append(self._worker(spec, base, cluster.master_url, detached=False))
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
                if node.pid is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(node.pid, signal.SIGPWR)  # the worker's JVM (spark-class execs)
            wait_decommissioned(nodes, timeout_s)
        if stop:
            self._stop_nodes(nodes)

    def _wait(self, ready, nodes: list[Node], what: str) -> None:  # noqa: ANN001
        def exited(node: Node) -> str | None:
            if node.pid is None or pid_alive(node.pid):
                return None
            return f"{node.spec.name} ({logs.tail(Path(node.log or ''))})"

        wait_for(ready, nodes, what, self.ready_timeout_s, exited)

    def _stop_nodes(self, nodes: list[Node]) -> None:
        # workers first (with their executors: same process group), then the master
        for node in sorted(nodes, key=lambda n: n.spec.daemon == "master"):
            proc = self._procs.pop(node.spec.name, None)
            if proc is not None:
                proc.stop(grace_s=5.0)
            elif node.pid is not None and pid_alive(node.pid):
                stop_group(node.pid, grace_s=5.0)
            node.state = "TERMINATED"

    def stop(self, cluster: RunningCluster) -> None:
        self._stop_nodes(cluster.nodes)

    def kill_node(self, cluster: RunningCluster, node: str, notice_s: float = 0.0) -> None:
        """Take a worker away abruptly, as EC2 reclaims a spot instance: after the notice
        period, SIGKILL the worker and its executors (no graceful shutdown)."""
        target = spot_reclaim_target(cluster, node, notice_s)
        if target.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(target.pid, signal.SIGKILL)
            proc = self._procs.pop(node, None)
            if proc is not None:
                proc.proc.wait()
        target.state = "LOST"

    def node_alive(self, node: Node) -> bool:
        return node.pid is not None and pid_alive(node.pid)

    def spawn(self, cluster: RunningCluster, node: Node, argv: list[str], env: dict[str, str],
              cwd: Path, stdout: IO[bytes], stderr: IO[bytes]) -> OwnedProcess:
        """Run argv on this machine, with this interpreter's bin directory (spark-submit,
        python3, aws) first on PATH, as the node's own commands would be."""
        merged = dict(os.environ)
        merged.update({
            "PATH": f"{Path(sys.executable).parent}:{merged.get('PATH', '/usr/bin:/bin')}",
            "PYSPARK_PYTHON": sys.executable,
            "SPARK_LOCAL_IP": "127.0.0.1",
        })
        if self.java_home:
            merged["JAVA_HOME"] = str(self.java_home)
        for key, value in env.items():
            if value == "":
                merged.pop(key, None)
            else:
                merged[key] = value
        return OwnedProcess(argv, env=merged, cwd=cwd, stdout=stdout, stderr=stderr)
