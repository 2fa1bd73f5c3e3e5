"""Every implementation of the cascade produces the hand-checked rows of tests/golden.py
(rules.py, the DuckDB oracle, the vectorised job, each legacy variant on SQLite), and the
bench catches a variant whose amounts are a cent off or whose quarantine precedence differs
from the rules'."""

from __future__ import annotations

import dataclasses
import itertools
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from harness.bench.equivalence import compare_outputs
from harness.bench.runner import BenchOptions, BenchRun
from harness.config import get_profile
from harness.db import LegacyDatabase, sqlite_url
from harness.errors import FixtureError
from harness.workloads import LegacyContext, LegacyImpl, generate_fixture
from harness.workloads.cascade import generator, legacy, rules
from tests import golden


def _equal_to_golden(cascade, outputs):
    comparison = compare_outputs(cascade.outputs, golden.EXPECTED, outputs,
                                 cascade.float_tolerance)
    assert comparison.equal, comparison.summary()


@pytest.fixture(scope="module")
def golden_fixture(tmp_path_factory, cascade):
    """The golden tables as a fixture on disk, as the bench and Spark read them."""
    workload = dataclasses.replace(cascade, generate=lambda rows, seed, bad: golden.TABLES)
    fixture, _ = generate_fixture(workload, len(golden.ORDERS), 0, 0.0,
                                  tmp_path_factory.mktemp("golden") / "fx")
    return fixture


def _bench(workload, fixture, work_dir, variants, sample=0):
    options = BenchOptions(variants=variants, profile=get_profile("local"), work_dir=work_dir,
                           sample=sample)
    return BenchRun(workload, fixture, options, machine=lambda: {}).run()


def test_the_golden_fixture_covers_every_rule():
    reasons = set(golden.QUARANTINE["reason"])
    assert reasons == set(rules.REASONS)
    assert rules.REASONS == ("BAD_QUANTITY", "UNKNOWN_CUSTOMER", "MISSING_REGION",
                             "UNKNOWN_PRODUCT", "UNKNOWN_CATEGORY")
    assert len(golden.ENRICHED) + len(golden.QUARANTINE) == golden.ORDERS.num_rows


def test_rules_py_gives_the_hand_checked_amounts():
    tax_rate = dict(zip(golden.REGIONS["region_id"].to_pylist(),
                        golden.REGIONS["tax_rate"].to_pylist(), strict=True))
    for expected in golden.ENRICHED.to_dict("records"):
        got = rules.amounts(expected["quantity"], expected["unit_price"], expected["discount"],
                            tax_rate[expected["region_id"]])
        for column, value in got.items():
            assert value == pytest.approx(expected[column], rel=1e-12, abs=1e-12), column
    assert not rules.quantity_ok(0) and not rules.quantity_ok(-2)
    assert not rules.quantity_ok(None) and rules.quantity_ok(1)


def test_the_legacy_cascade_on_plain_lookups_gives_the_hand_checked_rows(cascade):
    """rules.py through the cascade the legacy jobs share, without a database."""
    dims = {model: {row[key]: SimpleNamespace(**row) for row in golden.TABLES[name].to_pylist()}
            for model, name, key in ((legacy.Customer, "customers", "customer_id"),
                                     (legacy.Region, "regions", "region_id"),
                                     (legacy.Product, "products", "product_id"),
                                     (legacy.Category, "categories", "category_id"))}
    rows: dict[str, list[dict]] = {"enriched": [], "quarantine": []}
    for order in golden.ORDERS.to_pylist():
        model, row = legacy._classify(order, lambda model, _col, value: dims[model].get(value))
        rows["enriched" if model is legacy.Enriched else "quarantine"].append(row)
    _equal_to_golden(cascade, {name: pd.DataFrame(r) for name, r in rows.items()})


def test_the_duckdb_oracle_gives_the_hand_checked_rows(cascade):
    _equal_to_golden(cascade, cascade.reference.run(golden.TABLES))


def test_the_vectorised_job_gives_the_hand_checked_rows(cascade):
    _equal_to_golden(cascade, cascade.vectorised(golden.TABLES))


@pytest.mark.parametrize("variant", ["per-row", "batched", "async"])
def test_each_legacy_variant_on_sqlite_gives_the_hand_checked_rows(cascade, tmp_path, variant):
    db = LegacyDatabase(sqlite_url(tmp_path / "legacy.db"))
    try:
        db.recreate(cascade.legacy_schema)
        cascade.load_legacy_db(db.engine, golden.TABLES)
        cascade.legacy[variant].run(LegacyContext(rows=golden.ORDERS, db=db))
        with db.engine.connect() as conn:
            outputs = {name: pd.read_sql_query(f"SELECT * FROM {name}", conn)
                       for name in cascade.output_names}
    finally:
        db.dispose()
    _equal_to_golden(cascade, outputs)


def test_the_bench_finds_every_variant_equal_on_the_golden_fixture(
        cascade, golden_fixture, work_dir):
    report = _bench(cascade, golden_fixture, work_dir, ["per-row", "batched", "async",
                                                         "vectorised"])
    assert report.reference == "duckdb-sql" and report.reference_independent
    for result in report.results:
        assert result.output_equal and result.verdict == "equal", (result.variant,
                                                                   result.mismatch)


# -- one cent ---------------------------------------------------------------------------------

def _one_cent_off(enrich):
    def run(tables):
        outputs = enrich(tables)
        enriched = outputs["enriched"].copy()
        enriched.loc[enriched.index[0], "total_amount"] += 0.01
        return {**outputs, "enriched": enriched}
    return run


@pytest.mark.parametrize("fixture_name", ["golden_fixture", "small_fixture"])
def test_a_vectorised_job_one_cent_off_is_caught(cascade, request, work_dir, fixture_name):
    fixture = request.getfixturevalue(fixture_name)
    off = dataclasses.replace(cascade, vectorised=_one_cent_off(cascade.vectorised))
    (result,) = _bench(off, fixture, work_dir, ["vectorised"]).results
    assert not result.output_equal and result.verdict == "differs"
    assert result.seconds is None and "'total_amount' differs in 1 row(s)" in result.mismatch


def test_amounts_one_cent_off_in_rules_py_fail_the_golden_check(cascade, monkeypatch):
    """A cent changed where the vectorised job takes its amounts from (rules.amounts)."""
    original = rules.amounts

    def off(*args):
        got = original(*args)
        return {**got, "tax_amount": got["tax_amount"] + 0.01}

    monkeypatch.setattr(rules, "amounts", off)
    comparison = compare_outputs(cascade.outputs, golden.EXPECTED,
                                 cascade.vectorised(golden.TABLES), cascade.float_tolerance)
    assert "'tax_amount' differs in 5 row(s)" in comparison.summary()


# -- precedence -------------------------------------------------------------------------------

def _defect_flags(tables) -> pd.DataFrame:
    """Which reasons apply to each order (all of them, not only the first), by key."""
    orders = tables["orders"].to_pandas()
    customers = tables["customers"].to_pandas().set_index("customer_id")
    products = tables["products"].to_pandas().set_index("product_id")
    regions = set(tables["regions"]["region_id"].to_pylist())
    categories = set(tables["categories"]["category_id"].to_pylist())
    return pd.DataFrame({
        "BAD_QUANTITY": orders["quantity"].isna() | (orders["quantity"] <= 0),
        "UNKNOWN_CUSTOMER": ~orders["customer_id"].isin(customers.index),
        # an unknown customer has no region either, as a lookup or a join finds
        "MISSING_REGION": ~orders["customer_id"].map(customers["region_id"]).isin(regions),
        "UNKNOWN_PRODUCT": ~orders["product_id"].isin(products.index),
        "UNKNOWN_CATEGORY": ~orders["product_id"].map(products["category_id"])
        .isin(categories),
    }).set_index(orders["order_id"])


def _quarantine_in_order(tables, order: tuple[str, ...]) -> pd.DataFrame:
    """The quarantine a variant checking the reasons in `order` writes."""
    flags = _defect_flags(tables)
    reason = np.select([flags[r].to_numpy() for r in order], list(order), default="")
    orders = tables["orders"].to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    bad = reason != ""
    return orders.loc[bad, ["order_id", "customer_id", "product_id", "quantity"]] \
        .assign(reason=reason[bad])


ORDERS_OF_REASONS = list(itertools.permutations(rules.REASONS))


def test_the_documented_order_is_the_only_one_that_passes_on_the_generated_fixture(cascade):
    """Any other order of the five reasons (119 of them) changes some order's reason in the
    generated fixture, which has every combination of defects."""
    tables = generator.generate(10_000, seed=5, bad_share=0.02)
    expected = cascade.reference_outputs(tables)["quarantine"]
    spec = (cascade.outputs[1],)
    passing = [order for order in ORDERS_OF_REASONS
               if compare_outputs(spec, {"quarantine": expected},
                                  {"quarantine": _quarantine_in_order(tables, order)},
                                  cascade.float_tolerance).equal]
    assert passing == [rules.REASONS]


def test_the_documented_order_is_the_only_one_that_passes_on_the_golden_fixture(cascade):
    spec = (cascade.outputs[1],)
    expected = {"quarantine": golden.QUARANTINE}
    passing = [order for order in ORDERS_OF_REASONS
               if compare_outputs(spec, expected,
                                  {"quarantine": _quarantine_in_order(golden.TABLES, order)},
                                  cascade.float_tolerance).equal]
    assert passing == [rules.REASONS]


def _legacy_checking(order: tuple[str, ...]):
    """A row-at-a-time legacy job that looks every dimension up in the legacy database and
    quarantines an order with the first reason of `order` that applies."""

    def run(ctx: LegacyContext):
        with ctx.db.engine.connect() as conn:
            dims = {name: {row[key]: SimpleNamespace(**row) for row in
                           pd.read_sql_table(name, conn).astype(object)
                           .where(lambda f: f.notna(), None).to_dict("records")}
                    for name, key in (("customers", "customer_id"), ("regions", "region_id"),
                                      ("products", "product_id"),
                                      ("categories", "category_id"))}
        out: dict[str, list[dict]] = {"enriched": [], "quarantine": []}
        for batch in ctx.batches():
            for o in batch:
                customer = dims["customers"].get(o["customer_id"])
                region = customer and dims["regions"].get(customer.region_id)
                product = dims["products"].get(o["product_id"])
                category = product and dims["categories"].get(product.category_id)
                applies = {"BAD_QUANTITY": not rules.quantity_ok(o["quantity"]),
                           "UNKNOWN_CUSTOMER": customer is None, "MISSING_REGION": not region,
                           "UNKNOWN_PRODUCT": product is None,
                           "UNKNOWN_CATEGORY": not category}
                reason = next((r for r in order if applies[r]), None)
                if reason:
                    out["quarantine"].append(rules.quarantine_row(o, reason))
                else:
                    out["enriched"].append(
                        rules.enriched_row(o, customer, region, product, category))
            ctx.progress(len(batch))
        return out

    return run


PAIRS = list(itertools.combinations(range(len(rules.REASONS)), 2))
# the rules' order with reasons i and j exchanged, for every pair
SWAPS = [rules.REASONS[:i] + (rules.REASONS[j],) + rules.REASONS[i + 1:j]
         + (rules.REASONS[i],) + rules.REASONS[j + 1:] for i, j in PAIRS]


@pytest.mark.parametrize("order", [rules.REASONS, *SWAPS],
                         ids=["rules", *[f"swap-{i}-{j}" for i, j in PAIRS]])
def test_a_legacy_variant_with_two_reasons_swapped_is_caught_by_the_bench(
        cascade, golden_fixture, work_dir, order):
    workload = dataclasses.replace(cascade, legacy={
        "per-row": LegacyImpl("per-row", _legacy_checking(order), "reasons in another order",
                              row_at_a_time=True)})
    (result,) = _bench(workload, golden_fixture, work_dir, ["per-row"]).results
    if order == rules.REASONS:
        assert result.output_equal, result.mismatch  # the test's own job is right
    else:
        assert not result.output_equal and result.seconds is None
        assert "quarantine: column 'reason' differs" in result.mismatch


def test_a_swapped_precedence_is_caught_on_a_generated_fixture_too(
        cascade, small_fixture, work_dir):
    swapped = ("BAD_QUANTITY", "UNKNOWN_PRODUCT", "UNKNOWN_CATEGORY", "UNKNOWN_CUSTOMER",
               "MISSING_REGION")  # products checked before customers
    workload = dataclasses.replace(cascade, legacy={
        "per-row": LegacyImpl("per-row", _legacy_checking(swapped), "products first",
                              row_at_a_time=True)})
    (result,) = _bench(workload, small_fixture, work_dir, ["per-row"], sample=0).results
    assert not result.output_equal
    assert "quarantine: column 'reason' differs" in result.mismatch


def test_the_oracle_refuses_dimension_keys_that_are_not_unique(cascade):
    """A duplicated customer would double its orders in any join: the oracle says so."""
    customers = pa.concat_tables([golden.CUSTOMERS, golden.CUSTOMERS.slice(1, 1)])
    with pytest.raises(FixtureError, match=r"every dimension and order key is unique.*"
                                           r"\('customers', 11\)"):
        cascade.reference.run({**golden.TABLES, "customers": customers})
