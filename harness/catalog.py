"""The EC2 instance catalog, as data (`harness/data/instances.json`): vCPU, memory,
storage and purpose of each instance type the team considers."""

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


def instance_types() -> dict[str, InstanceType]:
    return {name: InstanceType(name=name, **spec)
            for name, spec in _load()["instance_types"].items()}


def instance_type(name: str) -> InstanceType:
    """The named type; UsageError naming the closest known types when it is unknown."""
    types = instance_types()
    try:
        return types[name]
    except KeyError:
        close = difflib.get_close_matches(name, types, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else \
            f"known families: {', '.join(sorted({t.family for t in types.values()}))}"
        raise UsageError(f"unknown instance type {name!r}",
                         f"{hint} (the catalog is {CATALOG.name})") from None
