"""The EC2 instance catalog, as data: `harness/data/instances.json` curates the types the
team considers (vCPU, memory, storage, purpose); the other types EMR supports come from
the list moto ships, so any EMR instance type can be rehearsed."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from harness.errors import UsageError

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


@cache
def _emr_types() -> dict[str, dict]:
    """Every instance type EMR knows (moto ships EMR's list with vCPU and memory)."""
    try:
        from moto.utilities.utils import load_resource

        return load_resource("emr/resources/instance_types.json")
    except Exception:  # noqa: BLE001 - the curated catalog still works without it
        return {}


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
