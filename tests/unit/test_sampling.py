"""A sampled legacy run is judged by the reference computed on the same sample (the
workload's tables cut the same way), so an aggregating workload's correct legacy job is
judged equal when sampled and a wrong one different; a workload can say how its tables are
cut."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from harness.bench.equivalence import compare_outputs
from harness.bench.runner import BenchOptions, BenchRun
from harness.config import get_profile
from harness.errors import WorkloadError
from harness.workloads import LegacyImpl, OutputSpec, Workload, generate_fixture, get_workload
from harness.workloads.oracle import duckdb_reference

# -- a stock-per-SKU workload, as a user would write it from the README ----------------------


def generate(rows, seed, bad_share):
    rng = np.random.default_rng(seed)
    return {"movements": pa.table({
        "movement_id": pa.array(np.arange(1, rows + 1), pa.int64()),
        "sku": pa.array(rng.integers(1, 30, rows), pa.int64()),
        "qty": pa.array(rng.integers(-20, 50, rows), pa.int64(),
                        mask=rng.random(rows) < bad_share)})}


def per_row(ctx):
    """The legacy job: one movement at a time, a dict of stock on hand per SKU."""
    stock, quarantine = {}, []
    for batch in ctx.batches():
        for move in batch:
            if move["qty"] is None:
                quarantine.append({"movement_id": move["movement_id"], "reason": "NO_QTY"})
                continue
            s = stock.setdefault(move["sku"], {"sku": move["sku"], "on_hand": 0,
                                               "movements": 0})
            s["on_hand"] += move["qty"]
            s["movements"] += 1
        ctx.progress(len(batch))
    return {"stock": list(stock.values()), "quarantine": quarantine}


def receipts_only(ctx):
    """A wrong legacy job: it forgets issues (negative movements) in the stock on hand."""
    out = per_row(ctx)
    issued: dict[int, int] = {}
    for move in ctx.rows.to_pylist():
        if move["qty"] is not None and move["qty"] < 0:
            issued[move["sku"]] = issued.get(move["sku"], 0) + move["qty"]
    for s in out["stock"]:
        s["on_hand"] -= issued.get(s["sku"], 0)
    return out


def vectorised(tables):
    moves = tables["movements"].to_pandas()
    ok = moves["qty"].notna()
    stock = moves[ok].groupby("sku", as_index=False).agg(on_hand=("qty", "sum"),
                                                         movements=("qty", "size"))
    stock["on_hand"] = stock["on_hand"].astype("int64")
    return {"stock": stock,
            "quarantine": moves.loc[~ok, ["movement_id"]].assign(reason="NO_QTY")}


REFERENCE = duckdb_reference("duckdb-sql", {
    "stock": "SELECT sku, sum(qty) AS on_hand, count(*) AS movements FROM movements "
             "WHERE qty IS NOT NULL GROUP BY sku",
    "quarantine": "SELECT movement_id, 'NO_QTY' AS reason FROM movements WHERE qty IS NULL",
}, "stock per SKU as a GROUP BY on DuckDB")

STOCK = Workload(
    name="stock", description="stock on hand per SKU from stock movements",
    fact_table="movements", generate=generate, generator_version="1",
    outputs=(OutputSpec("stock", ("sku",)), OutputSpec("quarantine", ("movement_id",))),
    legacy={"per-row": LegacyImpl("per-row", per_row, "dict of running totals",
                                  row_at_a_time=True)},
    vectorised=vectorised, spark_job=Path(__file__), reference=REFERENCE,
    accounted_rows=lambda out: int(out["stock"]["movements"].sum()) + len(out["quarantine"]))


@pytest.fixture(scope="module")
def stock_fixture(tmp_path_factory):
    fixture, _ = generate_fixture(STOCK, 3_000, 4, 0.03, tmp_path_factory.mktemp("stock") / "fx")
    return fixture


def _bench(workload, fixture, work_dir, sample, variants=("per-row",)):
    options = BenchOptions(variants=list(variants), profile=get_profile("local"),
                           work_dir=work_dir, sample=sample)
    return BenchRun(workload, fixture, options, machine=lambda: {}).run()


def _with_legacy(workload, run, **kw):
    return dataclasses.replace(workload, legacy={"per-row": LegacyImpl(
        "per-row", run, "legacy", row_at_a_time=True)}, **kw)


def test_sampled_totals_differ_from_the_whole_fixtures(stock_fixture):
    """What makes the test below mean something: stock after 300 movements is not stock
    after 3,000, so judging a sample by the whole fixture's totals would fail it."""
    tables = stock_fixture.read_tables()
    whole = STOCK.reference_outputs(tables)
    sample = STOCK.reference_outputs(STOCK.cut(tables, 300))
    assert not compare_outputs(STOCK.outputs[:1], whole, sample, 1e-9).equal


@pytest.mark.parametrize("reference", [REFERENCE, None], ids=["oracle", "vectorised"])
def test_a_correct_aggregating_legacy_job_is_equal_when_sampled(
        stock_fixture, work_dir, reference):
    workload = dataclasses.replace(STOCK, reference=reference)
    (result,) = _bench(workload, stock_fixture, work_dir, sample=300).results
    assert result.output_equal and result.verdict == "equal", result.mismatch
    assert result.projected and result.measured_rows == 300 and result.rows_full == 3_000
    assert result.seconds == pytest.approx(result.measured_seconds * 3_000 / 300)


@pytest.mark.parametrize("reference", [REFERENCE, None], ids=["oracle", "vectorised"])
@pytest.mark.parametrize("sample", [300, 0], ids=["sampled", "full"])
def test_a_wrong_aggregating_legacy_job_is_different_sampled_or_not(
        stock_fixture, work_dir, reference, sample):
    workload = _with_legacy(STOCK, receipts_only, reference=reference)
    (result,) = _bench(workload, stock_fixture, work_dir, sample=sample).results
    assert not result.output_equal and result.seconds is None
    assert "stock: column 'on_hand' differs" in result.mismatch


def test_a_workload_says_how_its_tables_are_cut_and_both_sides_get_the_cut(
        stock_fixture, work_dir):
    seen: dict[str, object] = {}

    def last_rows(tables, rows):  # e.g. the newest movements, for a fact table in time order
        fact = tables["movements"]
        return {**tables, "movements": fact.slice(fact.num_rows - rows)}

    def recording(ctx):
        seen["ids"] = ctx.rows["movement_id"].to_pylist()
        return per_row(ctx)

    workload = _with_legacy(STOCK, recording, sample_tables=last_rows,
                            load_legacy_db=lambda engine, tables: seen.update(loaded=tables))
    (result,) = _bench(workload, stock_fixture, work_dir, sample=300).results
    assert result.output_equal, result.mismatch
    assert seen["ids"] == list(range(2_701, 3_001))
    assert seen["loaded"]["movements"].num_rows == 300  # the legacy database saw the cut


def test_a_cut_without_the_fact_table_is_a_workload_error(stock_fixture, work_dir):
    workload = dataclasses.replace(STOCK, sample_tables=lambda tables, rows: {})
    with pytest.raises(WorkloadError, match="its sample_tables returned no 'movements' table"):
        _bench(workload, stock_fixture, work_dir, sample=300)


def test_the_sessions_workload_sampled_is_judged_on_its_sample(tmp_path):
    """Sessions aggregate clicks: the first 500 clicks make other sessions than all 3,000."""
    workload = get_workload("sessions")
    fixture, _ = generate_fixture(workload, 3_000, 5, 0.02, tmp_path / "fx")
    (result,) = _bench(workload, fixture, tmp_path / "w", sample=500).results
    assert result.output_equal, result.mismatch
    assert result.projected and result.measured_rows == 500
