"""The EMR control plane: the EMR backend (harness.emr.models) answers the API and keeps
the one record of every cluster and step; this runs the real work behind them (one JobFlow
thread per cluster) within the machine's capacity, with what job flows need (S3 downloads,
log uploads, spark-defaults, node environments).

It lives in the endpoint server process, so boto3 programs, the AWS CLI and `harness
rehearse` all reach the same job flows through the one endpoint URL.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import harness.emr.runtimes as runtimes
import harness.emr.validation as validation
from harness.aws.endpoint import Endpoint
from harness.aws.s3 import S3Error, S3Uri, cluster_log_base
from harness.catalog import instance_types
from harness.cluster import BACKENDS, Topology, build_topology
from harness.cluster.topology import default_memory_budget_mb
from harness.emr import nodeenv, observe
from harness.emr.capacity import DECOMMISSION_CONF
from harness.emr.jobflow import JobFlow, gzip_file
from harness.emr.models import RehearsalCluster
from harness.emr.resources import DEFAULT_EXECUTOR_WAIT_S
from harness.emr.states import TERMINAL
from harness.emr.steps import StepContext, StepDefinitionError, is_s3
from harness.errors import HarnessError
from harness.state import JOBFLOWS

if TYPE_CHECKING:
    from harness.runtimes import InstalledRuntime

class LogUpload:
    """One directory's logs, gzipped as EMR puts them, to an S3 prefix. While a step runs,
    `push()` sends only the files whose size changed since they were last sent, and after a
    failed upload (a LogUri bucket that does not exist) sends nothing more; `upload()` at
    the end sends every file once. Each failing call logs its failure once."""

    def __init__(self, s3: Any, base: S3Uri, local: Path, names: tuple[str, ...],
                 log: Callable[[str], None]) -> None:
        self.s3, self.base, self.local, self.names, self.log = s3, base, local, names, log
        self.sent: dict[str, int] = {}  # name -> its size when last sent
        self.failed = False

    def push(self) -> bool:
        """Send the files that changed; False once an upload failed (nothing is sent then)."""
        if self.failed:
            return False
        changed = [name for name in self._present()
                   if (self.local / name).stat().st_size != self.sent.get(name)]
        self.failed = not self._send(changed)
        return not self.failed

    def upload(self) -> bool:
        """Send every file (the final upload); False when one failed."""
        return self._send(self._present())

    def _present(self) -> list[str]:
        return [name for name in self.names if (self.local / name).exists()]

    def _send(self, names: list[str]) -> bool:
        for name in names:
            src = self.local / name
            size = src.stat().st_size  # before packing: a file still growing is sent again
            packed = gzip_file(src, self.local / f"{name}.gz")
            try:
                self.s3.upload_file(str(packed), self.base.bucket, f"{self.base.key}/{name}.gz")
            except Exception as exc:  # noqa: BLE001 - a missing log bucket must not kill the step
                self.log(f"cannot upload {name} to {self.base}: {exc}")
                return False  # the others would fail alike
            self.sent[name] = size
        return True


DEFAULT_JOBFLOW_MEMORY_MB = 3072  # workers of one job flow: 3 x ~1 GiB for the small preset


class ControlPlane:
    """Runs the EMR backend's job flows on local clusters of one backend (process, docker)."""

    def __init__(self, endpoint_url: str, work_dir: Path, backend: str = "process",
                 jobflow_memory_mb: int = DEFAULT_JOBFLOW_MEMORY_MB,
                 capacity_mb: int | None = None, java_home: Path | None = None,
                 region: str = "us-east-1", jar_cache: Path | None = None,
                 spot_provisioning_s: float = 120.0, time_scale: float = 0.05,
                 idle_scale: float = 1.0,
                 executor_wait_s: float = DEFAULT_EXECUTOR_WAIT_S,
                 runtime_cache: Path | None = None) -> None:
        if backend not in BACKENDS:
            raise HarnessError(f"unknown cluster backend {backend!r} for EMR job flows",
                               f"set HARNESS_EMR_BACKEND to one of: {', '.join(BACKENDS)}")
        # the backend's settings (e.g. HARNESS_DOCKER_NETWORK) fail the server's start, not
        # a job flow's after the API accepted it
        BACKENDS[backend](java_home=java_home)
        instance_types()  # likewise a catalog that cannot load (it would refuse valid types)
        self.endpoint = Endpoint(url=endpoint_url, region=region)
        self.work_dir = work_dir.resolve()
        self.backend = backend
        self.jobflow_memory_mb = jobflow_memory_mb
        self.executor_wait_s = executor_wait_s  # a Spark step's wait for executors, bounded
        self.capacity_mb = capacity_mb or default_memory_budget_mb()
        self.java_home = java_home
        self.jar_cache = jar_cache
        self.runtime_cache = runtime_cache
        # spot capacity's modelled arrival, and how modelled EMR time is scaled (capacity.py)
        self.spot_provisioning_s = spot_provisioning_s
        self.time_scale = time_scale
        self.idle_scale = idle_scale  # an IdleTimeout's real seconds per second (controls.py)
        self._jars: list[Path] | None = None
        self.jobflows: dict[str, JobFlow] = {}
        self._capacity = threading.Condition()
        self._in_use: dict[str, int] = {}
        self._log_path = self.work_dir / "logs" / "emr-control-plane.log"
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        self._records = self.work_dir / JOBFLOWS  # harness.state.jobflow_records reads it
        self._records_lock = threading.Lock()

    # -- bookkeeping ---------------------------------------------------------------------

    def log(self, line: str) -> None:
        with self._log_path.open("a") as fh:
            fh.write(f"{time.strftime('%H:%M:%S')} {line}\n")

    def record(self, jobflow: JobFlow) -> None:
        """Persist the job flows' clusters, so `harness status` and `down` can see them."""
        with self._records_lock:
            data = {jf.id: jf.cluster.to_dict() for jf in list(self.jobflows.values())
                    if jf.cluster is not None and jf.emr.state not in TERMINAL}
            tmp = self._records.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1))
            tmp.replace(self._records)

    def acquire(self, jobflow: JobFlow, memory_mb: int, mapping: str = "") -> bool:
        """Wait in STARTING until the machine has room for this job flow's workers (False
        when termination is requested meanwhile). check_job_flow refused what never fits."""
        with self._capacity:
            while sum(self._in_use.values()) + memory_mb > self.capacity_mb:
                if jobflow.terminating:
                    return False
                others = ", ".join(self._in_use)
                jobflow.emr.provisioning(f"Waiting for capacity: {sum(self._in_use.values())} "
                                         f"of {self.capacity_mb} MB in use by {others}")
                self._capacity.wait(timeout=1.0)
            self._in_use[jobflow.id] = memory_mb
            jobflow.emr.provisioning(f"Provisioning local nodes: {mapping}" if mapping
                                     else "Provisioning local nodes")
        return True

    def room_mb(self, jobflow: JobFlow) -> int:
        """Memory a resize of this job flow may still take for new workers."""
        with self._capacity:
            return max(0, self.capacity_mb - sum(self._in_use.values()))

    def grow(self, jobflow: JobFlow, memory_mb: int) -> None:
        """A resize started workers (or stopped some: negative): their memory counts
        against the capacity."""
        with self._capacity:
            self._in_use[jobflow.id] = self._in_use.get(jobflow.id, 0) + memory_mb

    def release(self, jobflow: JobFlow) -> None:
        with self._capacity:
            self._in_use.pop(jobflow.id, None)
            self._capacity.notify_all()
        self.record(jobflow)

    # -- what job flows need -------------------------------------------------------------

    def instance_groups(self, emr: RehearsalCluster) -> list[dict[str, Any]]:
        if emr.instance_fleets:  # the instances each fleet gets (harness.emr.fleets)
            return [spec for fleet in emr.instance_fleets for spec in fleet.group_specs()]
        return [{"Name": g.name, "InstanceRole": g.role, "InstanceType": g.instance_type,
                 "InstanceCount": g.num_instances, "Market": g.market or "ON_DEMAND",
                 "Id": g.id}
                for g in emr.instance_groups]

    @property
    def jobflow_budget_mb(self) -> int:
        """What one job flow's workers may use: HARNESS_EMR_JOBFLOW_MEMORY_MB, within what
        this endpoint gives all job flows (which follows the host's memory)."""
        return min(self.jobflow_memory_mb, self.capacity_mb)

    def topology(self, groups: list[dict[str, Any]]) -> Topology:
        """The local nodes of a job flow's instance groups (the README's mapping rule)."""
        return build_topology(groups, self.jobflow_budget_mb, host_cores=os.cpu_count())

    def fetch(self, uri: str, dest_dir: Path) -> Path:
        """Download an s3:// object into dest_dir (HarnessError with S3's reason if not)."""
        from botocore.exceptions import ClientError

        if not is_s3(uri):
            raise StepDefinitionError(f"{uri!r} is not an s3:// URI")
        location = S3Uri.parse(uri.replace("s3n://", "s3://").replace("s3a://", "s3://"))
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / location.key.rsplit("/", 1)[-1]
        try:
            self.endpoint.client("s3").download_file(location.bucket, location.key, str(dest))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            code = {"404": "NoSuchKey"}.get(code, code)
            raise S3Error(f"{uri} cannot be downloaded ({code})",
                          "upload it first, or fix the path") from None
        return dest

    def upload_logs(self, jobflow: JobFlow, local: Path, relative: str,
                    names: tuple[str, ...] = ("stdout", "stderr")) -> str | None:
        """Gzip the named log files and put them under <LogUri>/<cluster-id>/<relative>/."""
        logs = self.log_upload(jobflow, local, relative, names)
        if logs is None:
            return None
        logs.upload()
        return str(logs.base)

    def log_upload(self, jobflow: JobFlow, local: Path, relative: str,
                   names: tuple[str, ...]) -> LogUpload | None:
        """The uploads of `local`'s named logs to <LogUri>/<cluster-id>/<relative>/; None
        without a LogUri."""
        base = cluster_log_base(jobflow.log_uri, jobflow.id)
        if base is None:
            return None
        return LogUpload(self.endpoint.client("s3"), base.child(relative), local, names,
                         lambda line: self.log(f"{jobflow.id}: {line}"))

    def node_env(self, jobflow: JobFlow, node: Any) -> dict[str, str]:
        """What a step or bootstrap action finds on a node: the endpoint's credentials, the
        job flow's spark-defaults, the node's name and role, and the node's environment
        (harness.emr.nodeenv: PATH, python3, HOME). An empty value unsets a variable."""
        env = self.endpoint.env()
        env.update({
            "SPARK_CONF_DIR": str(jobflow.spark_conf_dir),
            "HARNESS_CLUSTER_ID": jobflow.id,
            "HARNESS_NODE_NAME": node.spec.name,
            "HARNESS_NODE_ROLE": node.spec.role,
            "HOME": str(Path(jobflow.cluster.work_dir) / node.spec.name / "home"),
        })
        if node.spec.name in jobflow.nodes:
            env.update(jobflow.nodes[node.spec.name].env())
        return env

    def _node_runtime(self, jobflow: JobFlow) -> nodeenv.NodeRuntime:
        return nodeenv.node_runtime(getattr(jobflow, "runtime", None),
                                    jobflow.emr.release_label)

    def prepare_nodes(self, jobflow: JobFlow,
                      nodes: list[Any] | None = None) -> dict[str, nodeenv.NodeEnv]:
        """Each node's environment before its bootstrap actions (process backend; the
        docker backend's nodes are its image's); `nodes`: only those (a resize's)."""
        from harness.spark import java_executable

        if jobflow.cluster is None:
            return {}
        emr = jobflow.emr
        groups = [{"Id": g.id, "Name": g.name, "InstanceGroupType": g.role,
                   "InstanceType": g.instance_type, "Market": g.market or "ON_DEMAND",
                   "RequestedInstanceCount": g.num_instances} for g in emr.instance_groups]
        created_ms = int(emr.creation_datetime.timestamp() * 1000)
        if jobflow.backend.alias != "process":  # containers: the node image's python3
            envs = nodeenv.prepare_container_nodes(
                jobflow.cluster, self._node_runtime(jobflow), groups, created_ms,
                self._image_python(jobflow), nodes)
            self.log(f"{jobflow.id}: nodes' {next(iter(envs.values())).describe()}")
            return envs
        keep = (Path(jobflow.cluster.work_dir), self.work_dir, Path(tempfile.gettempdir()),
                nodeenv.pip_cache())
        envs = nodeenv.prepare_nodes(
            jobflow.cluster, self._node_runtime(jobflow), groups, created_ms,
            java_executable(self.java_home).resolve().parent.parent, keep, nodes)
        first = next(iter(envs.values()), None)
        if first is not None:
            self.log(f"{jobflow.id}: nodes' {first.describe()}")
        return envs

    def _image_python(self, jobflow: JobFlow) -> str:
        """The version of the node image's python3, asked on the master node."""
        assert jobflow.cluster is not None
        out = jobflow.dir / "image-python.txt"
        with out.open("wb") as fh, (jobflow.dir / "image-python.err").open("wb") as err:
            process = jobflow.backend.spawn(
                jobflow.cluster, jobflow.cluster.nodes[0],
                [f"{nodeenv.IMAGE_VENV}/bin/python", "-c",
                 "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
                {}, Path(jobflow.cluster.work_dir), fh, err)
            process.wait(timeout=120)
        version = out.read_text().strip()
        if not version:
            raise nodeenv.NodeEnvError("the node image's python3 did not answer",
                                       f"see {jobflow.dir / 'image-python.err'}")
        return version

    def install_applications(self, jobflow: JobFlow,
                             names: list[str] | None = None) -> dict[str, dict[str, str]]:
        """After the bootstrap actions, as EMR does: Spark on every node (`names`: those
        only, a resize's) when Applications has it. Returns what each node's Spark daemon
        needs in its environment."""
        runtime = self._node_runtime(jobflow)
        spark = nodeenv.has_spark(jobflow.emr.applications)
        daemons = {}
        for name, env in jobflow.nodes.items():
            if names is not None and name not in names:
                continue
            if spark:
                env.install_spark(runtime.spark_home, runtime.python_path)
            daemons[name] = env.daemon_env()
        return daemons

    def write_spark_conf(self, jobflow: JobFlow) -> None:
        """spark-defaults.conf (and spark-env.sh, hive-site.xml, core-site.xml) for the job
        flow, as EMR writes them on its master node: the harness's performance defaults,
        the cluster's master and executor sizing, S3A, then the job flow's Configurations."""
        from harness.aws import s3a
        from harness.emr import configurations

        assert jobflow.cluster is not None
        emr = jobflow.emr
        ships = jobflow.backend.ships_s3a_jars
        groups = {g.id: g for g in emr.instance_groups}
        own = emr.group_configurations
        master = next((i for i, g in groups.items() if g.role == "MASTER"), None)
        layered = configurations.layered(emr.requested_configurations,
                                         own.get(master, []))
        applied = configurations.apply(
            layered,
            cluster_conf={**observe.event_log_conf(jobflow.dir),  # the History Server's
                          "spark.master": jobflow.cluster.master_url,
                          **jobflow.cluster.spark_conf(),
                          **DECOMMISSION_CONF},  # resizes and spot notices (capacity.py)
            # nodes that carry the S3A jars (docker) need no spark.jars, as on EMR
            # the S3A settings of the release's Hadoop (SDK v1 or v2)
            s3a_conf=jobflow.runtime.s3a_conf(self.endpoint, with_jars=not ships)
            if jobflow.runtime is not None
            else s3a.spark_conf(self.endpoint, None if ships else self.jars()),
            workers=[(n.spec.cores, n.spec.memory_mb) for n in jobflow.cluster.workers],
            metastore_dir=self.work_dir / "glue-catalog",
            groups_with_own=[f"{groups[i].name} ({i})" for i, c in own.items()
                             if c and i != master and i in groups])
        applied.write(jobflow.spark_conf_dir, jobflow.dir / "hadoop-conf")
        jobflow.configurations = applied
        for note in applied.notes:
            self.log(f"{jobflow.id}: {note}")

    def step_context(self, jobflow: JobFlow, step: Any) -> StepContext:
        """What plan_step needs from the job flow: its runtime, Java, S3A jars, Hadoop conf,
        the step's MainClass and Properties, and the notes every controller log carries."""
        from harness.emr.steps import properties_of, scala_version
        from harness.spark import java_executable, spark_home

        # the Spark on the nodes: the runtime's (a container path on docker), else the
        # embedded pyspark
        home = Path(getattr(jobflow.cluster, "spark_home", None) or (
            "/opt/emr-rehearsal/spark" if jobflow.backend.ships_s3a_jars else spark_home()))
        java = Path("java") if jobflow.backend.ships_s3a_jars else \
            java_executable(self.java_home)
        # the release's Scala (a container's Spark is not readable from here)
        scala = jobflow.runtime.runtime.scala_binary if jobflow.runtime is not None \
            else scala_version(home)
        applied = jobflow.configurations
        notes = list(applied.notes) if applied else []
        if applied and applied.harness_defaults:
            notes.append("harness performance defaults in force (a spark-defaults "
                         "Configuration or --conf overrides each): " + ", ".join(
                             f"{k}={v}" for k, v in applied.harness_defaults.items()))
        notes.append(f"Spark runtime {home} (Scala {scala or 'unknown'})")
        return StepContext(
            spark_home=home, java=java, scala=scala,
            jars=[] if jobflow.backend.ships_s3a_jars else (
                list(jobflow.runtime.jars) if jobflow.runtime is not None else self.jars()),
            hadoop_conf_dir=jobflow.dir / "hadoop-conf",
            main_class=step.hadoop_jar_step.get("MainClass"),
            properties=properties_of(step.hadoop_jar_step), notes=notes)

    def runtime(self, emr: RehearsalCluster) -> InstalledRuntime:
        """The job flow's runtime: its ReleaseLabel's Spark, installed (cached) if needed.
        RunJobFlow refused labels without one (check_job_flow)."""
        from harness.runtimes import install, runtime_for

        wanted = runtime_for(emr.release_label)
        provisioning = emr.last_state_change_reason or ""  # the nodes' mapping, kept

        def progress(stage: str, done: int | None, total: int | None) -> None:
            if done is None or done == total:
                emr.provisioning(f"Installing the {wanted.label} runtime "
                                 f"({wanted.describe()}): {stage}; {provisioning}")

        installed = install(wanted, cache=self.runtime_cache, progress=progress,
                            jar_cache=self.jar_cache)
        if self.backend == "docker":  # its nodes are containers of its own image
            from harness.cluster import images

            emr.provisioning(f"Building the node image for {wanted.describe()} (once); "
                             f"{provisioning}")
            images.ensure_node_image(installed)
        if provisioning:
            emr.provisioning(provisioning)
        return installed

    def jars(self) -> list[Path]:
        from harness.aws import s3a
        from harness.config import Settings

        if self._jars is None:
            self._jars = s3a.resolve_jars(self.jar_cache or Settings().jar_cache).jars
        return self._jars

    # -- what the EMR backend asks ---------------------------------------------------------

    def check_job_flow(self, request: dict[str, Any]) -> None:
        """Refuse (ValidationException) a RunJobFlow request whose workers can never fit."""
        try:
            topology = self.topology(validation.requested_groups(request))
        except HarnessError as exc:
            raise validation.validation(f"{exc.problem}; {exc.remedy}") from None
        runtimes.check_release(request)
        needed = topology.worker_memory_mb
        if needed > self.capacity_mb:
            raise validation.validation(
                f"The job flow's workers need {needed} MB, more than the {self.capacity_mb} "
                "MB this endpoint gives all job flows (HARNESS_EMR_CAPACITY_MB); request "
                "fewer instances")

    def run_job_flow(self, emr: RehearsalCluster) -> None:
        """Start driving an accepted cluster record."""
        jobflow = JobFlow(self, emr)
        self.jobflows[jobflow.id] = jobflow
        jobflow.thread.start()

    def resize(self, cluster_id: str) -> None:
        """The cluster's groups or fleets changed: start or stop its workers."""
        self.jobflows[cluster_id].capacity.request()

    def reclaim(self, cluster_id: str, node: str, notice_s: float = 0.0) -> list[str]:
        """A spot reclaim of a job flow's node (harness kill-node --cluster, rehearse
        --reclaim); returns the EMR instance ids it terminates."""
        from harness.emr.exceptions import InvalidCluster

        jobflow = self.jobflows.get(cluster_id)
        if jobflow is None or not jobflow.thread.is_alive():
            raise InvalidCluster(cluster_id)
        return jobflow.capacity.reclaim(node, notice_s)

    def resizable(self, cluster_id: str) -> bool:
        """True once the job flow's nodes are up: new capacity is then a resize's."""
        jobflow = self.jobflows.get(cluster_id)
        return self.drives(cluster_id) and jobflow is not None and jobflow.daemons_up

    def drives(self, cluster_id: str) -> bool:
        """True while a job flow thread drives this cluster (it will end the record)."""
        jobflow = self.jobflows.get(cluster_id)
        return jobflow is not None and jobflow.thread.is_alive()

    def terminate_all(self, cluster_ids: list[str] | None = None) -> None:
        """Terminate these job flows (all by default) and wait until their nodes stopped."""
        jobflows = [jf for jf in list(self.jobflows.values())
                    if cluster_ids is None or jf.id in cluster_ids]
        for jobflow in jobflows:
            jobflow.emr.terminating("USER_REQUEST", "Terminated by user request")
        for jobflow in jobflows:
            jobflow.thread.join(timeout=60)
            if jobflow.cluster is not None:
                jobflow.backend.stop(jobflow.cluster)

    def shutdown(self) -> None:
        """Terminate every job flow and wait for their clusters to stop (server exit)."""
        self.terminate_all()
        self._records.unlink(missing_ok=True)
