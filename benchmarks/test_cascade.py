"""Benchmarks of the cascade workload. Each one proves its output equal to the reference
before its time counts; figures land in pytest-benchmark's JSON with the machine info.

    .venv/bin/python -m pytest benchmarks --benchmark-json .harness/benchmarks.json
"""

from __future__ import annotations

import pytest

from harness.bench.equivalence import compare_outputs
from harness.bench.runner import BenchOptions, BenchRun
from harness.config import get_profile
from harness.workloads import get_workload

from .conftest import cascade_fixture

CASCADE = get_workload("cascade")


@pytest.mark.parametrize("rows", [10_000, 100_000, 400_000])
def test_vectorised(benchmark, rows):
    tables = cascade_fixture(rows).read_tables()
    reference = CASCADE.vectorised(tables)
    outputs = benchmark(CASCADE.vectorised, tables)
    assert compare_outputs(CASCADE.outputs, reference, outputs, 1e-9).equal
    benchmark.extra_info["rows"] = rows


def _verified_run(fixture, options):
    """One variant's bench run; its output must equal the reference before it counts."""
    (result,) = BenchRun(CASCADE, fixture, options, machine=lambda: {}).run().results
    assert result.output_equal, result.mismatch
    return result


@pytest.mark.parametrize("variant", ["per-row", "batched", "async"])
def test_legacy_local(benchmark, bench_work_dir, variant):
    """The legacy variants at 10k rows against SQLite with no modelled latency."""
    fixture = cascade_fixture(10_000)
    options = BenchOptions(variants=[variant], profile=get_profile("local"),
                           work_dir=bench_work_dir / variant, sample=0)
    result = benchmark.pedantic(_verified_run, args=(fixture, options), rounds=1, iterations=1)
    benchmark.extra_info.update(rows=result.rows_in, round_trips=result.round_trips)


def test_per_row_rds_projection_reproduces_two_hours(benchmark, bench_work_dir):
    """The `rds` profile is calibrated on the original job: 400k rows per row in ~2 hours.
    The projection from a 1,000-row sample must land within 10% of 7,200 s."""
    fixture = cascade_fixture(400_000)
    options = BenchOptions(variants=["per-row"], profile=get_profile("rds"),
                           work_dir=bench_work_dir / "rds")
    result = benchmark.pedantic(_verified_run, args=(fixture, options), rounds=1, iterations=1)
    benchmark.extra_info.update(projected_seconds=result.seconds, projected=result.projected)
    assert result.projected
    assert abs(result.seconds - 7_200) / 7_200 < 0.10, result.seconds
