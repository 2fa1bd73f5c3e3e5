"""Workloads: fixtures + legacy implementations + Spark job + output contract."""

from __future__ import annotations

from harness.errors import UsageError
from harness.workloads.base import (
    LegacyContext,
    LegacyImpl,
    Outputs,
    OutputSpec,
    ReferenceImpl,
    Tables,
    Workload,
)
from harness.workloads.fixtures import Fixture, generate_fixture, load_fixture
from harness.workloads.oracle import duckdb_reference

__all__ = [
    "Fixture", "LegacyContext", "LegacyImpl", "OutputSpec", "Outputs", "ReferenceImpl",
    "Tables", "Workload", "available_workloads", "builtin_workloads", "duckdb_reference",
    "generate_fixture", "get_workload", "installed_workloads", "load_fixture",
]


def builtin_workloads() -> dict[str, Workload]:
    from harness.workloads.cascade import WORKLOAD as cascade
    from harness.workloads.sessions import WORKLOAD as sessions

    return {cascade.name: cascade, sessions.name: sessions}


def installed_workloads() -> dict[str, str]:
    """Workloads other packages register under the `harness.workloads` entry-point group:
    name -> "module:attribute"."""
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group="harness.workloads")}


def available_workloads() -> dict[str, Workload]:
    """Built-in and installed workloads (an installed one that fails to load is skipped
    here; naming it in get_workload reports why)."""
    found = dict(builtin_workloads())
    for name, target in installed_workloads().items():
        try:
            found.setdefault(name, _import(target))
        except UsageError:
            continue
    return found


def _import(target: str) -> Workload:
    import importlib
    import sys
    from pathlib import Path

    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise UsageError(f"workload {target!r} is not PKG.MODULE:NAME",
                         "e.g. --workload mypipeline.workload:WORKLOAD")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # a module next to the user, as python -m does
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot import the workload module {module_name!r}: {exc}",
                         "check the module path, or install its package") from None
    workload = getattr(module, attribute, None)
    if workload is None:
        raise UsageError(f"module {module_name!r} has no {attribute!r}",
                         f"define {attribute} = Workload(...) in it")
    if not isinstance(workload, Workload):
        raise UsageError(f"{target} is a {type(workload).__name__}, not a Workload",
                         "build it with harness.workloads.Workload(...)")
    return workload


def get_workload(name: str = "cascade") -> Workload:
    """A workload by built-in name, installed entry-point name, or PKG.MODULE:NAME."""
    builtin = builtin_workloads()
    if name in builtin:
        return builtin[name]
    installed = installed_workloads()
    if name in installed:
        return _import(installed[name])
    if ":" in name:
        return _import(name)
    known = sorted({*builtin, *installed})
    raise UsageError(f"unknown workload {name!r}",
                     f"use one of: {', '.join(known)}, or PKG.MODULE:NAME")
