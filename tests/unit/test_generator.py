"""The fixture generator is deterministic, shaped like a star schema, and carries its
configured share of bad rows, with every quarantine reason and every combination of
defects that can occur together."""

from __future__ import annotations

import collections
import itertools

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from harness.workloads import generate_fixture, load_fixture
from harness.workloads.cascade import generator, rules


def test_same_seed_gives_identical_tables_and_another_seed_does_not():
    a = generator.generate(3_000, seed=11, bad_share=0.02)
    b = generator.generate(3_000, seed=11, bad_share=0.02)
    c = generator.generate(3_000, seed=12, bad_share=0.02)
    assert all(a[name].equals(b[name]) for name in a)
    assert not a["orders"].equals(c["orders"])


def test_regenerating_writes_byte_identical_files(tmp_path, cascade):
    first, _ = generate_fixture(cascade, 1_500, 3, 0.04, tmp_path / "one")
    second, _ = generate_fixture(cascade, 1_500, 3, 0.04, tmp_path / "two")
    for name, entry in first.manifest["tables"].items():
        for fmt, meta in entry["files"].items():
            other = second.manifest["tables"][name]["files"][fmt]
            assert meta["sha256"] == other["sha256"], (name, fmt)
            assert (first.path / meta["path"]).read_bytes() == \
                (second.path / other["path"]).read_bytes()


def test_cached_fixture_is_reused_and_force_regenerates(tmp_path, cascade):
    path = tmp_path / "fx"
    _, reused = generate_fixture(cascade, 500, 1, 0.02, path)
    assert not reused
    marker = path / "parquet" / "orders.parquet"
    mtime = marker.stat().st_mtime_ns
    _, reused = generate_fixture(cascade, 500, 1, 0.02, path)
    assert reused and marker.stat().st_mtime_ns == mtime
    _, reused = generate_fixture(cascade, 500, 2, 0.02, path)  # other seed: not the same
    assert not reused
    _, reused = generate_fixture(cascade, 500, 2, 0.02, path, force=True)
    assert not reused


def _defects(tables) -> pd.Series:
    """Each order's defects, read straight off the tables (no implementation involved)."""
    orders = tables["orders"].to_pandas()
    customers = tables["customers"].to_pandas().set_index("customer_id")
    products = tables["products"].to_pandas().set_index("product_id")
    regions = set(tables["regions"]["region_id"].to_pylist())
    categories = set(tables["categories"]["category_id"].to_pylist())
    region_of = orders["customer_id"].map(customers["region_id"])
    category_of = orders["product_id"].map(products["category_id"])
    flags = pd.DataFrame({
        "BAD_QUANTITY": orders["quantity"].isna() | (orders["quantity"] <= 0),
        "UNKNOWN_CUSTOMER": ~orders["customer_id"].isin(customers.index),
        "MISSING_REGION": orders["customer_id"].isin(customers.index)
        & ~region_of.isin(regions),
        "UNKNOWN_PRODUCT": ~orders["product_id"].isin(products.index),
        "UNKNOWN_CATEGORY": orders["product_id"].isin(products.index)
        & ~category_of.isin(categories),
    })
    return flags.apply(lambda row: tuple(c for c in flags.columns if row[c]), axis=1)


@pytest.mark.parametrize("share", [0.0, 0.02, 0.1])
def test_bad_rows_have_the_configured_share_and_every_reason(cascade, share):
    rows = 10_000
    tables = generator.generate(rows, seed=5, bad_share=share)
    out = cascade.reference_outputs(tables)
    reasons = collections.Counter(out["quarantine"]["reason"])
    n_bad = round(rows * share)
    assert sum(reasons.values()) == n_bad
    assert len(out["enriched"]) + n_bad == rows
    defects = _defects(tables)
    assert (defects.map(len) > 0).sum() == n_bad
    if n_bad:
        assert set(reasons) == set(rules.REASONS)
        singles = n_bad - round(n_bad * generator.MULTI_SHARE)
        # single defects take the five reasons in turn
        for reason in rules.REASONS:
            assert defects.map(lambda d, r=reason: d == (r,)).sum() == \
                pytest.approx(singles / 5, abs=1), reason


def test_orders_carry_every_combination_of_defects_that_can_occur_together():
    rows = 10_000
    tables = generator.generate(rows, seed=5, bad_share=0.02)
    defects = _defects(tables)
    several = defects[defects.map(len) >= 2]
    assert len(several) == round(200 * generator.MULTI_SHARE)
    pairs = {pair for d in several for pair in itertools.combinations(d, 2)}
    cannot = {("UNKNOWN_CUSTOMER", "MISSING_REGION"), ("UNKNOWN_PRODUCT", "UNKNOWN_CATEGORY")}
    possible = set(itertools.combinations(rules.REASONS, 2)) - cannot
    assert pairs == possible  # so any two reasons checked in the wrong order show
    assert several.map(len).max() == 3


def test_dimension_rows_cascade_into_missing_region_and_unknown_category():
    tables = generator.generate(10_000, seed=5, bad_share=0.02)
    region_ids = tables["customers"]["region_id"]
    category_ids = tables["products"]["category_id"]
    assert region_ids.null_count >= 1 and category_ids.null_count >= 1
    known_regions = set(tables["regions"]["region_id"].to_pylist())
    known_categories = set(tables["categories"]["category_id"].to_pylist())
    assert any(r is not None and r not in known_regions for r in region_ids.to_pylist())
    assert any(c is not None and c not in known_categories for c in category_ids.to_pylist())
    quantities = tables["orders"]["quantity"].to_pylist()
    assert None in quantities and 0 in quantities
    assert min(q for q in quantities if q is not None) < 0


def test_star_schema_cardinalities_and_skew():
    tables = generator.generate(40_000, seed=42, bad_share=0.02)
    card = generator.cardinalities(40_000)
    for name in ("regions", "customers", "categories", "products"):
        assert tables[name].num_rows == card[name]
    counts = pc.value_counts(tables["orders"]["customer_id"]).to_pylist()
    top = max(c["counts"] for c in counts)
    # a few hot customers: the busiest one has far more than the average share
    assert top > 20 * 40_000 / card["customers"]


def test_manifest_records_rows_seed_schema_and_hashes(small_fixture):
    manifest = load_fixture(small_fixture.path).manifest
    assert manifest["rows"] == 1_000 and manifest["seed"] == 7
    orders = manifest["tables"]["orders"]
    assert orders["rows"] == 1_000
    assert {"name": "quantity", "type": "int64"} in orders["schema"]
    assert set(orders["files"]) == {"parquet", "csv"}
    assert len(orders["files"]["parquet"]["sha256"]) == 64


def test_the_spark_job_reads_the_schema_the_generator_writes():
    # The Spark job gives its reader these schemas instead of reading the files' footers: a
    # column renamed, retyped or added here without it would read as null or fail there.
    from pyspark.sql import types as T

    from harness.workloads.cascade.spark_job import SCHEMAS
    from tests import golden

    spark_type = {pa.int64(): T.LongType(), pa.float64(): T.DoubleType(),
                  pa.string(): T.StringType(), pa.date32(): T.DateType()}
    for tables in (generator.generate(2_000, seed=5, bad_share=0.05), golden.TABLES):
        assert set(tables) == set(SCHEMAS)
        for name, table in tables.items():
            assert [(f.name, spark_type[f.type]) for f in table.schema] == \
                [(f.name, f.dataType) for f in SCHEMAS[name].fields], name
