"""The EC2 instance catalog, as data: `harness/data/instances.json` curates the types the
team considers (vCPU, memory, storage, purpose); the other types EMR supports come from
the list moto ships, so any EMR instance type can be rehearsed."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from harness.errors import HarnessError, UsageError

CATALOG = Path(__file__).parent / "data" / "instances.json"


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpu: int
    memory_gib: float
    storage: str
    purpose: str

    @property
    def family(self) -> str:
        return self.name.split(".")[0]


@cache
def _load() -> dict:
    return json.loads(CATALOG.read_text())


EMR_TYPES = "emr/resources/instance_types.json"  # moto's copy of EMR's list


class CatalogError(HarnessError):
    """The instance catalog cannot be loaded: every instance type would be judged wrongly."""


@cache
def _emr_types() -> dict[str, dict]:
    return load_emr_types()


def load_emr_types(resource: str = EMR_TYPES) -> dict[str, dict]:
    """Every instance type EMR knows (moto ships EMR's list with vCPU and memory). Loaded
    or refused loudly: without it, valid instance types would be rejected as unknown."""
    try:
        from moto.utilities.utils import load_resource

        types = load_resource(resource)
    except Exception as exc:
        raise CatalogError(f"EMR's instance-type list (moto's {resource}) cannot be "
                           f"loaded: {type(exc).__name__}: {exc}",
                           "reinstall the project's dependencies (make .venv/.installed)"
                           ) from exc
    broken = [name for name, spec in types.items()
              if not isinstance(spec, dict) or "VCPU" not in spec or "MemoryGB" not in spec]
    if not types or broken:
        raise CatalogError(f"EMR's instance-type list (moto's {resource}) is "
                           + (f"incomplete: {', '.join(broken[:5])} lack VCPU or MemoryGB"
                              if broken else "empty"),
                           "reinstall the project's dependencies (make .venv/.installed)")
    return types


_PURPOSE = {"COMPUTE": "compute", "MEMORY": "memory", "STORAGE": "storage",
            "GENERAL": "general", "GPU": "accelerated"}


def instance_types() -> dict[str, InstanceType]:
    """The curated catalog, completed with the other types EMR supports."""
    types = {}
    for name, spec in _emr_types().items():
        family = str(spec.get("InstanceFamilyId", ""))
        purpose = next((v for k, v in _PURPOSE.items() if family.startswith(k)), "general")
        storage = "EBS only" if spec.get("EbsStorageOnly") else \
            f"{spec.get('NumberOfDisks')} disk(s), {spec.get('StorageGB')} GB"
        types[name] = InstanceType(name, int(spec["VCPU"]), float(spec["MemoryGB"]), storage,
                                   purpose)
    types.update({name: InstanceType(name, spec["vcpu"], spec["memory_gib"], spec["storage"],
                                     spec["purpose"])
                  for name, spec in _load()["instance_types"].items()})
    return types


@cache
def _all() -> dict[str, InstanceType]:
    return instance_types()


def instance_type(name: str) -> InstanceType:
    """The named type; UsageError naming the closest known types when it is unknown."""
    types = _all()
    try:
        return types[name]
    except KeyError:
        close = difflib.get_close_matches(name, types, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else \
            f"known families: {', '.join(sorted({t.family for t in types.values()}))}"
        raise UsageError(f"unknown instance type {name!r}",
                         f"{hint} (the catalog is {CATALOG.name})") from None
