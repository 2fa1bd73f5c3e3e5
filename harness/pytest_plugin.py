"""pytest plugin (entry point `pytest11: harness`): fixtures for users' own tests and
benchmarks of their Spark jobs, on the same endpoint and cluster the harness uses.

    harness_endpoint   session  the embedded AWS endpoint (moto + EMR control plane) on a
                                free 127.0.0.1 port; an `Endpoint` (.url, .client("s3"))
    harness_bucket     test     a fresh, empty S3 bucket on that endpoint (its name);
                                emptied and deleted afterwards
    harness_runtime    session  the release label's runtime (--harness-release-label
                                emr-7.12.0): its Spark runs the cluster and the targets;
                                None: the harness's own pyspark
    harness_topology   session  the cluster's topology: --harness-topology small|FILE;
                                override this fixture to pin one in code
    harness_cluster    session  an EMR-shaped Spark standalone cluster of that topology on
                                --harness-backend process|docker; a `RunningCluster`
    harness_spark      session  a SparkSession on that cluster, with s3:// and s3a://
                                pointing at the endpoint
    harness_dataset    session  a factory: harness_dataset(rows, workload="cascade",
                                seed=42) -> Fixture (generated once into the shared cache)
    harness_target     session  a factory: harness_target("local" | "cluster" | "emr-step",
                                storage=None, runtime=None) -> a harness.targets.Target on
                                the cluster and endpoint above; .run(workload, fixture)
                                runs the workload's Spark job there and returns its outputs
                                and timings (a JobRun). runtime="emr-7.12.0": that release's
                                Spark instead of harness_runtime's (a cluster of its own,
                                a job flow of that ReleaseLabel)

Everything costly is session-scoped and stopped on every exit path, Ctrl-C included. The
plugin imports nothing heavy until a fixture is used, so it costs nothing in test runs
that do not use it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.aws.endpoint import Endpoint
    from harness.cluster import RunningCluster, Topology
    from harness.runtimes import InstalledRuntime
    from harness.targets import Target
    from harness.workloads import Fixture


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "emr-rehearsal fixtures")
    group.addoption("--harness-backend", default=os.environ.get("HARNESS_BACKEND", "process"),
                    help="cluster backend for harness_cluster: process (default) or docker")
    group.addoption("--harness-topology", default="small",
                    help="topology for harness_cluster: a preset name (small) or a JSON "
                         "file of EMR InstanceGroups")
    group.addoption("--harness-release-label",
                    default=os.environ.get("HARNESS_RELEASE_LABEL") or None,
                    help="run harness_cluster and harness_target on this EMR release's "
                         "runtime (e.g. emr-7.12.0: Spark 3.5.6); default the harness's own "
                         "pyspark")
    group.addoption("--harness-workload", default="cascade",
                    help="default workload of harness_dataset (name, PKG.MODULE:NAME or an "
                         "entry point)")


def _stop_on_sigterm() -> None:
    """A SIGTERM or SIGHUP (a cancelled CI job, `timeout`) ends the session as Ctrl-C does
    (procs' one signal policy, as a KeyboardInterrupt so pytest tears the session down), so
    the session fixtures' teardown stops what they started. Only where no handler is set."""
    from harness.procs import install_signal_handlers

    install_signal_handlers(keep_existing=True, keyboard_interrupt=True)


@pytest.fixture(scope="session")
def harness_work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the plugin's servers and cluster keep their files for this session."""
    return tmp_path_factory.mktemp("harness")


@pytest.fixture(scope="session")
def harness_endpoint(harness_work_dir: Path) -> Iterator[Endpoint]:
    from harness.aws import open_endpoint

    _stop_on_sigterm()
    work = harness_work_dir / "endpoint"
    with open_endpoint(None, endpoint_work_dir=work, log=work / "endpoint.log") as endpoint:
        yield endpoint


@pytest.fixture
def harness_bucket(harness_endpoint: Endpoint) -> Iterator[str]:
    from harness.aws.s3 import ensure_bucket

    s3 = harness_endpoint.client("s3")
    name = f"harness-test-{uuid.uuid4().hex[:12]}"
    ensure_bucket(s3, name, harness_endpoint.region)
    try:
        yield name
    finally:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=name, Delete={"Objects": keys})
        s3.delete_bucket(Bucket=name)


@pytest.fixture(scope="session")
def harness_topology(pytestconfig: pytest.Config) -> Topology:
    from harness.cluster import build_topology, load_groups
    from harness.config import Settings

    groups = load_groups(pytestconfig.getoption("--harness-topology"))
    return build_topology(groups, Settings().cluster_memory_mb, host_cores=os.cpu_count())


@pytest.fixture(scope="session")
def harness_runtime(pytestconfig: pytest.Config) -> InstalledRuntime | None:
    """--harness-release-label's runtime, installed (cached) once; None without one."""
    label = pytestconfig.getoption("--harness-release-label")
    if not label:
        return None
    from harness.runtimes import install, runtime_for

    return install(runtime_for(label))


@pytest.fixture(scope="session")
def harness_cluster(pytestconfig: pytest.Config, harness_topology: Topology,
                    harness_work_dir: Path, harness_runtime: InstalledRuntime | None
                    ) -> Iterator[RunningCluster]:
    from harness.cluster import running
    from harness.config import Settings

    _stop_on_sigterm()
    backend = pytestconfig.getoption("--harness-backend")
    with running(harness_topology, harness_work_dir / "cluster", backend,
                 cluster_id="c-pytest", java_home=Settings().java_home,
                 runtime=harness_runtime) as (cluster, _):
        yield cluster


@pytest.fixture(scope="session")
def harness_spark(harness_runtime: InstalledRuntime | None, harness_cluster: RunningCluster,
                  harness_endpoint: Endpoint) -> Iterator[Any]:
    """A SparkSession whose executors run on harness_cluster; s3:// URIs read and write
    the endpoint's buckets through S3A."""
    if harness_runtime is not None:  # one interpreter holds one pyspark: the harness's
        raise pytest.UsageError(
            f"harness_spark runs in this interpreter's own pyspark, not "
            f"{harness_runtime.label}'s Spark {harness_runtime.runtime.spark}: with "
            "--harness-release-label, run jobs through harness_target (spark-submit)")
    from pyspark.sql import SparkSession

    from harness.aws.s3a import resolve_jars, spark_conf
    from harness.config import Settings
    from harness.jvm import driver_opts
    from harness.spark import DEFAULT_CONF, java_executable, spark_home

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    jars = resolve_jars(Settings().jar_cache).jars
    builder = SparkSession.builder.master(harness_cluster.master_url).appName("harness-pytest")
    # the defaults `harness` jobs get from spark_submit (8 shuffle partitions, AQE, UTC,
    # quick-start JVM flags and the class-data-sharing archive where one was built), then
    # the cluster's and the endpoint's settings
    opts = driver_opts(spark_home(), java_executable(Settings().java_home))
    conf = {**DEFAULT_CONF, "spark.driver.extraJavaOptions": opts,
            "spark.executor.extraJavaOptions": opts,
            **harness_cluster.spark_conf(), **spark_conf(harness_endpoint, jars),
            "spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    try:
        yield spark
    finally:
        spark.stop()


@pytest.fixture(scope="session")
def harness_dataset(pytestconfig: pytest.Config) -> Callable[..., Fixture]:
    """harness_dataset(rows, workload=None, seed=None, bad_share=None) -> Fixture: a
    workload's seeded fixture of `rows` rows (Parquet + CSV + manifest), made once and
    reused from the shared fixture cache; `.uri()` is what a Spark job reads."""
    from harness.workloads import get_workload
    from harness.workloads.fixtures import resolve_fixture

    default = pytestconfig.getoption("--harness-workload")

    def make(rows: int, workload: str | None = None, seed: int | None = None,
             bad_share: float | None = None) -> Fixture:
        fixture, _ = resolve_fixture(get_workload(workload or default), rows=rows, seed=seed,
                                     bad_share=bad_share)
        return fixture

    return make


@pytest.fixture(scope="session")
def harness_target(request: pytest.FixtureRequest, pytestconfig: pytest.Config,
                   harness_work_dir: Path, harness_runtime: InstalledRuntime | None
                   ) -> Iterator[Callable[..., Target]]:
    """harness_target(alias, storage=None, runtime=None) -> Target: where a workload's Spark
    job runs (local: local[*]; cluster: harness_cluster; emr-step: a step on a job flow
    through harness_endpoint's EMR API), made once per session; the cluster and endpoint
    start only when a target needs them, and every target is cleaned up at the end.

    `runtime` (a release label, e.g. emr-7.12.0) runs the target on that release's Spark
    rather than harness_runtime's: local[*] through its spark-submit, a cluster of
    harness_topology started for it (at its first job, stopped at the end), a job flow of
    that ReleaseLabel on the same endpoint. None, or harness_runtime's own label: the
    session's runtime, cluster and targets."""
    from harness.config import Settings
    from harness.targets import ClusterSpark, EmrStep, LocalSpark

    made: dict[tuple[str, str, str | None], Target] = {}
    installed: dict[str, InstalledRuntime] = {}
    java_home = Settings().java_home
    session_label = harness_runtime.label if harness_runtime is not None else None

    def runtime_of(label: str | None) -> InstalledRuntime | None:
        if label is None or label == session_label:
            return harness_runtime
        if label not in installed:
            from harness.runtimes import install, runtime_for

            installed[label] = install(runtime_for(label))  # cached after the first time
        return installed[label]

    def make(alias: str, storage: str | None = None, runtime: str | None = None) -> Target:
        storage = storage or ("s3" if alias == EmrStep.alias else "local")
        chosen = runtime_of(runtime)
        label = chosen.label if chosen is not None else None
        if (alias, storage, label) in made:
            return made[(alias, storage, label)]
        own = label == session_label  # the session's runtime: its cluster
        work = harness_work_dir / "targets" / (
            f"{alias}-{storage}" if own else f"{alias}-{storage}-{label}")
        needs_endpoint = storage == "s3" or alias == EmrStep.alias
        options: dict[str, Any] = {"java_home": java_home, "storage": storage, "endpoint":
                                   request.getfixturevalue("harness_endpoint")
                                   if needs_endpoint else None, "runtime": chosen}
        if alias == LocalSpark.alias:
            target: Target = LocalSpark(work, **options)
        elif alias == ClusterSpark.alias and own:
            target = ClusterSpark(work, cluster=request.getfixturevalue("harness_cluster"),
                                  **options)
        elif alias == ClusterSpark.alias:  # another runtime: a cluster of its own
            _stop_on_sigterm()
            target = ClusterSpark(work, topology=request.getfixturevalue("harness_topology"),
                                  backend=pytestconfig.getoption("--harness-backend"),
                                  **options)
        elif alias == EmrStep.alias:
            target = EmrStep(work, **options)
        else:
            from harness.errors import UsageError

            raise UsageError(f"harness_target: unknown target {alias!r}",
                             "use local, cluster or emr-step")
        made[(alias, storage, label)] = target
        return target

    try:
        yield make
    finally:
        for target in made.values():
            target.cleanup()
