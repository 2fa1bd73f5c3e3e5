"""The docker backend: every EMR node is a container of the node image (docker/node), with
CPU and memory limits in its instance type's proportions, labelled so that everything a
cluster made is found, and removed, on every exit path.

Networking: host networking by default, so nodes, their executors and a driver on the host
meet on 127.0.0.1 exactly as with the process backend. `HARNESS_DOCKER_NETWORK=bridge`
gives each cluster its own bridge network for machines where containers may talk over
one: nodes find each other by name, the master's and workers' ports are published on
127.0.0.1, and a driver on the host is reached at the network's gateway address.

Files: the paths a job uses are bind-mounted at the same paths (the work directory, the
fixtures directory, the temp directory and HARNESS_DOCKER_MOUNTS), so a file:// URI means
the same on the driver and in the executors, and node logs land where the process backend
puts them. Containers run as the calling user, so what they write stays the user's.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from harness import logs, procs
from harness.catalog import instance_type
from harness.cluster import images
from harness.cluster.base import (
    MASTER_PORT_OPTS,
    MASTER_START_ATTEMPTS,
    WORKER_DECOMMISSION_OPTS,
    WORKER_TIMEOUT_S,
    ClusterError,
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
from harness.errors import UsageError
from harness.net import free_port
from harness.spark import FAST_JVM_OPTS

if TYPE_CHECKING:
    from harness.runtimes import InstalledRuntime

CLUSTER_LABEL = f"{images.LABEL}.cluster"
HANDLE_LABEL = f"{images.LABEL}.handle"
NODE_LABEL = f"{images.LABEL}.node"
ROLE_LABEL = f"{images.LABEL}.role"
SESSION_LABEL = f"{images.LABEL}.session"  # HARNESS_DOCKER_SESSION: whose run made it
OWNER_LABEL = f"{images.LABEL}.owner"  # the harness process that made it (harness.procs)
NETWORKS = ("host", "bridge")
DAEMON_MB = 384  # a Spark daemon with SPARK_DAEMON_MEMORY=256m, as resident memory
MASTER_MB = 3072  # the master daemon plus step drivers (spark-submit's 1 GiB heap, Python)
MASTER_MIN_CPUS = 2

_live: dict[str, DockerBackend] = {}  # handles of clusters to remove at interpreter exit
_live_lock = threading.Lock()


def container_memory_mb(spec: NodeSpec, beside: Sequence[NodeSpec] = ()) -> int:
    """A worker container's limit: Spark's share (the instance's memory, scaled) plus a
    quarter for the executor's off-heap memory (as YARN adds overhead on EMR) plus the
    worker daemon; the master's, plus that of the workers `beside` it (single node)."""
    if spec.daemon == "master":
        return MASTER_MB + sum(container_memory_mb(w) for w in beside)
    return spec.memory_mb * 5 // 4 + DAEMON_MB


def container_cpus(spec: NodeSpec, topology: Topology) -> float:
    """CPUs in the instance types' ratio: a worker gets its Spark cores; the master as many
    as its instance has relative to the smallest worker's, but at least 2, because it runs
    the steps' drivers beside the Spark master (a driver starving the master of CPU makes
    it miss the workers' heartbeats and drop them)."""
    host = os.cpu_count() or 1  # the engine refuses more CPUs than the machine has
    if spec.daemon != "master":
        return float(min(host, spec.cores))
    group = next(g for g in topology.groups if g.role == "MASTER")
    smallest = min(instance_type(w.instance_type).vcpu for w in topology.workers)
    cpus = max(MASTER_MIN_CPUS, round(group.instance_type.vcpu / smallest))
    cpus += sum(w.cores for w in topology.workers if w.on_node == spec.name != w.name)
    return float(min(host, cpus))


HOLD = ["sleep", "infinity"]  # a node container's main process: its daemon is started in it


def _pidfile(node: Node) -> str:
    """Where, in its container, the pid of the node's Spark daemon is written."""
    return f"/dev/shm/emr-daemon-{node.spec.name}.pid"


def _entry_role(spec: NodeSpec) -> str:
    """The node image's role argument: a master daemon, or a worker (the worker of a
    single-node cluster, on the master node, is a core worker)."""
    if spec.daemon == "master":
        return "master"
    return "task" if spec.role == "TASK" else "core"


def _outermost(paths: list[Path]) -> list[Path]:
    """The paths without those inside another one (Docker refuses two mounts on one path)."""
    resolved = sorted({p.resolve() for p in paths}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in resolved:
        if not any(path == k or k in path.parents for k in kept):
            kept.append(path)
    return kept


class ContainerProcess:
    """A command run in a node's container (`docker exec`), as its own process group, with
    its output copied to the given files; `stop()` signals the whole group."""

    def __init__(self, api: Any, container: str, argv: list[str], env: dict[str, str],
                 cwd: Path, stdout: IO[bytes], stderr: IO[bytes]) -> None:
        self.api, self.container = api, container
        self.pidfile = f"/dev/shm/emr-exec-{uuid.uuid4().hex}.pid"
        self.exec_id = api.exec_create(container, ["emr-node-exec", self.pidfile, *argv],
                                       environment=env, workdir=str(cwd))["Id"]
        frames = api.exec_start(self.exec_id, stream=True, demux=True)
        self._pump = threading.Thread(target=self._copy, args=(frames, stdout, stderr),
                                      daemon=True, name=f"exec-{self.exec_id[:8]}")
        self._pump.start()

    @staticmethod
    def _copy(frames: Any, stdout: IO[bytes], stderr: IO[bytes]) -> None:
        with contextlib.suppress(Exception):  # the container went away: output ends here
            for out, err in frames:
                if out:
                    stdout.write(out)
                    stdout.flush()
                if err:
                    stderr.write(err)
                    stderr.flush()

    def wait(self, timeout: float | None = None) -> int:
        self._pump.join(timeout)
        if self._pump.is_alive():
            raise subprocess.TimeoutExpired(f"exec in {self.container}", timeout or 0)
        try:
            code = self.api.exec_inspect(self.exec_id).get("ExitCode")
        except Exception:  # noqa: BLE001 - the container was removed meanwhile
            code = None
        finally:
            self.api.close()
        return 137 if code is None else int(code)

    def _signal(self, sig: str, group: bool = True) -> None:
        target = f'-- -"$(cat {self.pidfile})"' if group else f'"$(cat {self.pidfile})"'
        with contextlib.suppress(Exception):  # gone already
            # bash's kill: dash's (sh) refuses `--` ("Illegal number"), so no signal ever
            # reached a step's process group and stopping it waited for the container's end
            self.api.exec_start(self.api.exec_create(self.container, [
                "bash", "-c", f'[ -f {self.pidfile} ] && kill -{sig} {target}'])["Id"])

    def signal(self, sig: int, group: bool = True) -> None:
        """Send `sig` to the command's process group in the container, or to its leader."""
        self._signal(signal.Signals(sig).name.removeprefix("SIG"), group)

    def stop(self, grace_s: float = 5.0) -> None:
        self._signal("TERM")
        self._pump.join(grace_s)
        if self._pump.is_alive():
            self._signal("KILL")
            self._pump.join(5.0)


class DockerBackend(WorkerResizes):
    """Every node a container of the node image (module docstring)."""

    alias = "docker"
    ships_s3a_jars = True  # the node image has them in Spark's jars, as EMR nodes do

    def __init__(self, java_home: Path | None = None, network: str | None = None,
                 image: str | None = None, mounts: list[Path] | None = None,
                 ready_timeout_s: float = 120.0) -> None:
        from harness.config import Settings

        settings = Settings()
        self.network = network or settings.docker_network
        if self.network not in NETWORKS:
            raise UsageError(f"unknown docker network mode {self.network!r}",
                             "set HARNESS_DOCKER_NETWORK to host or bridge")
        # an image named by the caller or HARNESS_DOCKER_IMAGE serves every runtime
        self.fixed_image = image or settings.docker_image
        self.image = self.fixed_image or images.node_image()
        self.mounts = [settings.work_dir, settings.fixtures_dir, Path(tempfile.gettempdir()),
                       *settings.docker_mounts, *(mounts or [])]
        self.ready_timeout_s = ready_timeout_s
        self.session = settings.docker_session
        self._client: Any = None
        self._daemons: dict[str, str] = {}  # a node's daemon's exec id, by node name
        self._published: dict[str, list[int]] = {}  # bridge: a daemon's ports, by node

    def _labels(self, kind: str, cluster_id: str, handle: str) -> dict[str, str]:
        labels = {images.LABEL: kind, CLUSTER_LABEL: cluster_id, HANDLE_LABEL: handle,
                  OWNER_LABEL: procs.owner_key()}
        if self.session:
            labels[SESSION_LABEL] = self.session
        return labels

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = images.client()
        return self._client

    # -- start -----------------------------------------------------------------------------

    def preflight(self) -> None:
        """A Docker engine answers and the node image is there."""
        images.require_image(self.client, self.image)

    def start(self, topology: Topology, work_dir: Path, cluster_id: str,
              detached: bool = False, runtime: InstalledRuntime | None = None,
              setup: NodeSetup | None = None) -> RunningCluster:
        since = time.perf_counter()
        docker = self.client
        if runtime is not None and not self.fixed_image:  # the release's own node image
            self.image = images.node_image(runtime.runtime.spark)
        images.require_image(docker, self.image)
        base = (work_dir / "clusters" / cluster_id).resolve()
        base.mkdir(parents=True, exist_ok=True)
        handle = f"{cluster_id.lower()}-{secrets.token_hex(3)}"
        if not detached:  # `harness up` clusters outlive us; `harness down` removes them
            with _live_lock:
                _live[handle] = self
        # before any container exists: if we are killed, the next harness command removes it
        procs.register_resource(f"docker-{handle}", "harness.cluster.docker:remove_handle",
                                handle, detached=detached)
        nodes: list[Node] = []
        try:
            network, gateway = self._network(handle, cluster_id)
            mounts = self._mounts(base, work_dir)
            # the node containers first (their daemons later): the master's, then in
            # parallel the workers' own (each takes the engine a few hundred milliseconds);
            # a worker on the master node (single node) runs in the master's container
            nodes = [self._run(topology, topology.master, base, handle, cluster_id, network,
                               mounts)]
            beside = [s for s in topology.workers if s.on_node != s.name]
            with ThreadPoolExecutor(max_workers=8) as pool:
                nodes += pool.map(lambda spec: self._run(topology, spec, base, handle,
                                                         cluster_id, network, mounts),
                                  [s for s in topology.workers if s not in beside])
            nodes += [self._beside(nodes[0], spec) for spec in beside]
            nodes = [nodes[0], *(next(n for n in nodes if n.spec == s) for s in topology.workers)]
            driver_conf = {"spark.driver.host": gateway,
                           "spark.driver.bindAddress": gateway} if gateway else {}
            cluster = RunningCluster(
                id=cluster_id, backend=self.alias, master_url="", master_ui_url="",
                work_dir=str(base), nodes=nodes, executor_memory_mb=topology.executor_memory_mb,
                mapping=topology.mapping_lines(),
                notes=[*topology.notes, f"docker, {self.network} network, image {self.image}"],
                handle=handle, driver_conf=driver_conf,
                # the image's Spark (its runtime's, or the harness's own pyspark's)
                spark_home="/opt/emr-rehearsal/spark" if runtime is not None else None,
                runtime=runtime.label if runtime is not None else None,
            )
            daemon_env = setup(cluster) if setup is not None else {}
            # the daemons, on ports chosen now (after the bootstrap actions)
            self._master(cluster, started_after_setup=setup is not None)
            for node in cluster.workers:
                self._start_worker(cluster, node, daemon_env.get(node.spec.name, {}),
                                   setup is not None)
            self._wait(cluster.workers_registered, nodes,
                       "every worker to register with the master")
        except BaseException:
            self._remove(handle)
            raise
        return started(cluster, since)

    def _daemon(self, node: Node, role: str, env: dict[str, str], after_setup: bool) -> None:
        """Start the node's Spark daemon (emr-node ROLE) in its container, as the leader of
        a process group whose pid a file of the container holds (signals go there)."""
        if after_setup:  # started already: no wait, and /usr/lib/spark is the job flow's
            env = {**env, "EMR_START_FILE": "/"}
        api = self.client.api
        exec_id = api.exec_create(node.container, ["emr-node-exec", _pidfile(node), "emr-node",
                                                   role], environment=env)["Id"]
        api.exec_start(exec_id, detach=True)
        self._daemons[node.spec.name] = exec_id

    def _daemon_exited(self, node: Node) -> bool:
        exec_id = self._daemons.get(node.spec.name)
        if exec_id is None:
            return not self.node_alive(node)
        try:
            return not self.client.api.exec_inspect(exec_id).get("Running")
        except Exception:  # noqa: BLE001 - the container is gone
            return True

    def _master(self, cluster: RunningCluster, started_after_setup: bool) -> None:
        """The master daemon on ports chosen now, started again on fresh ones if another
        process took one meanwhile (base.start_master). On a bridge network its ports are
        the ones published when its container was made (nothing else binds there)."""
        master = cluster.nodes[0]
        bridge = self.network == "bridge"
        host = master.spec.name if bridge else "127.0.0.1"
        log = Path(master.log or "")
        published = iter(self._published.get(master.spec.name, []))

        def launch(port: int, ui: int) -> Callable[[], str | None]:
            offset = log.stat().st_size if log.exists() else 0
            self._daemon(master, "master", {
                "EMR_MASTER_PORT": str(port), "EMR_MASTER_UI_PORT": str(ui),
                "SPARK_MASTER_OPTS": f"-Dspark.worker.timeout={WORKER_TIMEOUT_S} "
                                     f"-Dspark.deploy.retainedApplications=20 "
                                     f"{MASTER_PORT_OPTS}"}, started_after_setup)

            def exited() -> str | None:
                if not self._daemon_exited(master):
                    return None
                with contextlib.suppress(OSError), log.open("rb") as fh:
                    fh.seek(offset)
                    return fh.read().decode(errors="replace")
                return "(no log)"

            return exited

        port, ui = start_master(launch, master_answers(lambda p: f"spark://{host}:{p}"),
                                self.ready_timeout_s,
                                (lambda: next(published)) if bridge else free_port,
                                attempts=1 if bridge else MASTER_START_ATTEMPTS)
        master.port, master.ui_url = port, f"http://127.0.0.1:{ui}"
        cluster.master_url = f"spark://127.0.0.1:{port}"
        cluster.master_ui_url = master.ui_url

    def _start_worker(self, cluster: RunningCluster, node: Node, env: dict[str, str],
                      after_setup: bool) -> None:
        """The worker daemon of a node, its UI port chosen now (bridge: the published one);
        `env`: the setup's variables for it, beside the container's own."""
        spec = node.spec
        master = cluster.nodes[0]
        bridge = self.network == "bridge"
        ui = self._published[spec.name][0] if bridge else free_port()
        env = {**env,
               "EMR_MASTER_URL": (f"spark://{master.spec.name}:{master.port}" if bridge
                                  else cluster.master_url),
               "EMR_WORKER_CORES": str(spec.cores),
               "EMR_WORKER_MEMORY": f"{spec.memory_mb}m",
               "EMR_WORKER_UI_PORT": str(ui),
               "SPARK_WORKER_OPTS": WORKER_DECOMMISSION_OPTS}  # SIGPWR decommissions it
        if spec.on_node != spec.name:  # beside the master, in its container: its own dirs
            env.update({"EMR_NODE_NAME": spec.name,
                        "EMR_NODE_DIR": str(Path(cluster.work_dir) / spec.name)})
        self._daemon(node, _entry_role(spec), env, after_setup)
        node.ui_url = f"http://127.0.0.1:{ui}"

    def _beside(self, host: Node, spec: NodeSpec) -> Node:
        """A worker on another node's container (a single node's executors run on the
        master node, as YARN runs a NodeManager there)."""
        node_dir = Path(host.log or "").parents[2] / spec.name
        for sub in ("local", "work", "logs"):
            (node_dir / sub).mkdir(parents=True, exist_ok=True)
        return Node(spec, "", None, str(node_dir / "logs" / f"{spec.name}.log"),
                    container=host.container)

    def _new_node(self, cluster: RunningCluster, spec: NodeSpec) -> Node:
        """A resize's node: a container on the cluster's network, its daemon started later."""
        base = Path(cluster.work_dir)
        handle = cluster.handle or ""
        network = f"emr-rehearsal-{handle}" if self.network == "bridge" else "host"
        return self._run(None, spec, base, handle, cluster.id, network,
                         self._mounts(base, base.parent.parent))

    def _decommission(self, node: Node) -> None:
        self._signal_daemon(node, "PWR")

    def _signal_daemon(self, node: Node, sig: str) -> None:
        """Send a signal to the node's Spark daemon (gone already: nothing)."""
        api = self.client.api
        pidfile = _pidfile(node)
        with contextlib.suppress(Exception):
            api.exec_start(api.exec_create(node.container, [
                "sh", "-c", f'[ -f {pidfile} ] && kill -{sig} "$(cat {pidfile})"'])["Id"])

    def _stop_nodes(self, nodes: list[Node]) -> None:
        from docker.errors import APIError, NotFound

        for node in nodes:
            with contextlib.suppress(NotFound, APIError):
                self.client.containers.get(node.container).remove(force=True, v=True)
            node.state = "TERMINATED"

    def _network(self, handle: str, cluster_id: str) -> tuple[str, str | None]:
        """The network mode for the containers, and the host's address on it (bridge)."""
        if self.network == "host":
            return "host", None
        net = self.client.networks.create(
            f"emr-rehearsal-{handle}", driver="bridge", check_duplicate=True,
            labels=self._labels("network", cluster_id, handle))
        net.reload()
        gateway = net.attrs["IPAM"]["Config"][0].get("Gateway")
        if not gateway:
            raise ClusterError(f"the bridge network {net.name} has no gateway address",
                               "use HARNESS_DOCKER_NETWORK=host")
        return net.name, gateway

    def _mounts(self, base: Path, work_dir: Path) -> list[Any]:
        from docker.types import Mount

        paths = [base, work_dir, *self.mounts]
        for path in paths:
            path.mkdir(parents=True, exist_ok=True)
        mounts = [Mount(target=str(p), source=str(p), type="bind") for p in _outermost(paths)]
        cert = pip_cert()
        if cert is not None:  # nodes reach PyPI as this machine does (a proxy's CA, say)
            mounts.append(Mount(target=NODE_PIP_CERT, source=str(cert), type="bind",
                                read_only=True))
        uid = os.getuid()
        if uid != 0:  # Java and Hadoop want the user in /etc/passwd
            try:
                user = pwd.getpwuid(uid).pw_name
            except KeyError:
                user = "harness"
            passwd = base / "passwd"
            passwd.write_text(f"root:x:0:0:root:/root:/bin/bash\n"
                              f"{user}:x:{uid}:{os.getgid()}:{user}:/tmp:/bin/bash\n")
            mounts.append(Mount(target="/etc/passwd", source=str(passwd), type="bind",
                                read_only=True))
        return mounts

    def _run(self, topology: Topology | None, spec: NodeSpec, base: Path, handle: str,
             cluster_id: str, network: str, mounts: list[Any]) -> Node:
        """A node's container, holding on until its daemon is started in it (_daemon)."""
        from docker.types import Mount

        node_dir = base / spec.name
        for sub in ("local", "work", "logs", "home", "emr/apps", "emr/mnt/var/lib/info"):
            (node_dir / sub).mkdir(parents=True, exist_ok=True)
        # EMR's paths, the node's own: /usr/lib/spark is the image's link into emr/apps,
        # made when the job flow installs Spark (after its bootstrap actions)
        mounts = [*mounts, *(Mount(target=target, source=str(node_dir / source), type="bind")
                             for source, target in (("home", "/home/hadoop"),
                                                    ("emr/mnt/var/lib/info", "/mnt/var/lib/info"),
                                                    ("emr/apps", "/var/lib/emr-node/apps")))]
        bridge = network != "host"
        environment = {
            "EMR_NODE_NAME": spec.name,
            "EMR_NODE_HOST": spec.name if bridge else "127.0.0.1",
            "EMR_NODE_DIR": str(node_dir),
            "EMR_DRIVER_PYTHON": sys.executable,
            "HOME": "/home/hadoop",
            **({"PIP_CERT": NODE_PIP_CERT} if pip_cert() is not None else {}),
            **{k: v for k, v in os.environ.items() if k in PIP_SETTINGS},
            "SPARK_DAEMON_MEMORY": "256m",
            "SPARK_DAEMON_JAVA_OPTS": FAST_JVM_OPTS,
            # host network: executors and block managers on loopback only; bridge: UIs
            # link to the ports published on the host's loopback
            **({"SPARK_PUBLIC_DNS": "127.0.0.1"} if bridge else {"SPARK_LOCAL_IP": "127.0.0.1"}),
        }
        beside = [w for w in topology.workers if w.on_node == spec.name != w.name] \
            if topology is not None else []
        ports: list[int] = []
        if bridge:  # published now: the daemons' ports (the master's two, a worker's UI)
            for each in (spec, *beside):
                self._published[each.name] = [free_port() for _ in
                                              range(2 if each.daemon == "master" else 1)]
                ports += self._published[each.name]
        mb = container_memory_mb(spec, beside)
        container = self.client.containers.run(
            self.image, HOLD, detach=True,
            init=True,
            name=f"emr-{handle}-{spec.name}", environment=environment,
            labels={**self._labels("node", cluster_id, handle), NODE_LABEL: spec.name,
                    ROLE_LABEL: spec.role},
            network=None if not bridge else network,
            network_mode="host" if not bridge else None,
            hostname=spec.name if bridge else None,
            ports={f"{p}/tcp": ("127.0.0.1", p) for p in ports} if bridge else None,
            nano_cpus=int((container_cpus(spec, topology) if topology
                           else min(os.cpu_count() or 1, spec.cores)) * 1e9),
            mem_limit=f"{mb}m", memswap_limit=f"{mb}m",
            mounts=mounts, user=f"{os.getuid()}:{os.getgid()}", working_dir=str(node_dir),
        )
        return Node(spec, "", None, str(node_dir / "logs" / f"{spec.name}.log"),
                    container=container.id)

    def _wait(self, ready: Any, nodes: list[Node], what: str) -> None:
        def exited(node: Node) -> str | None:
            if not self._daemon_exited(node):
                return None
            return (f"{node.spec.name} (container {(node.container or '')[:12]}: "
                    f"{logs.tail(Path(node.log or ''))})")

        # asking the engine costs more than a port: once a second
        wait_for(ready, nodes, what, self.ready_timeout_s, exited, check_every_s=1.0)

    # -- the rest of the contract ------------------------------------------------------------

    def node_alive(self, node: Node) -> bool:
        from docker.errors import NotFound

        if node.container is None:
            return False
        try:
            return self.client.containers.get(node.container).status == "running"
        except NotFound:
            return False

    def kill_node(self, cluster: RunningCluster, node: str, notice_s: float = 0.0) -> None:
        """Take a worker away abruptly, as EC2 reclaims a spot instance: after the notice
        period, SIGKILL its container (the worker and its executors with it). The stopped
        container stays, with its logs, until the cluster is stopped."""
        from docker.errors import APIError, NotFound

        target = spot_reclaim_target(cluster, node, notice_s)
        with contextlib.suppress(NotFound, APIError):  # already gone or not running
            container = self.client.containers.get(target.container)
            container.kill()
            container.wait(timeout=30)
        target.state = "LOST"

    def stop(self, cluster: RunningCluster) -> None:
        if cluster.handle:
            self._remove(cluster.handle)
        for node in cluster.nodes:
            node.state = "TERMINATED"

    def _remove(self, handle: str) -> None:
        """Remove every container, network and volume labelled with this cluster's handle."""
        remove_labelled(self.client, f"{HANDLE_LABEL}={handle}")
        with _live_lock:
            _live.pop(handle, None)
        procs.unregister_resource(f"docker-{handle}")

    def spawn(self, cluster: RunningCluster, node: Node, argv: list[str], env: dict[str, str],
              cwd: Path, stdout: IO[bytes], stderr: IO[bytes]) -> ContainerProcess:
        """Run argv inside the node's container (the image has spark-submit, python3 and aws
        on PATH, like an EMR node)."""
        if node.container is None or not self.node_alive(node):
            raise ClusterError(f"{node.spec.name} is not running", "start the cluster again")
        variables = {k: v for k, v in env.items() if v != ""}
        if cwd == Path(cluster.work_dir) / node.spec.name / "home":
            cwd = Path("/home/hadoop")  # the same directory, by EMR's name
        if self.network == "host":
            variables.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # a client of its own: a step's output can be silent for longer than any timeout
        api = images.client(timeout=None).api
        return ContainerProcess(api, node.container, argv, variables, cwd, stdout, stderr)


NODE_PIP_CERT = "/etc/emr-rehearsal/pip-cert.pem"
PIP_SETTINGS = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_DEFAULT_TIMEOUT")


def pip_cert() -> Path | None:
    """The CA bundle this machine's pip trusts when it names one (PIP_CERT, or what requests
    and OpenSSL are told), for the nodes' pip."""
    for var in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = os.environ.get(var)
        if value and Path(value).is_file():
            return Path(value).resolve()
    return None


def remove_labelled(docker_client: Any, label: str) -> list[str]:
    """Remove the containers (with their anonymous volumes), networks and volumes that carry
    `label` ("key=value" or "key"); returns what was removed."""
    from docker.errors import NotFound

    removed = []
    for container in docker_client.containers.list(all=True, filters={"label": label}):
        with contextlib.suppress(NotFound):
            container.remove(force=True, v=True)
            removed.append(f"container {container.name}")
    for network in docker_client.networks.list(filters={"label": label}):
        with contextlib.suppress(NotFound):
            network.remove()
            removed.append(f"network {network.name}")
    for volume in docker_client.volumes.list(filters={"label": label}):
        with contextlib.suppress(NotFound):
            volume.remove(force=True)
            removed.append(f"volume {volume.name}")
    return removed


def remove_handle(handle: str) -> None:
    """Remove what a cluster made (the reaper's remover for a gone owner's clusters)."""
    remove_labelled(images.client(timeout=30), f"{HANDLE_LABEL}={handle}")


def leftovers(docker_client: Any, label: str = images.LABEL) -> list[str]:
    """Containers, networks and volumes with the project's label that still exist."""
    found = [f"container {c.name}" for c in
             docker_client.containers.list(all=True, filters={"label": label})]
    found += [f"network {n.name}" for n in docker_client.networks.list(filters={"label": label})]
    found += [f"volume {v.name}" for v in docker_client.volumes.list(filters={"label": label})]
    return found


@atexit.register
def _remove_live() -> None:
    """At interpreter exit (normal, or unwound by Ctrl-C, SIGTERM or SIGHUP), remove every
    cluster this process started and has not stopped, except `harness up`'s."""
    with _live_lock:
        live = list(_live.items())
    for handle, backend in live:
        with contextlib.suppress(Exception):
            backend._remove(handle)
