"""The EMR control plane: moto answers the EMR API and keeps the records; this drives the
real work behind them (one JobFlow thread per cluster) and fills what moto lacks
(cancel_steps, states that advance, failure details, validation).

It lives in the endpoint server process, so boto3 programs, the AWS CLI and `harness
rehearse` all reach the same job flows through the one endpoint URL.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from harness.aws.endpoint import Endpoint
from harness.aws.s3 import S3Error, S3Uri
from harness.cluster.topology import default_memory_budget_mb
from harness.emr.jobflow import TERMINAL, JobFlow, gzip_file
from harness.emr.steps import StepDefinitionError, is_s3
from harness.errors import HarnessError

DEFAULT_JOBFLOW_MEMORY_MB = 3072  # workers of one job flow: 3 x ~1 GiB for the small preset


class ControlPlane:
    def __init__(self, endpoint_url: str, work_dir: Path, backend: str = "process",
                 jobflow_memory_mb: int = DEFAULT_JOBFLOW_MEMORY_MB,
                 capacity_mb: int | None = None, java_home: Path | None = None,
                 region: str = "us-east-1", jar_cache: Path | None = None) -> None:
        from harness.cluster import BACKENDS

        if backend not in BACKENDS:
            raise HarnessError(f"unknown cluster backend {backend!r} for EMR job flows",
                               f"set HARNESS_EMR_BACKEND to one of: {', '.join(BACKENDS)}")
        self.endpoint = Endpoint(url=endpoint_url, region=region)
        self.work_dir = work_dir.resolve()
        self.backend = backend
        self.jobflow_memory_mb = jobflow_memory_mb
        self.capacity_mb = capacity_mb or default_memory_budget_mb()
        self.java_home = java_home
        self.jar_cache = jar_cache
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
                    if jf.cluster is not None and jf.state not in TERMINAL}
            tmp = self._records.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1))
            tmp.replace(self._records)

    def acquire(self, jobflow: JobFlow, memory_mb: int) -> bool:
        """Wait in STARTING until the machine has room for this job flow's workers."""
        if memory_mb > self.capacity_mb:
            raise HarnessError(f"needs {memory_mb} MB, more than the {self.capacity_mb} MB "
                               "the harness gives all job flows", "use fewer instances")
        with self._capacity:
            while sum(self._in_use.values()) + memory_mb > self.capacity_mb:
                if jobflow.terminate_requested:
                    return False
                others = ", ".join(self._in_use)
                jobflow.moto.last_state_change_reason = (
                    f"Waiting for capacity: {sum(self._in_use.values())} of "
                    f"{self.capacity_mb} MB in use by {others}")
                self._capacity.wait(timeout=1.0)
            self._in_use[jobflow.id] = memory_mb
            jobflow.moto.last_state_change_reason = "Provisioning local nodes"
        return True

    def release(self, jobflow: JobFlow) -> None:
        with self._capacity:
            self._in_use.pop(jobflow.id, None)
            self._capacity.notify_all()
        self.record(jobflow)

    # -- what job flows need -------------------------------------------------------------

    def instance_groups(self, moto_cluster: Any) -> list[dict[str, Any]]:
        return [{"Name": g.name, "InstanceRole": g.role, "InstanceType": g.instance_type,
                 "InstanceCount": g.num_instances, "Market": g.market or "ON_DEMAND"}
                for g in moto_cluster.instance_groups]

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

    # -- requests (called by the API middleware) -----------------------------------------

    def run_job_flow(self, moto_cluster: Any, request: dict[str, Any]) -> None:
        jobflow = JobFlow(self, moto_cluster, request)
        self.jobflows[jobflow.id] = jobflow
        jobflow.thread.start()

    def get(self, cluster_id: str) -> JobFlow | None:
        return self.jobflows.get(cluster_id)

    def shutdown(self) -> None:
        """Terminate every job flow and wait for their clusters to stop (server exit)."""
        for jobflow in list(self.jobflows.values()):
            jobflow.request_termination()
        for jobflow in list(self.jobflows.values()):
            jobflow.thread.join(timeout=60)
            if jobflow.cluster is not None:
                jobflow.backend.stop(jobflow.cluster)
        self._records.unlink(missing_ok=True)

