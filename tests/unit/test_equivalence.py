"""The equivalence check catches a wrong variant, names the first differing key and column,
and tolerates representation differences (dates as text, ints as floats, booleans as 0/1)
and float noise, but not what changes a value: timestamps apart by any amount beyond the
workload's stated tolerance, extra columns, a column of another kind of value."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from harness.bench.equivalence import compare_outputs
from harness.workloads import OutputSpec
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


SPEC = (OutputSpec("events", ("id",)),)


def _events(**columns):
    return {"events": pd.DataFrame({"id": [1, 2, 3], **columns})}


def _compare(expected, actual, tolerance=1e-9, time_tolerance=dt.timedelta(0), spec=SPEC):
    return compare_outputs(spec, _events(**expected), _events(**actual), tolerance,
                           time_tolerance)


STAMPS = [dt.datetime(2026, 1, 1, 9, 0, 0), dt.datetime(2026, 1, 1, 23, 59, 59, 999_999),
          dt.datetime(2026, 3, 1, 12, 30, 0, 250_000)]


def test_timestamps_hours_apart_on_the_same_day_differ():
    later = [t + dt.timedelta(hours=3) for t in STAMPS]
    result = _compare({"at": STAMPS}, {"at": later})
    assert not result.equal
    assert "column 'at' differs in 3 row(s), first at key 1" in result.summary()


def test_timestamps_compare_at_full_precision_whatever_their_representation():
    off_by_a_microsecond = STAMPS[:2] + [STAMPS[2] + dt.timedelta(microseconds=1)]
    assert "differs in 1 row(s), first at key 3" in \
        _compare({"at": STAMPS}, {"at": off_by_a_microsecond}).summary()
    as_sqlite_text = [t.isoformat(sep=" ") for t in STAMPS]
    assert _compare({"at": STAMPS}, {"at": as_sqlite_text}).equal
    as_datetime64_us = pd.Series(STAMPS, dtype="datetime64[us]")
    assert _compare({"at": STAMPS}, {"at": as_datetime64_us}).equal
    aware = pd.Series(STAMPS).dt.tz_localize("UTC").dt.tz_convert("Europe/Berlin")
    assert _compare({"at": STAMPS}, {"at": aware}).equal  # the same instants


def test_a_timestamp_tolerance_applies_only_where_the_workload_states_one():
    two_seconds_late = [t + dt.timedelta(seconds=2) for t in STAMPS]
    assert not _compare({"at": STAMPS}, {"at": two_seconds_late}).equal
    assert _compare({"at": STAMPS}, {"at": two_seconds_late},
                    time_tolerance=dt.timedelta(seconds=2)).equal
    assert not _compare({"at": STAMPS}, {"at": two_seconds_late},
                        time_tolerance=dt.timedelta(seconds=1)).equal


def test_dates_compare_as_dates_from_objects_text_or_datetime64():
    days = [dt.date(2025, 1, 1), dt.date(2025, 2, 28), dt.date(2025, 12, 31)]
    assert _compare({"day": days}, {"day": [d.isoformat() for d in days]}).equal  # SQLite
    assert _compare({"day": days}, {"day": pd.to_datetime(days)}).equal  # a pandas reader
    with_a_time = [d.isoformat() + " 10:00:00" for d in days]
    assert "'day' differs in 3 row(s)" in _compare({"day": days}, {"day": with_a_time}).summary()
    assert not _compare({"day": days}, {"day": days[:2] + [dt.date(2025, 12, 30)]}).equal
    assert not _compare({"day": days}, {"day": ["2025-01-01", "2025-02-28", "garbage"]}).equal


def test_an_unexpected_extra_column_is_a_difference_unless_ignored():
    result = _compare({"v": [1, 2, 3]}, {"v": [1, 2, 3], "row_version": [7, 7, 7]})
    assert "unexpected column(s) ['row_version']" in result.summary()
    ignoring = (OutputSpec("events", ("id",), ignore=("row_version",)),)
    assert _compare({"v": [1, 2, 3]}, {"v": [1, 2, 3], "row_version": [7, 7, 7]},
                    spec=ignoring).equal


def test_a_float_column_returned_as_integers_is_reported_when_fractions_are_lost():
    assert _compare({"v": [1.0, 2.0, 3.0]}, {"v": [1, 2, 3]}).equal  # same values
    result = _compare({"v": [1.5, 2.0, 3.25]}, {"v": [1, 2, 3]})
    assert "'v' differs in 2 row(s), first at key 1: expected 1.5, got 1" in result.summary()
    assert "integer where the reference's has fractions" in result.summary()


def test_booleans_are_not_strings_but_may_come_back_as_0_and_1():
    flags = [True, False, True]
    assert _compare({"ok": flags}, {"ok": [1, 0, 1]}).equal  # SQLite's booleans
    assert not _compare({"ok": flags}, {"ok": [1, 1, 1]}).equal
    result = _compare({"ok": flags}, {"ok": ["True", "False", "True"]})
    assert "'ok' holds text values where the reference has bool" in result.summary()
    assert not _compare({"ok": flags}, {"ok": [2, 0, 1]}).equal


def test_numbers_returned_as_text_are_a_difference():
    result = _compare({"v": [10, 9, 8]}, {"v": ["10", "9", "8"]})
    assert "'v' holds text values where the reference has integer" in result.summary()
    assert "'name' holds integer values" in _compare({"name": ["1", "2", "3"]},
                                                     {"name": [1, 2, 3]}).summary()


def test_large_integers_compare_exactly():
    big = 2**53
    assert not _compare({"v": [big, big, big]}, {"v": [big, big, big + 1]}).equal
    nullable = pd.Series([big, None, 5], dtype="Int64")
    assert _compare({"v": nullable}, {"v": [float(big), None, 5.0]}).equal  # ints as floats


def test_an_output_with_no_rows_and_no_columns_means_no_rows():
    empty = {"events": pd.DataFrame({"id": pd.Series([], dtype="int64")})}
    assert compare_outputs(SPEC, empty, {"events": pd.DataFrame()}, 1e-9).equal
    result = compare_outputs(SPEC, _events(), {"events": pd.DataFrame()}, 1e-9)
    assert "3 row(s) missing" in result.summary()
