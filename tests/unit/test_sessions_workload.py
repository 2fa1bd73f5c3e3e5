"""The second built-in workload (sessionisation) through the same contract: its legacy
dict-of-open-sessions job and its vectorised job equal the DuckDB reference (window
functions), and every click is accounted."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from harness.bench.equivalence import compare_outputs
from harness.bench.runner import BenchOptions, BenchRun
from harness.config import get_profile
from harness.db import LegacyDatabase, sqlite_url
from harness.workloads import LegacyContext, generate_fixture, get_workload


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


# Clicks written out, sessions worked out by hand: a gap of exactly 30 minutes continues a
# session, one second more starts a new one; ties in time are one session; a click with
# neither user nor timestamp is NO_USER (checked first).
CLICKS = pa.table({
    "click_id": pa.array([9, 1, 3, 2, 4, 5, 6, 7, 8], pa.int64()),
    "user_id": pa.array([1, 1, 1, 1, 2, 2, None, 2, None], pa.int64()),
    "ts": pa.array([10_000, 1_000, 4_601, 2_800, 500, 500, 700, None, None], pa.int64()),
    "page": pa.array([1] * 9, pa.int64()),
})
SESSIONS = pd.DataFrame({"user_id": [1, 1, 1, 2], "session_start": [1_000, 4_601, 10_000, 500],
                         "session_end": [2_800, 4_601, 10_000, 500], "clicks": [2, 1, 1, 2]})
QUARANTINE = pd.DataFrame({"click_id": [6, 7, 8],
                           "reason": ["NO_USER", "NO_TIMESTAMP", "NO_USER"]})


def _per_row_on_sqlite(workload, tmp_path):
    db = LegacyDatabase(sqlite_url(tmp_path / "legacy.db"))
    try:
        db.recreate(workload.legacy_schema)
        workload.legacy["per-row"].run(LegacyContext(rows=CLICKS, db=db))
        with db.engine.connect() as conn:
            return {name: pd.read_sql_query(f"SELECT * FROM {name}", conn)
                    for name in workload.output_names}
    finally:
        db.dispose()


@pytest.mark.parametrize("implementation", ["reference", "vectorised", "per-row"])
def test_every_sessions_implementation_gives_the_hand_checked_sessions(tmp_path, implementation):
    workload = get_workload("sessions")
    outputs = {"reference": lambda: workload.reference.run({"clicks": CLICKS}),
               "vectorised": lambda: workload.vectorised({"clicks": CLICKS}),
               "per-row": lambda: _per_row_on_sqlite(workload, tmp_path)}[implementation]()
    comparison = compare_outputs(workload.outputs, {"sessions": SESSIONS,
                                                    "quarantine": QUARANTINE}, outputs, 0.0)
    assert comparison.equal, comparison.summary()
