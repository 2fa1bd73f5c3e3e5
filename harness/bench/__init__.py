"""Side-by-side benchmarks: run variants, prove outputs equal, time them, report."""

from harness.bench.equivalence import Comparison, compare_outputs
from harness.bench.runner import (
    BenchOptions,
    BenchReport,
    BenchRun,
    VariantResult,
    variant_names,
)

__all__ = [
    "BenchOptions", "BenchReport", "BenchRun", "Comparison", "VariantResult",
    "compare_outputs", "variant_names",
]
