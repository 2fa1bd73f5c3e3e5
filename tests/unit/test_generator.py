"""The fixture generator is deterministic, shaped like a star schema, and carries its
configured share of bad rows."""

from __future__ import annotations

import collections

import pyarrow.compute as pc
import pytest

from harness.workloads import generate_fixture, load_fixture
from harness.workloads.cascade import generator


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


@pytest.mark.parametrize("share", [0.0, 0.02, 0.1])
def test_bad_rows_have_the_configured_share_split_across_defects(cascade, share):
    rows = 10_000
    out = cascade.vectorised(generator.generate(rows, seed=5, bad_share=share))
    reasons = collections.Counter(out["quarantine"]["reason"])
    n_bad = round(rows * share)
    assert sum(reasons.values()) == n_bad
    assert len(out["enriched"]) + n_bad == rows
    if n_bad:
        per_kind = n_bad / len(generator.DEFECTS)
        # null and negative quantity share one reason; each other defect has its own
        assert abs(reasons["BAD_QUANTITY"] - 2 * per_kind) <= 2
        for reason in ("UNKNOWN_CUSTOMER", "UNKNOWN_PRODUCT", "MISSING_REGION"):
            assert abs(reasons[reason] - per_kind) <= 1, reason


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
