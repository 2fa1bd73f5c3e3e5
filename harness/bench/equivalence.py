"""Output equivalence: two variants' outputs compared by key, floats within a tolerance.

Values are normalised before comparing, because each store hands back its own types:
SQLite returns dates as text, Spark and pandas as dates; nullable integers come back as
floats from some readers. The comparison reports the first differing key and column.
"""

from __future__ import annotations

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


def _is_datelike(series: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    sample = series.dropna()
    return len(sample) > 0 and hasattr(sample.iloc[0], "isoformat")


def _mismatches(expected: pd.Series, actual: pd.Series, tolerance: float) -> np.ndarray:
    """A boolean mask of rows where the two aligned columns differ (nulls equal nulls)."""
    e_null, a_null = expected.isna().to_numpy(), actual.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(expected) and not pd.api.types.is_bool_dtype(expected):
        e = pd.to_numeric(expected, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        a = pd.to_numeric(actual, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        close = np.isclose(e, a, rtol=tolerance, atol=tolerance)
    elif _is_datelike(expected):
        e = expected.astype(str).str[:10].to_numpy()
        a = actual.astype(str).str[:10].to_numpy()
        close = e == a
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
    spec: OutputSpec, expected: pd.DataFrame, actual: pd.DataFrame, tolerance: float
) -> list[Difference]:
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

    exp = expected.set_index(key).sort_index()
    act = actual.set_index(key).sort_index()
    only_exp = exp.index.difference(act.index)
    only_act = act.index.difference(exp.index)
    diffs: list[Difference] = []
    if len(only_exp):
        diffs.append(Difference(spec.name, f"{len(only_exp)} row(s) missing, first key "
                                            f"{_key(only_exp[0])!r}"))
    if len(only_act):
        diffs.append(Difference(spec.name, f"{len(only_act)} unexpected row(s), first key "
                                            f"{_key(only_act[0])!r}"))
    common = exp.index.intersection(act.index)
    exp, act = exp.loc[common], act.loc[common]
    for column in exp.columns:
        mask = _mismatches(exp[column], act[column], tolerance)
        if mask.any():
            i = int(np.argmax(mask))
            diffs.append(Difference(
                spec.name,
                f"column {column!r} differs in {int(mask.sum())} row(s), first at key "
                f"{_key(common[i])!r}: expected {_show(exp[column].iloc[i])!r}, "
                f"got {_show(act[column].iloc[i])!r}",
            ))
    return diffs


def compare_outputs(
    specs: tuple[OutputSpec, ...],
    expected: Outputs,
    actual: Outputs,
    tolerance: float,
) -> Comparison:
    """Compare every declared output; a missing output is itself a difference."""
    result = Comparison()
    for spec in specs:
        if spec.name not in actual:
            result.differences.append(Difference(spec.name, "output not produced"))
            continue
        result.differences.extend(
            compare_output(spec, expected[spec.name], actual[spec.name], tolerance)
        )
    return result


def restrict(outputs: Outputs, specs: tuple[OutputSpec, ...], keys: pd.DataFrame) -> Outputs:
    """The subset of `outputs` whose rows come from the given input keys (for sampled runs).
    `keys` holds the fact table's key column(s), named like the outputs' keys."""
    restricted = {}
    for spec in specs:
        frame = outputs[spec.name]
        columns = [c for c in spec.key if c in keys.columns]
        restricted[spec.name] = frame.merge(keys[columns].drop_duplicates(), on=columns)
    return restricted


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
