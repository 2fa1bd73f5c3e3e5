"""The sessionisation workload on every variant, Spark's window functions included."""

from __future__ import annotations

import pytest

from harness.bench.runner import BenchOptions, BenchRun, variant_names
from harness.config import get_profile
from harness.workloads import generate_fixture, get_workload

pytestmark = pytest.mark.integration


def test_every_variant_of_the_sessions_workload_is_equal(tmp_path):
    workload = get_workload("sessions")
    fixture, _ = generate_fixture(workload, 5_000, 3, 0.02, tmp_path / "fx")
    options = BenchOptions(variants=variant_names(workload), profile=get_profile("local"),
                           work_dir=tmp_path / "w", spark_master="local[2]")
    report = BenchRun(workload, fixture, options, machine=lambda: {}).run()
    assert [r.variant for r in report.results] == ["per-row", "vectorised", "spark"]
    for result in report.results:
        assert result.output_equal, (result.variant, result.mismatch)
