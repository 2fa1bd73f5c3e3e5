"""Output equivalence: a variant's outputs compared with the reference's by key, floats
within a tolerance, dates and timestamps at full precision (within a tolerance only where
the workload states one), everything else exactly.

Representations are normalised before comparing, because each store hands back its own
types: SQLite returns dates and timestamps as text and booleans as 0/1, Spark and pandas
dates as dates; nullable integers come back as floats from some readers. What changes a
value is reported: a column of another kind (text where the reference has numbers, strings
where it has booleans), an integer column where the reference has fractions, a column the
reference does not have. The comparison names the first differing key and column.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.workloads.base import Outputs, OutputSpec


@dataclass
class Difference:
    output: str
    problem: str

    def __str__(self) -> str:
        return f"{self.output}: {self.problem}"


@dataclass
class Comparison:
    """The result of comparing one variant's outputs with the reference's."""

    differences: list[Difference] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not self.differences

    def summary(self) -> str:
        return "; ".join(str(d) for d in self.differences[:3]) or "equal"


# What a column holds, from pandas' inference over its non-null values.
_NUMBER = {"integer", "floating", "mixed-integer-float", "decimal"}
_TIME = {"date", "datetime", "datetime64"}


def _kind(series: pd.Series) -> str:
    """'integer', 'number', 'bool', 'date', 'datetime', 'text', 'empty' or 'other'."""
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred == "integer":
        return "integer"
    if inferred in _NUMBER:
        return "number"
    if inferred == "boolean":
        return "bool"
    if inferred == "date":
        return "date"
    if inferred in _TIME:
        return "datetime"
    if inferred == "string":
        return "text"
    return "empty" if inferred == "empty" else "other"


def _instants(series: pd.Series) -> np.ndarray:
    """Dates and timestamps (objects, datetime64, ISO-8601 text as SQLite returns them) as
    nanoseconds since the epoch in UTC, naive values taken as UTC; NaT where unreadable."""
    text = pd.api.types.infer_dtype(series, skipna=True) == "string"
    parsed = pd.to_datetime(series, errors="coerce", utc=True,
                            format="ISO8601" if text else None)
    return parsed.dt.tz_localize(None).astype("datetime64[ns]").to_numpy()


def _type_problem(expected: str, actual: str, values: pd.Series) -> str | None:
    """Why the variant's column cannot hold the reference's values, or None if it can.
    Representations that keep the values are accepted (SQLite's dates as text and booleans
    as 0/1, integers as floats); a different kind of value is not."""
    if "empty" in (expected, actual) or expected == actual or expected == "other":
        return None
    numbers = {"integer", "number"}
    if expected in numbers and actual in numbers:
        return None
    if expected == "bool" and actual == "integer" and values.dropna().isin([0, 1]).all():
        return None
    if expected in ("date", "datetime") and actual in ("date", "datetime", "text"):
        return None
    return f"holds {actual} values where the reference has {expected}"


def _mismatches(expected: pd.Series, actual: pd.Series, tolerance: float,
                time_tolerance: dt.timedelta, kind: str) -> np.ndarray:
    """A boolean mask of rows where the two aligned columns differ (nulls equal nulls)."""
    e_null, a_null = expected.isna().to_numpy(), actual.isna().to_numpy()
    if kind == "integer" and _kind(actual) == "integer":
        # exactly: ids above 2**53 would collide as doubles
        e = expected.astype("Int64").to_numpy(dtype="int64", na_value=0)
        a = actual.astype("Int64").to_numpy(dtype="int64", na_value=0)
        close = e == a
    elif kind in ("integer", "number"):
        e = pd.to_numeric(expected, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        a = pd.to_numeric(actual, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        close = np.isclose(e, a, rtol=tolerance, atol=tolerance)
    elif kind == "bool":
        e = expected.astype("boolean").to_numpy(dtype=bool, na_value=False)
        a = actual.astype("boolean").to_numpy(dtype=bool, na_value=False)
        close = e == a
    elif kind in ("date", "datetime"):
        e, a = _instants(expected), _instants(actual)
        gap = np.abs((e - a).astype("timedelta64[ns]"))
        close = ~np.isnat(e) & ~np.isnat(a) & (gap <= np.timedelta64(time_tolerance))
    else:
        close = expected.astype(str).to_numpy() == actual.astype(str).to_numpy()
    both_null = e_null & a_null
    return ~(both_null | (close & ~e_null & ~a_null))


def _key(value: object) -> object:
    return tuple(_show(v) for v in value) if isinstance(value, tuple) else _show(value)


def _show(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def compare_output(
    spec: OutputSpec, expected: pd.DataFrame, actual: pd.DataFrame, tolerance: float,
    time_tolerance: dt.timedelta = dt.timedelta(0),
) -> list[Difference]:
    """Every difference between the variant's and the reference's rows of one output."""
    # A frame with neither rows nor columns is how an implementation says "no rows".
    if not len(actual.columns) and not len(actual):
        return [] if not len(expected) else [
            Difference(spec.name, f"{len(expected)} row(s) missing (the output is empty)")]
    if not len(expected.columns) and not len(expected):
        return [] if not len(actual) else [
            Difference(spec.name, f"{len(actual)} unexpected row(s) (the reference has none)")]
    key = list(spec.key)
    for name, frame in (("reference", expected), ("variant", actual)):
        missing = [k for k in key if k not in frame.columns]
        if missing:
            return [Difference(spec.name, f"key column(s) {missing} absent from the {name} output")]
    missing_cols = [c for c in expected.columns if c not in actual.columns]
    if missing_cols:
        return [Difference(spec.name, f"column(s) {missing_cols} missing")]
    if actual.duplicated(key).any():
        dup = actual.loc[actual.duplicated(key), key].iloc[0].to_dict()
        return [Difference(spec.name, f"duplicate key {dup}")]

    diffs: list[Difference] = []
    extra = [c for c in actual.columns if c not in expected.columns and c not in spec.ignore]
    if extra:
        diffs.append(Difference(spec.name, f"unexpected column(s) {extra} (the reference has "
                                            "none such; list them in OutputSpec.ignore if "
                                            "they are not part of the result)"))
    exp = expected.set_index(key).sort_index()
    act = actual[list(expected.columns)].set_index(key).sort_index()
    only_exp = exp.index.difference(act.index)
    only_act = act.index.difference(exp.index)
    if len(only_exp):
        diffs.append(Difference(spec.name, f"{len(only_exp)} row(s) missing, first key "
                                            f"{_key(only_exp[0])!r}"))
    if len(only_act):
        diffs.append(Difference(spec.name, f"{len(only_act)} unexpected row(s), first key "
                                            f"{_key(only_act[0])!r}"))
    common = exp.index.intersection(act.index)
    exp, act = exp.loc[common], act.loc[common]
    for column in exp.columns:
        kind, actual_kind = _kind(exp[column]), _kind(act[column])
        problem = _type_problem(kind, actual_kind, act[column])
        if problem:
            i = int(np.argmax(act[column].notna().to_numpy()))
            diffs.append(Difference(
                spec.name, f"column {column!r} {problem}, e.g. at key {_key(common[i])!r}: "
                           f"expected {_show(exp[column].iloc[i])!r}, "
                           f"got {_show(act[column].iloc[i])!r}"))
            continue
        mask = _mismatches(exp[column], act[column], tolerance, time_tolerance, kind)
        if mask.any():
            i = int(np.argmax(mask))
            lost = (" (the variant's column is integer where the reference's has fractions)"
                    if kind == "number" and actual_kind == "integer" else "")
            diffs.append(Difference(
                spec.name,
                f"column {column!r} differs in {int(mask.sum())} row(s), first at key "
                f"{_key(common[i])!r}: expected {_show(exp[column].iloc[i])!r}, "
                f"got {_show(act[column].iloc[i])!r}{lost}",
            ))
    return diffs


def compare_outputs(
    specs: tuple[OutputSpec, ...],
    expected: Outputs,
    actual: Outputs,
    tolerance: float,
    time_tolerance: dt.timedelta = dt.timedelta(0),
) -> Comparison:
    """Compare every declared output; a missing output is itself a difference. Floats match
    within `tolerance` (relative and absolute), dates and timestamps within `time_tolerance`
    (exactly by default), everything else exactly."""
    result = Comparison()
    for spec in specs:
        if spec.name not in actual:
            result.differences.append(Difference(spec.name, "output not produced"))
            continue
        result.differences.extend(
            compare_output(spec, expected[spec.name], actual[spec.name], tolerance,
                           time_tolerance)
        )
    return result


def digest(specs: tuple[OutputSpec, ...], outputs: Outputs, tolerance: float) -> str:
    """A fingerprint of a variant's outputs, stable from run to run of that variant: rows
    sorted by key, columns by name, floats rounded three digits coarser than the tolerance.
    The gate compares it with the baseline's, which catches an output that changed even
    when every variant (the reference included) changed alike."""
    decimals = max(0, round(-math.log10(tolerance)) - 3) if tolerance > 0 else 12
    sha = hashlib.sha256()
    for spec in specs:
        sha.update(spec.name.encode())
        frame = outputs.get(spec.name)
        if frame is None:
            sha.update(b"\0missing")
            continue
        frame = frame[sorted(frame.columns)]
        keys = [k for k in spec.key if k in frame.columns]
        if keys and len(frame):
            frame = frame.sort_values(keys, kind="stable")
        frame = frame.reset_index(drop=True)
        for col in frame.columns:
            if pd.api.types.is_float_dtype(frame[col]):
                frame[col] = frame[col].round(decimals) + 0.0  # -0.0 and 0.0 alike
        sha.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return sha.hexdigest()[:16]
