"""The equivalence check catches a wrong variant, names the first differing key and column,
and tolerates representation differences (dates as text, ints as floats) and float noise."""

from __future__ import annotations

import pandas as pd
import pytest

from harness.bench.equivalence import compare_outputs, restrict
from harness.workloads.cascade import generator


@pytest.fixture(scope="module")
def reference(cascade):
    return cascade.vectorised(generator.generate(1_000, seed=3, bad_share=0.05))


def _copy(outputs):
    return {name: frame.copy() for name, frame in outputs.items()}


def test_identical_outputs_are_equal(cascade, reference):
    assert compare_outputs(cascade.outputs, reference, _copy(reference), 1e-9).equal


def test_representation_differences_are_not_differences(cascade, reference):
    other = _copy(reference)
    other["enriched"]["order_date"] = other["enriched"]["order_date"].astype(str)  # SQLite
    other["quarantine"]["quantity"] = other["quarantine"]["quantity"].astype("float64")
    other["enriched"]["total_amount"] *= 1 + 1e-12  # float noise within tolerance
    other["enriched"] = other["enriched"].sample(frac=1, random_state=1)  # row order
    assert compare_outputs(cascade.outputs, reference, other, 1e-9).equal


def test_a_changed_value_is_reported_with_key_and_column(cascade, reference):
    other = _copy(reference)
    key = int(other["enriched"].loc[10, "order_id"])
    other["enriched"].loc[10, "total_amount"] += 0.01
    result = compare_outputs(cascade.outputs, reference, other, 1e-9)
    assert not result.equal
    text = result.summary()
    assert "'total_amount'" in text and f"key {key}" in text and "1 row(s)" in text


def test_a_dropped_row_and_a_wrong_reason_are_reported(cascade, reference):
    other = _copy(reference)
    other["enriched"] = other["enriched"].iloc[1:]
    other["quarantine"].loc[0, "reason"] = "SOMETHING_ELSE"
    result = compare_outputs(cascade.outputs, reference, other, 1e-9)
    problems = [str(d) for d in result.differences]
    assert any("1 row(s) missing" in p and p.startswith("enriched") for p in problems)
    assert any("'reason'" in p and p.startswith("quarantine") for p in problems)


def test_a_missing_output_or_key_column_is_reported(cascade, reference):
    other = _copy(reference)
    del other["quarantine"]
    other["enriched"] = other["enriched"].drop(columns=["order_id"])
    problems = [str(d) for d in compare_outputs(cascade.outputs, reference, other, 1e-9)
                .differences]
    assert any("key column(s) ['order_id'] absent" in p for p in problems)
    assert any("quarantine: output not produced" in p for p in problems)


def test_restrict_keeps_only_rows_from_the_sampled_inputs(cascade, reference):
    keys = pd.DataFrame({"order_id": range(1, 101)})
    sub = restrict(reference, cascade.outputs, keys)
    assert len(sub["enriched"]) + len(sub["quarantine"]) == 100
