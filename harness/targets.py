"""Where a workload's Spark job runs: one contract, several targets.

A target runs the workload's job on a fixture and hands back its outputs (a pandas frame
per output name), the wall time, and the job's own metrics (session start, job seconds).
The shared behaviour (checking what the target supports, staging the input, reading the
outputs back, `run` / `cleanup` / `with`) lives in `Target`; each target overrides one hook,
`submit`, and declares the storages it supports (mrjob's runner shape):

    local       LocalSpark    spark-submit from this machine to local[*] (or any master URL)
    cluster     ClusterSpark  the EMR-shaped cluster: one it is given (harness up --cluster,
                              the pytest plugin's) or one it starts for the run
    emr-step    EmrStep       a step on a job flow through the local EMR API (command-runner.jar
                              spark-submit), as a user's script does it with boto3
    aws         RealEmr       the same on real Amazon EMR, with the user's credentials

A target that starts something (a cluster, an endpoint, a job flow) stops it in `cleanup`.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from harness.errors import SparkError, UsageError

if TYPE_CHECKING:
    from harness.aws.endpoint import Endpoint
    from harness.aws.s3 import S3Uri, UploadReport
    from harness.cluster import RunningCluster, Topology
    from harness.config import Settings
    from harness.runtimes import InstalledRuntime
    from harness.spark import SubmitResult
    from harness.workloads.base import Outputs, Workload
    from harness.workloads.fixtures import Fixture

JOB_FLOW_RELEASE = "emr-7.12.0"
# how often the EMR-step target asks for its step's (and job flow's) state
STEP_POLL_S = 0.1


def cluster_cores(cluster: RunningCluster) -> int:
    """Executor cores a cluster offers: its worker nodes' cores, a killed (LOST) node's
    left out."""
    return sum(n.spec.cores for n in cluster.workers if n.state != "LOST")


@dataclass
class Job:
    """One submission: the job's script, its input and output URIs, and what Spark and the
    driver's environment need for them (S3A settings, the endpoint's variables)."""

    name: str
    script: str  # a local path, or an s3:// URI for a step
    input_uri: str
    output_uri: str
    conf: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] | None = None


@dataclass
class Submitted:
    """What a target's `submit` hands back: the wall time, the job's metrics line, details
    for the record; `error` is set (an excerpt of the job's log) when it failed."""

    wall_s: float
    metrics: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    failure: str = ""  # how it failed: "exit 1", "step s-... FAILED"
    submit: SubmitResult | None = None  # spark-submit's own result, where there was one


@dataclass
class JobRun:
    """A finished run of a workload's job: outputs (a frame per output name), wall seconds
    of the submission, the job's own session start and job seconds, and details."""

    target: str
    outputs: Outputs
    wall_s: float
    session_start_s: float | None
    job_s: float | None
    details: dict[str, Any] = field(default_factory=dict)


def read_outputs(workload: Workload, local: Path) -> Outputs:
    """The job's outputs written under `local` (a Parquet directory per output name); an
    output the job did not write is an empty frame, so the comparison names it."""
    import pandas as pd
    import pyarrow.parquet as pq

    outputs: Outputs = {}
    for name in workload.output_names:
        try:
            outputs[name] = pq.read_table(local / name).to_pandas()
        except FileNotFoundError:
            outputs[name] = pd.DataFrame()
    return outputs


class Target:
    """Runs a workload's Spark job somewhere. `run` stages the fixture, calls `submit`, and
    reads the outputs back; `cleanup` (or leaving a `with` block) stops what it started."""

    alias: ClassVar[str]
    storages: ClassVar[tuple[str, ...]] = ("local", "s3")  # where input and output can live

    def __init__(self, work_dir: Path, *, storage: str = "local",
                 endpoint: Endpoint | None = None, s3a_jars: list[Path] | None = None,
                 buckets: str = "harness", java_home: Path | None = None,
                 driver_memory: str = "2g", runtime: InstalledRuntime | None = None) -> None:
        if storage not in self.storages:
            raise UsageError(f"the {self.alias} target cannot keep its data on {storage!r}",
                             f"use storage {' or '.join(self.storages)}")
        self.work_dir = work_dir
        self.storage = storage
        self.endpoint = endpoint
        self.s3a_jars = s3a_jars
        self.buckets = buckets  # bucket names: <buckets>-raw, -curated, -code, -logs
        self.java_home = java_home
        self.driver_memory = driver_memory
        # the Spark the job runs on: a release label's runtime, or the harness's own pyspark
        self.runtime = runtime
        self._stack = contextlib.ExitStack()

    # -- the contract ---------------------------------------------------------------------

    def run(self, workload: Workload, fixture: Fixture, name: str | None = None) -> JobRun:
        """Run the workload's job on the fixture here; SparkError when the job fails."""
        name = name or self.alias
        local_out = self.work_dir / f"{name}-out"
        shutil.rmtree(local_out, ignore_errors=True)
        job = self._stage(workload, fixture, name, local_out)
        done = self.submit(job)
        if done.error is not None:
            raise SparkError(
                f"the Spark job {workload.spark_job.name} failed ({done.failure}): "
                f"{done.error}", self._failure_remedy(done))
        if job.output_uri.startswith("s3://"):
            from harness.aws.s3 import S3Uri, download_prefix

            download_prefix(self._endpoint().client("s3"), S3Uri.parse(job.output_uri),
                            local_out)
        return JobRun(self.alias, read_outputs(workload, local_out), done.wall_s,
                      done.metrics.get("session_start_s"), done.metrics.get("job_s"),
                      {"storage": self.storage, "input": job.input_uri,
                       "output": job.output_uri, **done.details})

    def submit(self, job: Job) -> Submitted:
        """The hook: run one submission and wait for it."""
        raise NotImplementedError

    def describe_runtime(self) -> dict[str, Any]:
        """What the job runs on, for the record (runtime_description): the runtime's, or
        the harness's own pyspark, with the Python of a driver submitted from here."""
        return runtime_description(self.runtime, this_python())

    def cleanup(self) -> None:
        """Stop everything this target started (clusters, endpoints, job flows)."""
        self._stack.close()

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    # -- shared parts ---------------------------------------------------------------------

    def _failure_remedy(self, done: Submitted) -> str:
        return "run it by hand with spark-submit to see the whole log"

    def _endpoint(self) -> Endpoint:
        if self.endpoint is None:
            raise UsageError(f"storage s3 on the {self.alias} target needs an endpoint",
                             "run harness up first, or pass --endpoint-url")
        return self.endpoint

    def _s3_paths(self, workload: Workload, fixture: Fixture, name: str) -> tuple[str, str]:
        """Upload the fixture (idempotently) and return its URI and the output's."""
        from harness.aws.s3 import S3Uri, ensure_bucket, upload_dir

        endpoint = self._endpoint()
        s3 = endpoint.client("s3")
        raw = S3Uri(f"{self.buckets}-raw", f"{workload.name}/{fixture.path.name}")
        curated = S3Uri(f"{self.buckets}-curated", f"{workload.name}/bench/{name}-out")
        for bucket in (raw.bucket, curated.bucket):
            ensure_bucket(s3, bucket, endpoint.region)
        upload_dir(s3, fixture.path, raw)
        return str(raw), str(curated)

    def _stage(self, workload: Workload, fixture: Fixture, name: str, local_out: Path) -> Job:
        if self.storage == "local":
            return Job(name, str(workload.spark_job), fixture.uri(),
                       local_out.resolve().as_uri())
        from harness.aws import s3a

        raw, curated = self._s3_paths(workload, fixture, name)
        endpoint = self._endpoint()
        if self.runtime is not None:  # its own Hadoop's S3A jars and settings
            return Job(name, str(workload.spark_job), raw, curated,
                       self.runtime.s3a_conf(endpoint), endpoint.child_env({}))
        if self.s3a_jars is None:
            from harness.config import Settings

            self.s3a_jars = s3a.resolve_jars(Settings().jar_cache).jars
        return Job(name, str(workload.spark_job), raw, curated,
                   s3a.spark_conf(endpoint, self.s3a_jars), endpoint.child_env({}))


class LocalSpark(Target):
    """spark-submit from this machine: local[*] by default, or any Spark master URL."""

    alias = "local"

    def __init__(self, work_dir: Path, *, master: str = "local[*]",
                 conf: dict[str, str] | None = None, cores: int | None = None,
                 **options: Any) -> None:
        super().__init__(work_dir, **options)
        self.master = master
        self.conf = dict(conf or {})
        self.cores = cores

    def spark(self) -> tuple[str, dict[str, str], int | None]:
        """The master URL, the Spark settings, and the executor cores of this target."""
        return self.master, self.conf, self.cores or os.cpu_count()

    def submit(self, job: Job) -> Submitted:
        from harness.spark import spark_submit

        master, conf, cores = self.spark()
        result = spark_submit(Path(job.script), [job.input_uri, job.output_uri], master=master,
                              conf={**conf, **job.conf}, env=job.env,
                              driver_memory=self.driver_memory, java_home=self.java_home,
                              home=self.runtime.spark_home if self.runtime else None,
                              event_log_dir=self.work_dir / "spark-events")
        return Submitted(
            result.seconds, result.metrics,
            {"master": master, "cores": cores, "phases": result.phases,
             "runtime": self.describe_runtime(),
             "session_start_s": result.metrics.get("session_start_s"),
             "job_s": result.metrics.get("job_s"), "submit_wall_s": round(result.seconds, 3)},
            error=None if result.returncode == 0 else result.error_excerpt(),
            failure=f"exit {result.returncode}", submit=result)


class ClusterSpark(LocalSpark):
    """The EMR-shaped Spark standalone cluster: the running one it is given, or one of
    `topology` on `backend` that it starts at the first submission and stops in cleanup."""

    alias = "cluster"

    def __init__(self, work_dir: Path, *, cluster: RunningCluster | None = None,
                 topology: Topology | None = None, backend: str = "process",
                 **options: Any) -> None:
        super().__init__(work_dir, **options)
        if cluster is None and topology is None:
            raise UsageError("the cluster target needs a running cluster or a topology",
                             "start one with harness up --cluster small")
        self.cluster = cluster
        self.topology = topology
        self.backend = backend

    def running(self) -> RunningCluster:
        """The cluster, started now if this target was given only a topology."""
        if self.cluster is None:
            from harness.cluster import running

            assert self.topology is not None
            self.cluster, _ = self._stack.enter_context(running(
                self.topology, self.work_dir / "cluster", self.backend,
                cluster_id="c-target", java_home=self.java_home, runtime=self.runtime))
        wanted = self.runtime.label if self.runtime is not None else None
        if self.cluster.runtime != wanted:
            raise UsageError(f"the cluster {self.cluster.id} runs "
                             f"{self.cluster.runtime or 'the harness own Spark'}, not "
                             f"{wanted or 'the harness own Spark'}",
                             "start a cluster of that runtime, or drop --release-label")
        return self.cluster

    def spark(self) -> tuple[str, dict[str, str], int | None]:
        cluster = self.running()
        return cluster.master_url, {**cluster.spark_conf(), **self.conf}, cluster_cores(cluster)

    def submit(self, job: Job) -> Submitted:
        done = super().submit(job)
        done.details.update(backend=self.running().backend, cluster_id=self.running().id)
        return done


class EmrStep(Target):
    """A step on a job flow through an EMR API, as a user's boto3 script runs it: the
    fixture and the job's script go to S3, `add_job_flow_steps` runs command-runner.jar
    spark-submit, the step is followed to its end, the job's metrics line comes from the
    step's stdout.gz under LogUri, and the outputs are downloaded. The job flow (of the
    `small` preset unless given) starts at the first step and stays for the next ones;
    without an endpoint, an embedded one is started for the target's lifetime."""

    alias = "emr-step"
    storages = ("s3",)

    def __init__(self, work_dir: Path, *, storage: str = "s3", job_flow_id: str | None = None,
                 instance_groups: list[dict[str, Any]] | None = None,
                 timeout_s: float = 1800.0, **options: Any) -> None:
        super().__init__(work_dir, storage=storage, **options)
        self.job_flow_id = job_flow_id
        self.instance_groups = instance_groups
        self.timeout_s = timeout_s
        self.ready_s: float | None = None  # run_job_flow until WAITING, when started here
        self._owns_job_flow = False

    @property
    def release_label(self) -> str:
        """The job flow's ReleaseLabel: the runtime's, else the default one."""
        return self.runtime.label if self.runtime is not None else JOB_FLOW_RELEASE

    def describe_runtime(self) -> dict[str, Any]:
        """The job flow's ReleaseLabel's runtime: its nodes run the driver too."""
        return runtime_description(self.release_label)

    def _endpoint(self) -> Endpoint:
        if self.endpoint is None:
            from harness.aws import open_endpoint

            work = self.work_dir / "endpoint"
            self.endpoint = self._stack.enter_context(open_endpoint(
                None, endpoint_work_dir=work, log=work / "endpoint.log"))
        return self.endpoint

    def _stage(self, workload: Workload, fixture: Fixture, name: str, local_out: Path) -> Job:
        from harness.aws.s3 import ensure_bucket

        # on the cluster, s3:// is S3A on the endpoint already: no driver settings needed
        raw, curated = self._s3_paths(workload, fixture, name)
        endpoint = self._endpoint()
        s3 = endpoint.client("s3")
        code = f"{self.buckets}-code"
        ensure_bucket(s3, code, endpoint.region)
        key = f"{workload.name}/{workload.spark_job.name}"
        s3.upload_file(str(workload.spark_job), code, key)
        return Job(name, f"s3://{code}/{key}", raw, curated)

    def prepare(self) -> Endpoint:
        """The endpoint (started now if this target starts one) and, on a local one, the
        buckets the steps use: what the first step needs apart from the job flow."""
        from harness.aws.s3 import ensure_bucket

        endpoint = self._endpoint()
        if endpoint.target == "local":
            s3 = endpoint.client("s3")
            for suffix in ("raw", "curated", "code", "logs"):
                ensure_bucket(s3, f"{self.buckets}-{suffix}", endpoint.region)
        return endpoint

    def log_uri(self) -> str:
        """The job flow's LogUri: EMR uploads each step's logs under it."""
        return f"s3://{self.buckets}-logs/"

    def step_logs(self, cluster_id: str, step: str) -> str:
        """Where EMR keeps one step's stdout.gz and stderr.gz."""
        return f"{self.log_uri().rstrip('/')}/{cluster_id}/steps/{step}/"

    def job_flow(self) -> str:
        """The job flow's id, started now (and waited for) if there is none yet."""
        if self.job_flow_id is not None:
            return self.job_flow_id
        from harness.aws.s3 import S3Uri, ensure_bucket
        from harness.cluster import PRESETS

        endpoint = self._endpoint()
        if endpoint.target == "local":  # on AWS the log bucket is the user's own
            ensure_bucket(endpoint.client("s3"), S3Uri.parse(self.log_uri()).bucket,
                          endpoint.region)
        emr = endpoint.client("emr")
        started = time.perf_counter()
        self.job_flow_id = emr.run_job_flow(**self._job_flow_request(
            self.instance_groups or PRESETS["small"]))["JobFlowId"]
        self._owns_job_flow = True
        self._stack.callback(self._terminate)
        emr.get_waiter("cluster_running").wait(
            ClusterId=self.job_flow_id,
            WaiterConfig={"Delay": STEP_POLL_S,
                          "MaxAttempts": int(self.timeout_s / STEP_POLL_S)})
        self.ready_s = time.perf_counter() - started
        return self.job_flow_id

    def _job_flow_request(self, groups: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Name": f"harness-{self.alias}", "ReleaseLabel": self.release_label,
                "Applications": [{"Name": "Spark"}],  # without it EMR installs Hadoop only
                "LogUri": self.log_uri(),
                "Instances": {"InstanceGroups": groups, "KeepJobFlowAliveWhenNoSteps": True},
                "JobFlowRole": "EMR_EC2_DefaultRole", "ServiceRole": "EMR_DefaultRole"}

    def _terminate(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        if not (self._owns_job_flow and self.job_flow_id and self.endpoint is not None):
            return
        try:
            self.endpoint.client("emr").terminate_job_flows(JobFlowIds=[self.job_flow_id])
        except (BotoCoreError, ClientError) as exc:
            if self.endpoint.target == "local":
                return  # a local endpoint stopped first terminated its job flows on the way out
            raise SparkError(f"could not terminate job flow {self.job_flow_id}: {exc}",
                             "terminate it in the EMR console: it is billed while it runs"
                             ) from None

    def submit(self, job: Job) -> Submitted:
        cluster_id = self.job_flow()
        emr = self._endpoint().client("emr")
        args = ["spark-submit", *[a for k, v in job.conf.items() for a in ("--conf", f"{k}={v}")],
                str(job.script), job.input_uri, job.output_uri]
        started, added_at = time.perf_counter(), time.time()
        (step,) = emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=[{
            "Name": job.name, "ActionOnFailure": "CONTINUE",
            "HadoopJarStep": {"Jar": "command-runner.jar", "Args": args}}])["StepIds"]
        status = self._wait_for_step(emr, cluster_id, step)
        wall, seen_at = time.perf_counter() - started, time.time()
        details = {"endpoint": self._endpoint().url, "cluster_id": cluster_id, "step": step,
                   "job_flow_ready_s": self.ready_s, "logs": self.step_logs(cluster_id, step),
                   "runtime": self.describe_runtime()}
        metrics: dict[str, Any] = {}
        error = None
        if status["State"] == "COMPLETED":
            from harness.phases import parse_controller, step_phases
            from harness.spark import parse_metrics

            metrics = parse_metrics(self._step_log(cluster_id, step, "stdout.gz"))
            details.update(session_start_s=metrics.get("session_start_s"),
                           job_s=metrics.get("job_s"),
                           phases=step_phases(parse_controller(
                               self._step_log(cluster_id, step, "controller.gz")),
                               status.get("Timeline") or {}, added_at, seen_at))
        else:
            reason = (status.get("FailureDetails") or {}).get("Message") or \
                status.get("StateChangeReason", {}).get("Message") or status["State"]
            error = reason
        return Submitted(wall, metrics, details, error=error,
                         failure=f"EMR step {step} {status['State']}")

    def _failure_remedy(self, done: Submitted) -> str:
        return f"read the step's stderr.gz under {done.details.get('logs')}"

    def _wait_for_step(self, emr: Any, cluster_id: str, step: str) -> dict[str, Any]:  # noqa: ANN401
        from harness.emr.rehearse import STEP_END_STATES

        deadline = time.monotonic() + self.timeout_s
        while True:
            status = emr.describe_step(ClusterId=cluster_id, StepId=step)["Step"]["Status"]
            if status["State"] in STEP_END_STATES:
                return status
            if time.monotonic() > deadline:
                raise SparkError(f"EMR step {step} did not end within {self.timeout_s:.0f} s",
                                 f"look at the step's logs under {self.log_uri()}")
            # EMR's API has no push: poll, as its own waiters do (every 30 s there; the
            # local endpoint answers in milliseconds, so often enough not to add to a step)
            time.sleep(STEP_POLL_S)

    def _step_log(self, cluster_id: str, step: str, name: str) -> str:
        """A step log EMR uploaded under LogUri ('' when there is none)."""
        from botocore.exceptions import ClientError

        from harness.aws.s3 import S3Uri

        where = S3Uri.parse(self.step_logs(cluster_id, step)).child(name)
        try:
            body = self._endpoint().client("s3").get_object(
                Bucket=where.bucket, Key=where.key)["Body"].read()
        except ClientError:
            return ""
        return gzip.decompress(body).decode(errors="replace")


class RealEmr(EmrStep):
    """A step on a job flow on real Amazon EMR with the user's credentials: the job flow is
    the user's run_job_flow request (it is billed), the data go under the user's own
    `staging` prefix (s3://BUCKET/PREFIX; nothing creates buckets in their account)."""

    alias = "aws"

    def __init__(self, work_dir: Path, *, request: dict[str, Any], staging: str,
                 region: str | None = None, endpoint: Endpoint | None = None,
                 **options: Any) -> None:
        from harness.aws.s3 import S3Uri

        if endpoint is None:
            from harness.emr.rehearse import real_aws

            endpoint = real_aws(region)
        super().__init__(work_dir, endpoint=endpoint, **options)
        self.request = request
        self.staging = S3Uri.parse(staging)

    def _s3_paths(self, workload: Workload, fixture: Fixture, name: str) -> tuple[str, str]:
        from harness.aws.s3 import upload_dir

        raw = self.staging.child("raw", workload.name, fixture.path.name)
        upload_dir(self._endpoint().client("s3"), fixture.path, raw)
        return str(raw), str(self.staging.child("curated", workload.name, name))

    def _stage(self, workload: Workload, fixture: Fixture, name: str, local_out: Path) -> Job:
        raw, curated = self._s3_paths(workload, fixture, name)
        code = self.staging.child("code", workload.name, workload.spark_job.name)
        self._endpoint().client("s3").upload_file(str(workload.spark_job), code.bucket,
                                                  code.key)
        return Job(name, str(code), raw, curated)

    def log_uri(self) -> str:
        return self.request.get("LogUri") or f"{self.staging.child('logs')}/"

    def _job_flow_request(self, groups: list[dict[str, Any]]) -> dict[str, Any]:
        instances = {**self.request.get("Instances", {}), "KeepJobFlowAliveWhenNoSteps": True}
        return {**self.request, "Instances": instances, "LogUri": self.log_uri()}

    def _step_log(self, cluster_id: str, step: str, name: str) -> str:
        # the user's LogUri may be another bucket and EMR uploads logs minutes later:
        # the record keeps their place, and the metrics come only when they are there
        return ""


def runtime_description(runtime: InstalledRuntime | str | None,
                        python: str | None = None) -> dict[str, Any]:
    """What a Spark run ran on, for bench JSON and reports: a release label's runtime (or
    label), or the harness's own pyspark (None): label, Spark, Scala, Python, ANSI.
    `python`: the Python the run really used where it differs from the release's (a
    driver on this machine's interpreter)."""
    from dataclasses import replace

    from harness.runtimes import InstalledRuntime, UnknownReleaseLabel, embedded, runtime_for

    if isinstance(runtime, InstalledRuntime):
        found = runtime.runtime
    elif isinstance(runtime, str):
        try:
            found = runtime_for(runtime)
        except UnknownReleaseLabel:
            return {"label": runtime}
    else:
        found = embedded()
    if python and python != found.python:
        found = replace(found, python=python)
    return {**found.to_dict(), "describe": found.describe()}


def this_python() -> str:
    """The Python of drivers submitted from here (spark_submit's PYSPARK_PYTHON)."""
    import sys

    return f"{sys.version_info.major}.{sys.version_info.minor}"


TARGETS: dict[str, type[Target]] = {
    t.alias: t for t in (LocalSpark, ClusterSpark, EmrStep, RealEmr)}


def get_target(alias: str, work_dir: Path, **options: Any) -> Target:
    """The target `alias` names (local, cluster, emr-step, aws), with its options."""
    if alias not in TARGETS:
        raise UsageError(f"unknown target {alias!r}", f"use one of: {', '.join(TARGETS)}")
    return TARGETS[alias](work_dir, **options)


def upload_fixture(to: str, *, workload: str = "cascade", fixture: Path | None = None,
                   rows: int | None = None, seed: int | None = None,
                   endpoint_url: str | None = None, settings: Settings | None = None,
                   ) -> tuple[S3Uri, bool, UploadReport]:
    """`harness fixtures upload`: the fixture (generated if needed) uploaded under `to` on
    the named endpoint or harness up's, the bucket created if missing; returns the target,
    whether the bucket was created, and what was uploaded or skipped as unchanged."""
    from harness.aws import open_endpoint
    from harness.aws.s3 import S3Uri, ensure_bucket, upload_dir
    from harness.config import Settings, check_positive
    from harness.workloads import get_workload, load_fixture
    from harness.workloads.fixtures import resolve_fixture

    settings = settings or Settings()
    target = S3Uri.parse(to)
    with open_endpoint(endpoint_url or settings.endpoint_url, settings.work_dir,
                       start=False) as endpoint:
        if fixture is not None:
            fx = load_fixture(fixture)
        else:
            wl = get_workload(workload)
            check_positive("--rows", rows or wl.default_rows)
            fx, _ = resolve_fixture(wl, rows=rows, seed=seed, root=settings.fixtures_dir)
        s3 = endpoint.client("s3")
        created = ensure_bucket(s3, target.bucket, endpoint.region)
        return target, created, upload_dir(s3, fx.path, target)


@dataclass
class SparkJobRun:
    """A `harness spark-job` run: where it wrote, on which master, and its timings."""

    output_uri: str
    master: str
    seconds: float
    metrics: dict[str, Any]


def spark_job(workload: str, input_uri: str, output_uri: str, *, cluster: bool = False,
              endpoint_url: str | None = None, settings: Settings | None = None,
              ) -> SparkJobRun:
    """`harness spark-job`: the workload's job once on local paths, file:// or s3:// URIs
    (s3:// on the named endpoint or harness up's, its input checked first), on local[*] or
    harness up's cluster; SparkError when the job fails."""
    from harness.config import Settings
    from harness.workloads import get_workload

    settings = settings or Settings()
    wl = get_workload(workload)
    options: dict[str, Any] = {"java_home": settings.java_home}
    work = settings.work_dir / "spark-job"
    with contextlib.ExitStack() as stack:
        conf: dict[str, str] = {}
        env = None
        if any(u.startswith(("s3://", "s3a://")) for u in (input_uri, output_uri)):
            from harness.aws import open_endpoint
            from harness.aws.s3 import S3Uri, check_readable
            from harness.aws.s3a import resolve_jars, spark_conf

            endpoint = stack.enter_context(open_endpoint(
                endpoint_url or settings.endpoint_url, settings.work_dir, start=False))
            if input_uri.startswith(("s3://", "s3a://")):
                check_readable(endpoint.client("s3"), S3Uri.parse(input_uri))
            conf = spark_conf(endpoint, resolve_jars(settings.jar_cache).jars)
            env = endpoint.child_env({})
        elif not input_uri.startswith("file:"):
            input_uri = Path(input_uri).resolve().as_uri()
        if not output_uri.startswith(("s3://", "s3a://", "file:")):
            output_uri = Path(output_uri).resolve().as_uri()
        if cluster:
            from harness import runtime

            target: LocalSpark = ClusterSpark(
                work, cluster=runtime.running_cluster(settings.work_dir), **options)
        else:
            target = LocalSpark(work, master=settings.spark_master, **options)
        with target:
            done = target.submit(Job(workload, str(wl.spark_job), input_uri, output_uri,
                                     conf, env))
    if done.error is not None:
        assert done.submit is not None
        raise SparkError(f"the Spark job failed ({done.failure}): "
                         f"{done.submit.error_excerpt(2)}", "see the job's log above")
    return SparkJobRun(output_uri, done.details["master"], done.wall_s, done.metrics)
