"""Workloads: fixtures + legacy implementations + Spark job + output contract."""

from __future__ import annotations

from harness.errors import UsageError
from harness.workloads.base import (
    LegacyContext,
    LegacyImpl,
    Outputs,
    OutputSpec,
    Tables,
    Workload,
)
from harness.workloads.fixtures import Fixture, generate_fixture, load_fixture

__all__ = [
    "Fixture", "LegacyContext", "LegacyImpl", "OutputSpec", "Outputs", "Tables", "Workload",
    "builtin_workloads", "generate_fixture", "get_workload", "load_fixture",
]


def builtin_workloads() -> dict[str, Workload]:
    from harness.workloads.cascade import WORKLOAD as cascade

    return {cascade.name: cascade}


def get_workload(name: str = "cascade") -> Workload:
    """A workload by name."""
    workloads = builtin_workloads()
    try:
        return workloads[name]
    except KeyError:
        raise UsageError(
            f"unknown workload {name!r}", f"use one of: {', '.join(sorted(workloads))}"
        ) from None
