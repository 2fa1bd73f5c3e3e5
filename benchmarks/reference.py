"""The fixed reference computations the suite times beside the variants.

`reference_computation` is the run's reference: timed once per run as its own benchmark
(`test_reference_computation`, which the suite names as the reference in its JSON).
`PairedReference` times a quarter-size copy of it right before each round of every other
benchmark, so a benchmark's time can also be divided by what the machine did just then.
Neither changes with the project's code. Whether dividing by either makes figures steadier
than raw seconds on a given machine is measured, not assumed: `harness gate --spreads`.
Both mix the two kinds of work the variants do: interpreted per-row Python (dict lookups,
small objects, as the legacy jobs) and vectorised numpy (sorts and grouped sums, as pandas
and Arrow)."""

from __future__ import annotations

import statistics
import time

import numpy as np

ROWS = 200_000
LOOP_ROWS = 40_000
PAIRED_REPEATS = 3  # the paired time is the best of these: its cost without interference


def reference_computation(rows: int = ROWS, loop_rows: int = LOOP_ROWS) -> float:
    rng = np.random.default_rng(20261128)
    keys = rng.integers(0, 5_000, rows)
    values = rng.random(rows)
    # vectorised half: sort, grouped sum
    order = np.argsort(keys, kind="stable")
    sums = np.bincount(keys[order], weights=values[order], minlength=5_000)
    # per-row half: a cascade of dict lookups per row, like the legacy enrichment
    regions = {k: f"r{k % 17}" for k in range(5_000)}
    factors = {f"r{r}": 1.0 + r / 100 for r in range(17)}
    total = 0.0
    for k, v in zip(keys[:loop_rows].tolist(), values[:loop_rows].tolist(), strict=True):
        total += v * factors[regions[k]]
    return float(sums.sum() + total)


def paired_reference_seconds() -> float:
    """The quarter-size reference computation's best time of a few (about 10 ms each on
    the 2-core machine)."""
    best = float("inf")
    for _ in range(PAIRED_REPEATS):
        started = time.perf_counter()
        reference_computation(ROWS // 4, LOOP_ROWS // 4)
        best = min(best, time.perf_counter() - started)
    return best


class PairedReference:
    """Times the paired reference before each round of a benchmark: pass `setup` to
    `benchmark.pedantic(..., setup=paired.setup)` (pytest-benchmark does not time it)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def setup(self) -> None:
        self.times.append(paired_reference_seconds())

    @property
    def seconds(self) -> float | None:
        """The median over the benchmark's rounds, as its own figure is."""
        return round(statistics.median(self.times), 6) if self.times else None
