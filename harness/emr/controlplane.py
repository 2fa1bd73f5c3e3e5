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
import threading
import time
from pathlib import Path
from typing import Any

import harness.emr.validation as validation
from harness.aws.endpoint import Endpoint
from harness.aws.s3 import S3Error, S3Uri
from harness.cluster import BACKENDS, Topology, build_topology
from harness.cluster.topology import default_memory_budget_mb
from harness.emr.capacity import DECOMMISSION_CONF
from harness.emr.jobflow import JobFlow, gzip_file
from harness.emr.models import RehearsalCluster
from harness.emr.resources import DEFAULT_EXECUTOR_WAIT_S
from harness.emr.states import TERMINAL
from harness.emr.steps import StepDefinitionError, is_s3
from harness.errors import HarnessError

DEFAULT_JOBFLOW_MEMORY_MB = 3072  # workers of one job flow: 3 x ~1 GiB for the small preset


class ControlPlane:
    """Runs the EMR backend's job flows on local clusters of one backend (process, docker)."""

    def __init__(self, endpoint_url: str, work_dir: Path, backend: str = "process",
                 jobflow_memory_mb: int = DEFAULT_JOBFLOW_MEMORY_MB,
                 capacity_mb: int | None = None, java_home: Path | None = None,
                 region: str = "us-east-1", jar_cache: Path | None = None,
                 spot_provisioning_s: float = 120.0, time_scale: float = 0.05,
                 executor_wait_s: float = DEFAULT_EXECUTOR_WAIT_S) -> None:
        if backend not in BACKENDS:
            raise HarnessError(f"unknown cluster backend {backend!r} for EMR job flows",
                               f"set HARNESS_EMR_BACKEND to one of: {', '.join(BACKENDS)}")
        # the backend's settings (e.g. HARNESS_DOCKER_NETWORK) fail the server's start, not
        # a job flow's after the API accepted it
        BACKENDS[backend](java_home=java_home)
        self.endpoint = Endpoint(url=endpoint_url, region=region)
        self.work_dir = work_dir.resolve()
        self.backend = backend
        self.jobflow_memory_mb = jobflow_memory_mb
        self.executor_wait_s = executor_wait_s  # a Spark step's wait for executors, bounded
        self.capacity_mb = capacity_mb or default_memory_budget_mb()
        self.java_home = java_home
        self.jar_cache = jar_cache
        # spot capacity's modelled arrival, and how modelled EMR time is scaled (capacity.py)
        self.spot_provisioning_s = spot_provisioning_s
        self.time_scale = time_scale
        self._jars: list[Path] | None = None
        self.jobflows: dict[str, JobFlow] = {}
        self._capacity = threading.Condition()
        self._in_use: dict[str, int] = {}
        self._log_path = self.work_dir / "logs" / "emr-control-plane.log"
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        self._records = self.work_dir / "jobflows.json"
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
        if not jobflow.log_uri:
            return None
        base = S3Uri.parse(jobflow.log_uri.replace("s3n://", "s3://")).child(jobflow.id,
                                                                              relative)
        s3 = self.endpoint.client("s3")
        for name in names:
            src = local / name
            if not src.exists():
                continue
            packed = gzip_file(src, local / f"{name}.gz")
            try:
                s3.upload_file(str(packed), base.bucket, f"{base.key}/{name}.gz")
            except Exception as exc:  # noqa: BLE001 - a missing log bucket must not kill the step
                self.log(f"{jobflow.id}: cannot upload {name} to {base}: {exc}")
        return str(base)

    def node_env(self, jobflow: JobFlow, node: Any) -> dict[str, str]:
        """What a step or bootstrap action finds on a node besides spark-submit, python3
        and aws on PATH (the backend's part): the endpoint's credentials, the job flow's
        spark-defaults, the node's name and role. An empty value unsets a variable."""
        env = self.endpoint.env()
        env.update({
            "SPARK_CONF_DIR": str(jobflow.spark_conf_dir),
            "HARNESS_CLUSTER_ID": jobflow.id,
            "HARNESS_NODE_NAME": node.spec.name,
            "HARNESS_NODE_ROLE": node.spec.role,
            "HOME": str(Path(jobflow.cluster.work_dir) / node.spec.name / "home"),
        })
        return env

    def write_spark_conf(self, jobflow: JobFlow) -> None:
        """spark-defaults.conf for the job flow, as EMR writes one on its master node."""
        from harness.aws import s3a
        from harness.spark import DEFAULT_CONF, FAST_JVM_OPTS

        assert jobflow.cluster is not None
        conf = {
            **DEFAULT_CONF,
            "spark.master": jobflow.cluster.master_url,
            "spark.driver.extraJavaOptions": FAST_JVM_OPTS,
            **jobflow.cluster.spark_conf(),
            **DECOMMISSION_CONF,  # resizes and spot notices decommission (capacity.py)
            # nodes that carry the S3A jars (docker) need no spark.jars, as on EMR
            **s3a.spark_conf(self.endpoint,
                             None if jobflow.backend.ships_s3a_jars else self.jars()),
        }
        jobflow.spark_conf_dir.mkdir(parents=True, exist_ok=True)
        lines = [f"{k} {v}" for k, v in conf.items()]
        (jobflow.spark_conf_dir / "spark-defaults.conf").write_text("\n".join(lines) + "\n")

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
        return self.drives(cluster_id) and jobflow is not None and jobflow.cluster is not None

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
