"""Options and shared state of the benchmark suite.

    --bench-workload NAME      any workload: built-in name, entry point or PKG.MODULE:NAME
    --bench-sizes 10000,...    fixture sizes (rows of the fact table)
    --bench-variants a,b       per-row, batched, async, vectorised, spark-local,
                               spark-cluster, spark-emr (default: all of the workload's)
    --bench-profile local|rds  the legacy variants' modelled database latency
    --bench-sample N           row-at-a-time legacy variants run at most N rows and are
                               projected to the size (marked projected)
    --overhead-rows N          test_overhead.py's fixture size (400,000), and its rounds:
    --overhead-rounds N        harness against by hand, alternately (3)

The cluster for spark-cluster comes from the harness pytest plugin (--harness-backend,
--harness-topology); spark-emr runs a step on a job flow through the EMR API of the
plugin's endpoint. The Spark variants' runtime is the plugin's --harness-release-label
(e.g. emr-7.12.0: Spark 3.5.6; default the harness's own pyspark); the JSON names it
(suite.runtime).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.bench.results import SPARK
from harness.workloads import Fixture, Workload, get_workload
from harness.workloads.fixtures import resolve_fixture

DEFAULT_SIZES = "10000,100000,400000"
SPARK_VARIANTS = list(SPARK)
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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise the suite by the options: sizes x variants of the chosen workload."""
    config = metafunc.config
    if "spark_startup_platform" in metafunc.fixturenames:
        variants = suite_variants(config, suite_workload(config))
        metafunc.parametrize("spark_startup_platform",
                             [v for v in SHARED_STARTUP if v in variants])
    if "bench_rows" not in metafunc.fixturenames:
        return
    workload = suite_workload(config)
    variants = suite_variants(config, workload)
    sizes = suite_sizes(config)
    if "legacy_variant" in metafunc.fixturenames:
        chosen = [v for v in workload.legacy if v in variants]
        metafunc.parametrize("legacy_variant", chosen)
    if "spark_platform" in metafunc.fixturenames:
        chosen = [v for v in SPARK_VARIANTS if v in variants]
        metafunc.parametrize("spark_platform", chosen)
    if metafunc.function.__name__ == "test_vectorised" and "vectorised" not in variants:
        metafunc.parametrize("bench_rows", [], ids=[])
        return
    metafunc.parametrize("bench_rows", sizes, ids=[f"{n}" for n in sizes])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Variants left out by --bench-variants are deselected, not reported as skipped."""
    unchosen = [item for item in items
                if any(m.name == "skip" and "empty parameter set" in str(m.kwargs.get("reason"))
                       for m in item.iter_markers())]
    if unchosen:
        config.hook.pytest_deselected(items=unchosen)
        items[:] = [item for item in items if item not in unchosen]


@pytest.fixture(scope="session")
def bench_work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench")


SUITE_OPTIONS = ("--bench-workload", "--bench-sizes", "--bench-variants", "--bench-profile",
                 "--bench-sample", "--harness-backend", "--harness-topology",
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

    output_json["suite"] = {"rootdir": str(config.rootpath), "options": options,
                            "runtime": runtime_description(
                                config.getoption("--harness-release-label", default=None))}
    reference = [b["fullname"] for b in output_json.get("benchmarks", [])
                 if b.get("name") == REFERENCE_TEST]
    if len(reference) == 1:
        output_json["suite"]["reference"] = reference[0]
