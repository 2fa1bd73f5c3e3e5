"""The standalone Spark job, submitted with spark-submit on local[*], produces the
hand-checked rows of tests/golden.py: every quarantine reason, the precedence of reasons on
orders with several defects, and the unrounded amounts."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from harness.bench.equivalence import compare_outputs
from harness.spark import spark_submit
from harness.workloads import generate_fixture
from tests import golden

pytestmark = pytest.mark.integration


def test_spark_job_gives_the_hand_checked_rows(cascade, tmp_path):
    workload = dataclasses.replace(cascade, generate=lambda rows, seed, bad: golden.TABLES)
    fixture, _ = generate_fixture(workload, len(golden.ORDERS), 0, 0.0, tmp_path / "fx")
    out = tmp_path / "out"
    result = spark_submit(cascade.spark_job, [fixture.uri(), out.as_uri()], master="local[*]")
    assert result.returncode == 0, result.error_excerpt()
    spark = {name: pd.read_parquet(out / name) for name in cascade.output_names}
    comparison = compare_outputs(cascade.outputs, golden.EXPECTED, spark,
                                 cascade.float_tolerance)
    assert comparison.equal, comparison.summary()
