"""Each legacy variant, run against an embedded SQLite database, produces exactly the
reference output (enriched rows and quarantine with reasons), making the round trips its
design says it makes."""

from __future__ import annotations

import asyncio
import dataclasses

import pyarrow as pa
import pytest

from harness.bench.runner import BenchOptions, BenchRun
from harness.config import LatencyProfile, get_profile
from harness.db import LegacyDatabase, sqlite_url
from harness.workloads.base import LegacyContext, LegacyImpl


def _run_bench(workload, fixture, work_dir, variants, profile="local", sample=None, **kw):
    options = BenchOptions(variants=variants, profile=get_profile(profile, kw.pop("rtt", None)),
                           work_dir=work_dir, sample=sample, **kw)
    return BenchRun(workload, fixture, options, machine=lambda: {}).run()


@pytest.mark.parametrize("variant", ["per-row", "batched", "async"])
def test_legacy_variant_matches_reference_including_quarantine(
    cascade, small_fixture, work_dir, variant
):
    report = _run_bench(cascade, small_fixture, work_dir, [variant], sample=0)
    (result,) = report.results
    assert result.output_equal, result.mismatch
    assert result.rows_in == 1_000
    assert result.rows_enriched + result.rows_quarantined == 1_000
    assert result.rows_quarantined == 50  # 5% of 1,000
    assert not result.projected and result.seconds > 0


def test_async_variant_runs_where_an_event_loop_already_runs(cascade, small_fixture, work_dir):
    """A host with its own loop in the thread (Playwright's sync API, pytest-asyncio, a
    notebook) used to fail the async variant: asyncio.run() refuses to nest."""
    async def inside_a_running_loop():
        return _run_bench(cascade, small_fixture, work_dir, ["async"], sample=0)

    (result,) = asyncio.run(inside_a_running_loop()).results
    assert result.output_equal, result.mismatch
    assert result.rows_enriched + result.rows_quarantined == 1_000


def test_per_row_makes_six_round_trips_per_good_order(cascade, small_fixture, tmp_path):
    db = LegacyDatabase(sqlite_url(tmp_path / "db.sqlite"))
    db.recreate(cascade.legacy_schema)
    tables = small_fixture.read_tables()
    cascade.load_legacy_db(db.engine, tables)
    rows = tables["orders"].slice(0, 200)
    good = cascade.vectorised({**tables, "orders": rows})["enriched"]
    db.round_trips = 0
    cascade.legacy["per-row"].run(LegacyContext(rows=rows, db=db))
    # 4 lookups + insert + commit for a good order; bad ones stop earlier in the cascade
    assert db.round_trips <= 6 * 200
    assert db.round_trips >= 6 * len(good)


def test_modelled_latency_is_applied_per_round_trip(cascade, small_fixture, work_dir):
    fast = _run_bench(cascade, small_fixture, work_dir, ["per-row"], sample=50).results[0]
    slow = _run_bench(cascade, small_fixture, work_dir, ["per-row"], sample=50,
                      rtt=5.0).results[0]
    assert slow.modelled_latency and not fast.modelled_latency
    # the modelled wait alone is round_trips x 5 ms
    assert slow.measured_seconds >= slow.round_trips * 0.005


def test_sampled_variant_is_projected_to_the_full_fixture(cascade, small_fixture, work_dir):
    (result,) = _run_bench(cascade, small_fixture, work_dir, ["per-row"], sample=200).results
    assert result.output_equal, result.mismatch
    assert result.projected and result.measured_rows == 200 and result.rows_in == 200
    assert result.rows_full == 1_000
    assert result.seconds == pytest.approx(result.measured_seconds * 1_000 / 200)


def test_default_sample_comes_from_the_profile(cascade, small_fixture, work_dir):
    profile = LatencyProfile("test", 0.0, 300, "a profile sampling 300 rows")
    options = dict(profile=profile, work_dir=work_dir)
    report = BenchRun(cascade, small_fixture,
                      BenchOptions(variants=["per-row", "batched"], **options),
                      machine=lambda: {}).run()
    per_row, batched = report.results
    assert per_row.measured_rows == 300 and per_row.projected  # row-at-a-time: sampled
    assert batched.measured_rows == 1_000 and not batched.projected


def _wrong_per_row(ctx):
    """The per-row job with a bug: it forgets the order's discount."""
    rows = ctx.rows.set_column(
        ctx.rows.schema.get_field_index("discount"), "discount",
        pa.array([0.0] * ctx.rows.num_rows, pa.float64()),
    )
    ctx = dataclasses.replace(ctx, rows=rows)
    from harness.workloads.cascade import legacy

    legacy.per_row(ctx)


def test_a_wrong_variant_is_caught_and_gets_no_speed_figure(cascade, small_fixture, work_dir):
    broken = dataclasses.replace(
        cascade,
        legacy={**cascade.legacy, "per-row": LegacyImpl("per-row", _wrong_per_row, "buggy")},
    )
    report = _run_bench(broken, small_fixture, work_dir, ["per-row", "batched"], sample=0)
    wrong, right = report.results
    assert not wrong.output_equal and wrong.seconds is None and wrong.rows_per_s is None
    assert "net_amount" in wrong.mismatch
    assert right.output_equal and right.seconds is not None
    assert not report.all_equal


def test_a_legacy_job_runs_with_the_harness_heap_frozen(cascade, small_fixture, work_dir,
                                                        monkeypatch):
    """The collector does not walk the harness's own objects while the job runs (README,
    "the harness's overhead"), and they are back in its care after."""
    import gc

    seen = []
    job = cascade.legacy["batched"]
    monkeypatch.setitem(cascade.legacy, "batched", dataclasses.replace(
        job, run=lambda ctx: (seen.append(gc.get_freeze_count()), job.run(ctx))[1]))
    report = _run_bench(cascade, small_fixture, work_dir, ["batched"], sample=0)
    assert report.results[0].output_equal
    assert seen and seen[0] > 0  # frozen during the job
    assert gc.get_freeze_count() == 0  # and unfrozen after
