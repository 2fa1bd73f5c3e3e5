"""Options and shared state of the benchmark suite.

    --bench-workload NAME      any workload: built-in name, entry point or PKG.MODULE:NAME
    --bench-sizes 10000,...    fixture sizes (rows of the fact table)
    --bench-variants a,b       per-row, batched, async, vectorised, spark-local,
                               spark-cluster, spark-emr (default: all of the workload's)
    --bench-profile local|rds  the legacy variants' modelled database latency
    --bench-sample N           row-at-a-time legacy variants run at most N rows and are
                               projected to the size (marked projected)
    --bench-runtimes a,b       the runtimes the Spark variants run on, each its own
                               benchmarks: default (the plugin's runtime, below) and
                               release labels, e.g. default,emr-7.12.0 (default: default)
    --overhead-rows N          test_overhead.py's fixture size (400,000), and its rounds:
    --overhead-rounds N        harness against by hand, alternately (3)

The cluster for spark-cluster comes from the harness pytest plugin (--harness-backend,
--harness-topology); spark-emr runs a step on a job flow through the EMR API of the
plugin's endpoint. The default runtime is the plugin's --harness-release-label (e.g.
emr-7.12.0: Spark 3.5.6; without it the harness's own pyspark); its benchmarks keep their
plain names (test_spark[spark-local-10000]), another runtime's carry its label
(test_spark[spark-local@emr-7.12.0-10000]) and start their own cluster and job flow
(harness_target(..., runtime=LABEL)). A job flow always runs a release: spark-emr on the
default runtime is a job flow of emr-7.12.0 (harness.targets.JOB_FLOW_RELEASE) unless
--harness-release-label says otherwise, so spark-emr@emr-7.12.0 is that same benchmark and
runs once, under its plain name. The suite runs the default runtime's benchmarks first, in
their usual order, then each other runtime's (its start-ups, then its sizes). The JSON
names the runtimes (suite.runtime: the default's; suite.runtimes: each one's) and every
Spark benchmark its own (extra_info runtime, bench_runtime).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.bench.results import SPARK
from harness.workloads import Fixture, Workload, get_workload
from harness.workloads.fixtures import resolve_fixture

DEFAULT_SIZES = "10000,100000,400000"
SPARK_VARIANTS = list(SPARK)
# --bench-runtimes' name for the plugin's own runtime (--harness-release-label, else the
# harness's pyspark)
DEFAULT_RUNTIME = "default"
# platforms started once per session: their start-up is one benchmark, not one per size
SHARED_STARTUP = ("spark-cluster", "spark-emr")
# the run's reference benchmark, named in the JSON (suite.reference) for `harness gate`
REFERENCE_TEST = "test_reference_computation"
# benchmarks time Spark and the EMR path, not spot capacity's modelled wait (README,
# "Instance fleets, resizes and spot"): the endpoints they start (children) skip it
os.environ.setdefault("HARNESS_EMR_TIME_SCALE", "0")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bench", "emr-rehearsal benchmark suite")
    group.addoption("--bench-workload", default="cascade", help="workload to benchmark")
    group.addoption("--bench-sizes", default=DEFAULT_SIZES, help="comma-separated row counts")
    group.addoption("--bench-variants", default="", help="comma-separated variants (all)")
    group.addoption("--bench-profile", default="local", help="legacy latency profile")
    group.addoption("--bench-sample", type=int, default=5_000,
                    help="row-at-a-time legacy variants run at most this many rows")
    group.addoption("--bench-runtimes", default=DEFAULT_RUNTIME,
                    help="comma-separated runtimes of the Spark variants: default (the "
                         "plugin's --harness-release-label, else the harness's own pyspark) "
                         "and release labels, e.g. default,emr-7.12.0")
    group.addoption("--overhead-rows", type=int, default=400_000,
                    help="test_overhead.py: rows of the fixture")
    group.addoption("--overhead-rounds", type=int, default=3,
                    help="test_overhead.py: rounds of harness against by hand")


def pytest_configure(config: pytest.Config) -> None:
    target = config.getoption("benchmark_json", default=None)
    if target is not None:  # pytest-benchmark writes the file but makes no directory
        Path(target).parent.mkdir(parents=True, exist_ok=True)


def cascade_fixture(rows: int) -> Fixture:
    return dataset(get_workload("cascade"), rows)


def dataset(workload: Workload, rows: int) -> Fixture:
    fixture, _ = resolve_fixture(workload, rows=rows)
    return fixture


def suite_workload(config: pytest.Config) -> Workload:
    return get_workload(config.getoption("--bench-workload"))


def suite_sizes(config: pytest.Config) -> list[int]:
    raw = config.getoption("--bench-sizes")
    try:
        sizes = [int(s.replace("_", "")) for s in raw.split(",") if s.strip()]
    except ValueError:
        raise pytest.UsageError(
            f"--bench-sizes {raw!r}: give row counts like 10000,100000") from None
    if not sizes or min(sizes) <= 0:
        raise pytest.UsageError(f"--bench-sizes {raw!r}: give positive row counts")
    return sizes


def suite_variants(config: pytest.Config, workload: Workload) -> list[str]:
    known = [*workload.legacy, "vectorised", *SPARK_VARIANTS]
    raw = config.getoption("--bench-variants")
    chosen = [v.strip() for v in raw.split(",") if v.strip()] or known
    unknown = [v for v in chosen if v not in known]
    if unknown:
        raise pytest.UsageError(f"--bench-variants: unknown {', '.join(unknown)}; "
                                f"choose from {', '.join(known)}")
    return chosen


def suite_runtimes(config: pytest.Config) -> list[str | None]:
    """--bench-runtimes: None for the default runtime, else a release label as the catalog
    names it (a Spark version such as 3.5.6 names the newest label shipping it)."""
    from harness.runtimes import EMBEDDED, UnknownReleaseLabel, check_runnable, runtime_for

    raw = config.getoption("--bench-runtimes")
    chosen: list[str | None] = []
    for name in (n.strip() for n in raw.split(",") if n.strip()):
        if name == EMBEDDED:
            raise pytest.UsageError(
                f"--bench-runtimes: {EMBEDDED!r} is not a release; the harness's own pyspark "
                f"is {DEFAULT_RUNTIME!r} (without --harness-release-label)")
        try:
            label = None if name == DEFAULT_RUNTIME else runtime_for(name).label
            if label is not None:
                check_runnable(runtime_for(label))
        except UnknownReleaseLabel as exc:
            raise pytest.UsageError(f"--bench-runtimes: {exc.one_line()}") from None
        if label not in chosen:
            chosen.append(label)
    if not chosen:
        raise pytest.UsageError(f"--bench-runtimes {raw!r}: name at least one runtime, "
                                f"e.g. {DEFAULT_RUNTIME} or {DEFAULT_RUNTIME},emr-7.12.0")
    return chosen


@dataclass(frozen=True)
class SparkCase:
    """A Spark platform on one runtime: `runtime` a release label, None the default one.
    Its id names the benchmark: the platform alone on the default runtime (as before
    there were runtimes, so stored baselines still match), else platform@label."""

    platform: str
    runtime: str | None = None

    @property
    def id(self) -> str:
        return self.platform if self.runtime is None else f"{self.platform}@{self.runtime}"

    def __str__(self) -> str:
        return self.id


def _runs_on(platform: str, label: str | None) -> str | None:
    """The Spark a platform really runs for a runtime: a job flow always runs a release
    (the default one without a label), local[*] and the cluster the harness's own pyspark."""
    from harness.targets import JOB_FLOW_RELEASE

    return (label or JOB_FLOW_RELEASE) if platform == "spark-emr" else label


def spark_cases(platforms: list[str], runtimes: list[str | None],
                default_label: str | None = None) -> list[SparkCase]:
    """Each chosen platform on each chosen runtime, runtime by runtime; a runtime that is
    what the default runtime runs on that platform (spark-emr's emr-7.12.0, or the plugin's
    --harness-release-label given again) is the default's benchmark, named and run once."""
    cases: list[SparkCase] = []
    for runtime in runtimes:
        for platform in platforms:
            same = _runs_on(platform, runtime or default_label) == \
                _runs_on(platform, default_label)
            case = SparkCase(platform, None if same else runtime)
            if case not in cases:
                cases.append(case)
    return cases


def suite_spark_cases(config: pytest.Config, platforms: list[str]) -> list[SparkCase]:
    return spark_cases(platforms, suite_runtimes(config),
                       config.getoption("--harness-release-label", default=None))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise the suite by the options: sizes x variants of the chosen workload, the
    Spark variants on each runtime."""
    config = metafunc.config
    if "spark_startup_platform" in metafunc.fixturenames:
        variants = suite_variants(config, suite_workload(config))
        cases = suite_spark_cases(config, [v for v in SHARED_STARTUP if v in variants])
        metafunc.parametrize("spark_startup_platform", cases, ids=[c.id for c in cases])
    if "bench_rows" not in metafunc.fixturenames:
        return
    workload = suite_workload(config)
    variants = suite_variants(config, workload)
    sizes = suite_sizes(config)
    if "legacy_variant" in metafunc.fixturenames:
        chosen = [v for v in workload.legacy if v in variants]
        metafunc.parametrize("legacy_variant", chosen)
    if "spark_platform" in metafunc.fixturenames:
        cases = suite_spark_cases(config, [v for v in SPARK_VARIANTS if v in variants])
        metafunc.parametrize("spark_platform", cases, ids=[c.id for c in cases])
    if metafunc.function.__name__ == "test_vectorised" and "vectorised" not in variants:
        metafunc.parametrize("bench_rows", [], ids=[])
        return
    metafunc.parametrize("bench_rows", sizes, ids=[f"{n}" for n in sizes])


def _runtime_group(item: pytest.Item, runtimes: list[str | None]) -> int:
    """0 for every benchmark on the default runtime (and those not on Spark), else 1 + the
    position of its runtime in --bench-runtimes."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    case = params.get("spark_platform") or params.get("spark_startup_platform")
    if not isinstance(case, SparkCase) or case.runtime is None:
        return 0
    return 1 + runtimes.index(case.runtime)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Variants left out by --bench-variants are deselected, not reported as skipped. The
    default runtime's benchmarks run first, in their usual order (so their figures are
    taken as in a run of that runtime alone), then each other runtime's, its start-ups
    before its sizes."""
    unchosen = [item for item in items
                if any(m.name == "skip" and "empty parameter set" in str(m.kwargs.get("reason"))
                       for m in item.iter_markers())]
    if unchosen:
        config.hook.pytest_deselected(items=unchosen)
        items[:] = [item for item in items if item not in unchosen]
    if any(i.path.name == "test_suite.py" for i in items):
        runtimes = suite_runtimes(config)
        items.sort(key=lambda item: _runtime_group(item, runtimes))  # stable


@pytest.fixture(scope="session")
def bench_work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench")


SUITE_OPTIONS = ("--bench-workload", "--bench-sizes", "--bench-variants", "--bench-profile",
                 "--bench-sample", "--bench-runtimes", "--harness-backend", "--harness-topology",
                 "--harness-release-label")


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: list,
                                 output_json: dict) -> None:
    """Record how the suite was run, so `harness gate` can re-run an ambiguous benchmark
    exactly as it ran (same options, same root directory), and name the run's reference
    benchmark, so the gate never has to guess it."""
    options = []
    for name in SUITE_OPTIONS:
        value = config.getoption(name, default=None)
        if value not in (None, ""):
            options.append(f"{name}={value}")
    from harness.targets import runtime_description

    default = config.getoption("--harness-release-label", default=None)
    output_json["suite"] = {
        "rootdir": str(config.rootpath), "options": options,
        "runtime": runtime_description(default),
        "runtimes": {name or DEFAULT_RUNTIME: runtime_description(name or default)
                     for name in suite_runtimes(config)}}
    reference = [b["fullname"] for b in output_json.get("benchmarks", [])
                 if b.get("name") == REFERENCE_TEST]
    if len(reference) == 1:
        output_json["suite"]["reference"] = reference[0]
