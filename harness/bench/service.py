"""`harness bench` as a function: the options checked, the fixture, the Spark targets and the
endpoint set up, the side-by-side run, the JSON written, and the mismatch policy. The CLI
parses, calls `bench`, prints the report, then `check_outputs`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.bench.runner import (
    EMR_STEP,
    SPARK,
    BenchOptions,
    BenchReport,
    BenchRun,
    ProgressSink,
    variant_names,
)
from harness.config import Settings, check_positive, get_profile
from harness.errors import OutputMismatch, UsageError

Status = Callable[[str], AbstractContextManager[Any]]
STORAGES = ("local", "s3")


@dataclass
class BenchRequest:
    """What `harness bench` was asked for (None: the default)."""

    workload: str = "cascade"
    rows: int | None = None
    fixture: Path | None = None
    variants: str = "all"
    profile: str = "local"
    db_rtt_ms: float | None = None
    db_url: str | None = None
    json_path: Path | None = None
    sample: int | None = None
    seed: int | None = None
    spark_master: str | None = None
    cluster: bool = False
    storage: str = "local"
    endpoint_url: str | None = None
    release_label: str | None = None  # the Spark variants' runtime (default: harness's own)


@dataclass
class BenchOutcome:
    report: BenchReport
    json_path: Path


def chosen_variants(workload: Any, variants: str) -> list[str]:  # noqa: ANN401
    """--variants: 'all' (every variant but spark-emr) or a comma-separated list."""
    if variants.strip() == "all":
        return variant_names(workload)
    return [v.strip() for v in variants.split(",") if v.strip()]


def bench(request: BenchRequest, settings: Settings | None = None, *,
          status: Status | None = None,
          progress: Callable[[], AbstractContextManager[ProgressSink]] | None = None,
          ) -> BenchOutcome:
    """Run `harness bench`: every chosen variant on one fixture, outputs proven equal, the
    JSON written (default .harness/bench-latest.json). Bad options fail before anything runs."""
    from harness.bench.table import write_json
    from harness.targets import ClusterSpark
    from harness.workloads import get_workload
    from harness.workloads.fixtures import resolve_fixture

    settings = settings or Settings()
    status = status or (lambda _message: contextlib.nullcontext())
    wl = get_workload(request.workload)
    if request.rows is not None and request.fixture is not None:
        raise UsageError("--rows and --fixture exclude each other",
                         "pass --rows to generate a fixture, or --fixture to use one")
    check_positive("--rows", request.rows)
    chosen = chosen_variants(wl, request.variants)
    lat = get_profile(request.profile, request.db_rtt_ms)
    if request.storage not in STORAGES:
        raise UsageError(f"unknown storage {request.storage!r}",
                         "use --storage local or --storage s3")
    options = BenchOptions(
        variants=chosen, profile=lat, work_dir=settings.work_dir / "bench",
        db_url=request.db_url or settings.db_url, sample=request.sample,
        spark_master=request.spark_master or settings.spark_master,
        spark_driver_memory=settings.spark_driver_memory, java_home=settings.java_home,
        storage=request.storage,
    )
    if request.release_label:  # installed (cached) before anything runs
        from harness.runtimes import install, runtime_for

        wanted = runtime_for(request.release_label)
        with status(f"installing the {wanted.label} runtime ({wanted.describe()}) ..."):
            options.runtime = install(wanted)
    if request.cluster:
        from harness import runtime

        running = runtime.running_cluster(settings.work_dir)
        options.targets[SPARK] = ClusterSpark(
            options.work_dir, cluster=running, storage=request.storage,
            java_home=settings.java_home, driver_memory=settings.spark_driver_memory,
            runtime=options.runtime)
    fx, _ = resolve_fixture(wl, fixture=request.fixture, rows=request.rows, seed=request.seed,
                            root=settings.fixtures_dir, status=status)
    run = BenchRun(wl, fx, options)  # validates variants before anything runs
    run.preflight()
    needs_endpoint = request.storage == "s3" or EMR_STEP in chosen
    with contextlib.ExitStack() as stack:
        if needs_endpoint:
            from harness.aws import open_endpoint

            # harness up's endpoint (or the one named), else one for this run only
            options.endpoint = stack.enter_context(open_endpoint(
                request.endpoint_url or settings.endpoint_url, settings.work_dir,
                endpoint_work_dir=options.work_dir / "endpoint"))
        if request.storage == "s3":
            from harness.aws.s3a import resolve_jars

            with status("resolving S3A jars ..."):
                options.s3a_jars = resolve_jars(settings.jar_cache).jars
        for target in options.targets.values():
            target.endpoint, target.s3a_jars = options.endpoint, options.s3a_jars or None
            target.runtime = options.runtime
        with progress() if progress else contextlib.nullcontext() as sink:
            if sink is not None:
                run.progress = sink
            report = run.run()
    target_json = request.json_path or settings.work_dir / "bench-latest.json"
    write_json(report, target_json)
    return BenchOutcome(report, target_json)


def check_outputs(report: BenchReport) -> None:
    """The mismatch policy: OutputMismatch (exit 1) when any variant's output differed."""
    if not report.all_equal:
        bad = [r.variant for r in report.results if not r.output_equal]
        raise OutputMismatch(
            f"output of {', '.join(bad)} differs from the reference; no speed reported for it",
            "see the 'output' column and the JSON's 'mismatch' field for the first difference",
        )
