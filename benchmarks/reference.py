"""The fixed reference computation every suite run times alongside the variants.

It never changes with the project's code, so the gate can divide each variant's time by
it: the ratio cancels most of the machine (CPU, load, Python build), which swings 10-50%
between CI runners where ratios within one run move well under that. It mixes the two
kinds of work the variants do: interpreted per-row Python (dict lookups, small objects,
as the legacy jobs) and vectorised numpy (sorts and grouped sums, as pandas and Arrow)."""

from __future__ import annotations

import numpy as np

ROWS = 200_000


def reference_computation() -> float:
    rng = np.random.default_rng(20261128)
    keys = rng.integers(0, 5_000, ROWS)
    values = rng.random(ROWS)
    # vectorised half: sort, grouped sum
    order = np.argsort(keys, kind="stable")
    sums = np.bincount(keys[order], weights=values[order], minlength=5_000)
    # per-row half: a cascade of dict lookups per row, like the legacy enrichment
    regions = {k: f"r{k % 17}" for k in range(5_000)}
    factors = {f"r{r}": 1.0 + r / 100 for r in range(17)}
    total = 0.0
    for k, v in zip(keys[:40_000].tolist(), values[:40_000].tolist(), strict=True):
        total += v * factors[regions[k]]
    return float(sums.sum() + total)
