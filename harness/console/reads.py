"""What the console reads and writes, all through the EMR and S3 APIs of the endpoint it is
served by (boto3 clients against itself, as a user's scripts call it), plus the two records
EMR has no API for: the local nodes a job flow runs on (the control plane's jobflows.json,
what `harness status` shows) and the benchmark runs under the work directory.

Calls for one page run concurrently, and what a cluster never changes (its name, release
label, LogUri, request) is kept once read, so a page costs a few calls whatever the number
of job flows (ListClusters has no ReleaseLabel: DescribeCluster once per cluster, ever)."""

from __future__ import annotations

import contextlib
import functools
import gzip
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.aws.s3 import S3Uri, cluster_log_base
from harness.state import jobflow_records

LOG_NAMES = ("controller", "stdout", "stderr", "syslog")
LOG_LIMIT = 2_000_000  # characters of a log shown in a page (its tail)
_HISTORY = re.compile(r"Spark History Server (http://\S+)")
# what DescribeCluster says that never changes once the cluster exists
_FIXED = ("Id", "Name", "ReleaseLabel", "LogUri", "Applications", "Configurations",
          "ServiceRole", "Ec2InstanceAttributes", "InstanceCollectionType", "Tags",
          "AutoTerminate", "VisibleToAllUsers", "ClusterArn")


@functools.cache
def spark_version(label: str | None) -> str:
    """The Spark a release label ships (harness/runtimes' catalog), '?' when unknown."""
    from harness.runtimes.catalog import catalog

    runtime = catalog().get(label or "")
    return runtime.spark if runtime is not None else "?"


class Reads:
    """The EMR and S3 calls behind the console's pages, against `endpoint_url`."""

    def __init__(self, endpoint_url: str, region: str, work_dir: Path) -> None:
        from harness.aws.endpoint import Endpoint

        endpoint = Endpoint(url=endpoint_url, region=region)
        self.endpoint_url, self.region, self.work_dir = endpoint_url, region, work_dir
        self.emr, self.s3 = endpoint.client("emr"), endpoint.client("s3")
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="console")
        self._fixed: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _all(self, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for page in self.emr.get_paginator(operation).paginate(**params):
            out += page.get(key, [])
        return out

    # -- clusters ------------------------------------------------------------------------

    def fixed(self, cluster_ids: list[str]) -> dict[str, dict[str, Any]]:
        """DescribeCluster's never-changing fields of each cluster (read once each)."""
        with self._lock:
            missing = [c for c in cluster_ids if c not in self._fixed]
        described = self._pool.map(
            lambda c: self.emr.describe_cluster(ClusterId=c)["Cluster"], missing)
        with self._lock:
            for cluster in described:
                self._fixed[cluster["Id"]] = {k: cluster.get(k) for k in _FIXED}
            return {c: self._fixed[c] for c in cluster_ids}

    def clusters(self, states: list[str] | None = None) -> list[dict[str, Any]]:
        """ListClusters (in `states`), each with its release label and Spark version."""
        params = {"ClusterStates": states} if states else {}
        summaries = self._all("list_clusters", "Clusters", **params)
        fixed = self.fixed([c["Id"] for c in summaries])
        for summary in summaries:
            summary["ReleaseLabel"] = fixed[summary["Id"]]["ReleaseLabel"]
            summary["Spark"] = spark_version(summary["ReleaseLabel"])
        return summaries

    def cluster(self, cluster_id: str) -> dict[str, Any]:
        """DescribeCluster, its groups or fleets, instances, bootstrap actions and steps."""
        # EMR answers ListInstanceFleets of a group cluster with an error, and vice versa
        fleets = self.fixed([cluster_id])[cluster_id]["InstanceCollectionType"] \
            == "INSTANCE_FLEET"
        jobs = {
            "cluster": lambda: self.emr.describe_cluster(ClusterId=cluster_id)["Cluster"],
            "groups": lambda: [] if fleets else self._all(
                "list_instance_groups", "InstanceGroups", ClusterId=cluster_id),
            "fleets": lambda: self._all("list_instance_fleets", "InstanceFleets",
                                        ClusterId=cluster_id) if fleets else [],
            "instances": lambda: self._all("list_instances", "Instances",
                                           ClusterId=cluster_id),
            "bootstrap": lambda: self._all("list_bootstrap_actions", "BootstrapActions",
                                           ClusterId=cluster_id),
            "steps": lambda: self._all("list_steps", "Steps", ClusterId=cluster_id),
        }
        futures = {name: self._pool.submit(job) for name, job in jobs.items()}
        data = {name: future.result() for name, future in futures.items()}
        data["cluster"]["Spark"] = spark_version(data["cluster"].get("ReleaseLabel"))
        return data

    def cluster_status(self, cluster_id: str) -> dict[str, Any]:
        """DescribeCluster and ListSteps: what changes while a cluster runs."""
        futures = {
            "cluster": self._pool.submit(
                lambda: self.emr.describe_cluster(ClusterId=cluster_id)["Cluster"]),
            "steps": self._pool.submit(
                lambda: self._all("list_steps", "Steps", ClusterId=cluster_id)),
        }
        return {name: future.result() for name, future in futures.items()}

    # -- steps and logs ------------------------------------------------------------------

    def step(self, cluster_id: str, step_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The step (DescribeStep) and its cluster's fixed fields."""
        step = self._pool.submit(
            lambda: self.emr.describe_step(ClusterId=cluster_id, StepId=step_id)["Step"])
        fixed = self.fixed([cluster_id])[cluster_id]
        return step.result(), fixed

    def step_logs(self, log_uri: str | None, cluster_id: str,
                  step_id: str) -> dict[str, str | None]:
        """The step's controller, stdout, stderr and syslog from <LogUri>/<id>/steps/<step>/
        (gunzipped; None for one not there yet: EMR uploads them as the step ends)."""
        base = cluster_log_base(log_uri, cluster_id)
        if base is None:
            return dict.fromkeys(LOG_NAMES)
        where = base.child("steps", step_id)
        texts = self._pool.map(lambda name: self.log_text(where.bucket,
                                                          f"{where.key}/{name}.gz"), LOG_NAMES)
        return dict(zip(LOG_NAMES, texts, strict=True))

    def log_text(self, bucket: str, key: str) -> str | None:
        """An object's text (gunzipped when it is .gz), its tail past LOG_LIMIT; None when
        it does not exist."""
        try:
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        except self.s3.exceptions.NoSuchBucket:
            return None
        if key.endswith(".gz"):
            with contextlib.suppress(OSError, EOFError):  # else shown as stored
                body = gzip.decompress(body)
        text = body.decode(errors="replace")
        return text[-LOG_LIMIT:]

    def log_objects(self, log_uri: str | None, cluster_id: str,
                    prefix: str) -> tuple[S3Uri | None, list[dict[str, Any]]]:
        """The objects under <LogUri>/<cluster-id>/<prefix> (a node's log folder)."""
        base = cluster_log_base(log_uri, cluster_id)
        if base is None:
            return None, []
        where = base.child(prefix)
        out: list[dict[str, Any]] = []
        try:
            for page in self.s3.get_paginator("list_objects_v2").paginate(
                    Bucket=where.bucket, Prefix=where.key.rstrip("/") + "/"):
                out += page.get("Contents", [])
        except self.s3.exceptions.NoSuchBucket:
            return where, []
        return where, out

    # -- what EMR has no API for -----------------------------------------------------------

    def local_cluster(self, cluster_id: str) -> dict[str, Any] | None:
        """The local nodes a running job flow is rehearsed on, its Spark master UI and
        History Server (the control plane's record, as `harness status` reads it); None
        once it ended."""
        from harness.cluster.base import RunningCluster

        recorded = jobflow_records(self.work_dir)
        if cluster_id not in recorded:
            return None
        cluster = RunningCluster.from_dict(recorded[cluster_id])
        history = next((m.group(1) for m in map(_HISTORY.search, cluster.notes) if m), None)
        return {"master_ui_url": cluster.master_ui_url, "history_url": history,
                "mapping": list(cluster.mapping), "backend": cluster.backend,
                "nodes": {n.spec.name: n for n in cluster.nodes}}


def now() -> datetime:
    return datetime.now(UTC)
