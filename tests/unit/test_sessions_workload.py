"""The second built-in workload (sessionisation) through the same contract: its legacy
dict-of-open-sessions job and its vectorised job equal the DuckDB reference (window
functions), and every click is accounted."""

from __future__ import annotations

from harness.bench.runner import BenchOptions, BenchRun
from harness.config import get_profile
from harness.workloads import generate_fixture, get_workload


def test_sessions_legacy_equals_reference_and_accounts_every_click(tmp_path):
    workload = get_workload("sessions")
    fixture, _ = generate_fixture(workload, 3_000, 5, 0.02, tmp_path / "fx")
    options = BenchOptions(variants=["per-row", "vectorised"], profile=get_profile("local"),
                           work_dir=tmp_path / "w")
    report = BenchRun(workload, fixture, options, machine=lambda: {}).run()
    assert report.reference == "duckdb-sql" and report.reference_independent
    per_row, vectorised = report.results
    assert per_row.output_equal, per_row.mismatch
    assert vectorised.output_equal and vectorised.verdict == "equal", vectorised.mismatch
    assert per_row.rows_quarantined == 60  # 2% of 3,000: no user or no timestamp
    sessions = workload.vectorised(fixture.read_tables())["sessions"]
    assert int(sessions["clicks"].sum()) == 3_000 - 60
    assert (sessions["session_end"] >= sessions["session_start"]).all()
    assert sessions["user_id"].nunique() < len(sessions)  # users have several sessions
