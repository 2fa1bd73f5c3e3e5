"""End to end on real components: spark-submit of the standalone job, the legacy variants
against a real PostgreSQL server, and the `harness bench` command with every variant."""

from __future__ import annotations

import json
import os
import socket
import sys

import pandas as pd
import pytest

from harness import procs
from harness.bench.equivalence import compare_outputs
from harness.bench.runner import BenchOptions, BenchRun
from harness.config import get_profile
from harness.spark import spark_submit
from tests.backends import CLUSTER_BACKENDS

pytestmark = pytest.mark.integration


def test_spark_job_output_equals_the_reference(cascade, small_fixture, tmp_path):
    out = tmp_path / "out"
    result = spark_submit(cascade.spark_job, [small_fixture.uri(), out.as_uri()],
                          master="local[2]")
    assert result.returncode == 0, result.error_excerpt()
    assert result.metrics["spark_version"] and result.metrics["job_s"] > 0
    spark = {name: pd.read_parquet(out / name) for name in cascade.output_names}
    reference = cascade.reference_outputs(small_fixture.read_tables())  # the DuckDB oracle
    comparison = compare_outputs(cascade.outputs, reference, spark, cascade.float_tolerance)
    assert comparison.equal, comparison.summary()
    assert sorted(spark["quarantine"]["reason"].unique()) == [
        "BAD_QUANTITY", "MISSING_REGION", "UNKNOWN_CATEGORY", "UNKNOWN_CUSTOMER",
        "UNKNOWN_PRODUCT",
    ]


def test_spark_job_failure_is_reported_with_its_error(cascade, tmp_path):
    missing = (tmp_path / "no-such-fixture").as_uri()
    result = spark_submit(cascade.spark_job, [missing, (tmp_path / "o").as_uri()],
                          master="local[1]")
    assert result.returncode != 0
    assert "PATH_NOT_FOUND" in result.error_excerpt() or "does not exist" in \
        result.error_excerpt()


def test_legacy_variants_on_postgres_equal_sqlite_and_reference(
    cascade, small_fixture, tmp_path, postgres_url
):
    variants = ["per-row", "batched", "async"]
    reports = {}
    for label, url in (("postgres", postgres_url), ("sqlite", None)):
        options = BenchOptions(variants=variants, profile=get_profile("local"),
                               work_dir=tmp_path / label, db_url=url, sample=0)
        reports[label] = BenchRun(cascade, small_fixture, options, machine=lambda: {}).run()
    assert reports["postgres"].database.startswith("postgresql+psycopg://harness@127.0.0.1")
    for label, report in reports.items():
        for result in report.results:
            assert result.output_equal, (label, result.variant, result.mismatch)
            assert result.rows_in == small_fixture.rows
    pg = {r.variant: (r.rows_enriched, r.rows_quarantined) for r in reports["postgres"].results}
    lite = {r.variant: (r.rows_enriched, r.rows_quarantined) for r in reports["sqlite"].results}
    assert pg == lite


def test_harness_bench_runs_every_variant_and_writes_json(tmp_path):
    target = tmp_path / "bench.json"
    proc = procs.run(
        [sys.executable, "-m", "harness.cli", "bench", "--rows", "1500", "--sample", "500",
         "--json", str(target)],
        capture_output=True, text=True, cwd=tmp_path, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for variant in ("per-row", "batched", "async", "vectorised", "spark"):
        assert variant in proc.stdout
    report = json.loads(target.read_text())
    assert report["machine"]["cores"] >= 1 and report["machine"]["spark"]
    assert report["fixture"]["rows"] == 1500 and len(report["fixture"]["sha256"]) == 5
    results = {r["variant"]: r for r in report["results"]}
    assert set(results) == {"per-row", "batched", "async", "vectorised", "spark"}
    for r in results.values():
        for key in ("variant", "profile", "rows_in", "rows_enriched", "rows_quarantined",
                    "seconds", "rows_per_s", "projected", "output_equal"):
            assert key in r
        assert r["output_equal"] and r["seconds"] > 0
        assert r["rows_in"] == r["rows_enriched"] + r["rows_quarantined"]
    assert results["per-row"]["projected"] and results["per-row"]["rows_in"] == 500
    assert not results["spark"]["projected"] and results["spark"]["rows_in"] == 1500
    assert results["spark"]["details"]["job_s"] > 0
    # where its time went, from its marks and event log, summing to the submit's wall time
    phases = results["spark"]["details"]["phases"]
    assert list(phases)[:3] == ["driver start", "session", "read"] and "compute" in phases
    assert sum(phases.values()) == pytest.approx(results["spark"]["measured_seconds"],
                                                 abs=0.1)
    # the cascade's baseline, recorded with which variants are legacy and the speed-ups
    assert report["baseline"] == "per-row" and "vs per-row" in proc.stdout
    assert [v for v, r in results.items() if r["legacy"]] == ["per-row", "batched", "async"]
    assert results["per-row"]["speedup_vs_baseline"] == 1.0
    assert results["batched"]["speedup_vs_baseline"] == pytest.approx(
        results["batched"]["rows_per_s"] / results["per-row"]["rows_per_s"])


@pytest.mark.parametrize("backend", CLUSTER_BACKENDS)
def test_harness_bench_runs_the_job_as_an_emr_step_and_verifies_it(tmp_path, backend):
    """--variants spark-emr: the job as a step on a job flow through the EMR API of an
    endpoint started for the run, its outputs downloaded and verified like every variant's;
    the endpoint (and with it the job flow) is gone afterwards."""
    target = tmp_path / "bench.json"
    proc = procs.run(
        [sys.executable, "-m", "harness.cli", "bench", "--rows", "1500",
         "--variants", "vectorised,spark-emr", "--json", str(target)],
        capture_output=True, text=True, cwd=tmp_path, timeout=900, check=False,
        env={**os.environ, "HARNESS_WORK_DIR": str(tmp_path / ".harness"),
             "HARNESS_EMR_BACKEND": backend},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "spark-emr" in proc.stdout
    results = {r["variant"]: r for r in json.loads(target.read_text())["results"]}
    emr = results["spark-emr"]
    assert emr["output_equal"] and emr["rows_in"] == 1500 and emr["seconds"] > 0
    details = emr["details"]
    assert details["target"] == "emr-step" and details["storage"] == "s3"
    assert details["cluster_id"].startswith("j-") and details["step"].startswith("s-")
    assert details["job_s"] > 0 and details["job_flow_ready_s"] > 0  # from the step's log
    # the step's bookkeeping around the Spark phases (its controller log's PHASE lines)
    phases = details["phases"]
    assert list(phases)[:2] == ["step queued", "step downloads"]
    assert {"driver start", "compute", "commit", "step after exit", "polling"} <= set(phases)
    assert sum(phases.values()) == pytest.approx(emr["measured_seconds"], abs=0.1)
    assert details["input"].startswith("s3://harness-raw/cascade/")
    port = int(details["endpoint"].rsplit(":", 1)[1])
    with socket.socket() as sock:  # the endpoint started for the run is stopped
        assert sock.connect_ex(("127.0.0.1", port)) != 0
