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
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from harness import logs
from harness.cluster.base import (
    MASTER_PORT_OPTS,
    WORKER_DECOMMISSION_OPTS,
    WORKER_TIMEOUT_S,
    Node,
    NodeSetup,
    RunningCluster,
    WorkerResizes,
    master_answers,
    spot_reclaim_target,
    start_master,
    started,
    wait_for,
)
from harness.cluster.topology import NodeSpec, Topology
from harness.jvm import driver_opts
from harness.net import free_port
from harness.procs import NODE_NICENESS, Identity, OwnedProcess, pid_alive, stop_identified
from harness.spark import java_executable, spark_home

if TYPE_CHECKING:
    from harness.runtimes import InstalledRuntime

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
DAEMON_PACKAGE = "org.apache.spark.deploy."  # in a daemon's command line (identity fallback)
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


class ProcessBackend(WorkerResizes):
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
            # the class-data-sharing archive of this Spark where one was built (the daemons'
            # class path is the driver's: conf/ and jars/ of the same distribution)
            "SPARK_DAEMON_JAVA_OPTS": driver_opts(home, java),
            "SPARK_MASTER_OPTS": f"-Dspark.worker.timeout={WORKER_TIMEOUT_S} "
                                 f"-Dspark.deploy.retainedApplications=20 {MASTER_PORT_OPTS}",
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
                            detached=detached, niceness=NODE_NICENESS)
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
        nodes: list[Node] = []
        for spec in (topology.master, *topology.workers):
            for sub in ("local", "work", "logs"):
                (base / spec.name / sub).mkdir(parents=True, exist_ok=True)
            # ports are chosen when each daemon starts (after a job flow's bootstrap actions)
            nodes.append(Node(spec, "", log=str(base / spec.name / "logs" / f"{spec.name}.log")))
        cluster = RunningCluster(
            id=cluster_id, backend=self.alias, master_url="", master_ui_url="",
            work_dir=str(base), nodes=nodes, executor_memory_mb=topology.executor_memory_mb,
            mapping=topology.mapping_lines(),
            notes=list(topology.notes),
            spark_home=str(runtime.spark_home) if runtime is not None else None,
            runtime=runtime.label if runtime is not None else None,
        )
        try:
            # the nodes exist (their directories) before their daemons start: the job
            # flow's bootstrap actions run here, as on EMR
            daemon_env = setup(cluster) if setup is not None else {}
            self._master(cluster, base, detached, daemon_env.get(nodes[0].spec.name, {}), home)
            for node in cluster.workers:
                self._worker(node, base, cluster.master_url, detached,
                             daemon_env.get(node.spec.name, {}), home)
            self._wait(cluster.workers_registered, nodes,
                       "every worker to register with the master")
        except BaseException:
            self._stop_nodes(nodes)
            raise
        return started(cluster, since)

    def _master(self, cluster: RunningCluster, base: Path, detached: bool,
                env: dict[str, str], home: Path) -> None:
        """The master daemon on ports chosen now; started again on fresh ones if another
        process took one meanwhile (base.start_master)."""
        master = cluster.nodes[0]
        log = Path(master.log or "")

        def launch(port: int, ui: int) -> Callable[[], str | None]:
            self._procs.pop(master.spec.name, None)
            offset = log.stat().st_size if log.exists() else 0
            self._launch(master, [MASTER_CLASS, "--host", "127.0.0.1", "--port", str(port),
                                  "--webui-port", str(ui)], base, detached, env, home)

            def exited() -> str | None:
                if master.pid is not None and pid_alive(master.pid):
                    return None
                with log.open("rb") as fh:
                    fh.seek(offset)
                    return fh.read().decode(errors="replace")

            return exited

        port, ui = start_master(launch, master_answers(lambda p: f"spark://127.0.0.1:{p}"),
                                self.ready_timeout_s, free_port)
        master.port, master.ui_url = port, f"http://127.0.0.1:{ui}"
        cluster.master_url = f"spark://127.0.0.1:{port}"
        cluster.master_ui_url = master.ui_url

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

    def _new_node(self, cluster: RunningCluster, spec: NodeSpec) -> Node:
        """A resize's node: its directories (its worker's UI port comes when it starts)."""
        base = Path(cluster.work_dir)
        for sub in ("local", "work", "logs"):
            (base / spec.name / sub).mkdir(parents=True, exist_ok=True)
        return Node(spec, "", log=str(base / spec.name / "logs" / f"{spec.name}.log"))

    def _start_worker(self, cluster: RunningCluster, node: Node, env: dict[str, str],
                      after_setup: bool) -> None:
        home = Path(cluster.spark_home) if cluster.spark_home else spark_home()
        self._worker(node, Path(cluster.work_dir), cluster.master_url, False, env, home)

    def _decommission(self, node: Node) -> None:
        """SIGPWR to the worker's JVM (spark-class execs it): spark.decommission.enabled."""
        if node.pid is not None and _identity(node).running():
            with contextlib.suppress(ProcessLookupError):
                os.kill(node.pid, signal.SIGPWR)

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
                            stdout=stdout, stderr=stderr, niceness=NODE_NICENESS)




def _identity(node: Node) -> Identity:
    """The node's daemon as a process: its pid and start time (a record without the start
    time: a Spark daemon's command line), so a reused pid is never taken for it."""
    assert node.pid is not None
    return Identity(node.pid, node.pid_start, cmd_hint=DAEMON_PACKAGE)
