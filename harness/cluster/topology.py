"""An EMR-shaped topology: instance groups (role, type, count, market) turned into Spark
nodes sized for this machine.

Scaling keeps the ratios between nodes: a worker gets one core per smallest-worker vCPU
count (the smallest worker has 1 core, an instance with twice its vCPUs has 2), and memory
in proportion to its instance's memory, shared out of a memory budget for all workers. The
master instance runs the Spark master. Total cores may exceed this machine's: Spark cores
are scheduling slots, and the oversubscription is reported.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.catalog import InstanceType, instance_type
from harness.errors import UsageError

ROLES = ("MASTER", "CORE", "TASK")
MARKETS = ("ON_DEMAND", "SPOT")
MIN_WORKER_MB = 640  # an executor needs 450 MB of heap at least; leave room for overhead
MAX_WORKER_MB = 4096  # more buys nothing for jobs a 2-core machine can run

PRESETS: dict[str, list[dict[str, Any]]] = {
    "small": [
        {"Name": "Master", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge",
         "InstanceCount": 1},
        {"Name": "Core", "InstanceRole": "CORE", "InstanceType": "m5.xlarge",
         "InstanceCount": 2},
        {"Name": "Task", "InstanceRole": "TASK", "InstanceType": "m5.xlarge",
         "InstanceCount": 1, "Market": "SPOT"},
    ],
}


@dataclass(frozen=True)
class InstanceGroup:
    """One EMR instance group, named as in the EMR API."""

    role: str
    instance_type: InstanceType
    count: int
    market: str = "ON_DEMAND"
    name: str = ""

    @classmethod
    def from_api(cls, spec: dict[str, Any]) -> InstanceGroup:
        role = spec.get("InstanceRole")
        if role not in ROLES:
            raise UsageError(f"InstanceRole {role!r} is not one of {', '.join(ROLES)}",
                             "fix the instance group's InstanceRole")
        market = spec.get("Market", "ON_DEMAND")
        if market not in MARKETS:
            raise UsageError(f"Market {market!r} is not one of {', '.join(MARKETS)}",
                             "use ON_DEMAND or SPOT")
        count = spec.get("InstanceCount")
        if not isinstance(count, int) or count < (1 if role != "TASK" else 0):
            raise UsageError(f"InstanceCount {count!r} of the {role} group is not valid",
                             "give a whole number (>= 1; TASK groups may have 0)")
        if role == "MASTER" and count != 1:
            raise UsageError(f"the MASTER group has {count} instances",
                             "use InstanceCount 1 (multi-master is not rehearsed)")
        return cls(role=role, instance_type=instance_type(str(spec.get("InstanceType"))),
                   count=count, market=market, name=spec.get("Name") or role.title())


@dataclass(frozen=True)
class NodeSpec:
    """One node: an instance of a group, with the cores and memory its Spark process gets."""

    name: str
    role: str
    instance_type: str
    market: str
    cores: int
    memory_mb: int
    group: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "instance_type": self.instance_type,
                "market": self.market, "cores": self.cores, "memory_mb": self.memory_mb,
                "group": self.group}


@dataclass(frozen=True)
class Topology:
    groups: tuple[InstanceGroup, ...]
    nodes: tuple[NodeSpec, ...]
    worker_memory_budget_mb: int
    host_cores: int
    notes: tuple[str, ...] = field(default=())

    @property
    def master(self) -> NodeSpec:
        return next(n for n in self.nodes if n.role == "MASTER")

    @property
    def workers(self) -> tuple[NodeSpec, ...]:
        return tuple(n for n in self.nodes if n.role != "MASTER")

    def node_named(self, name: str) -> NodeSpec:
        return next(n for n in self.nodes if n.name == name)

    @property
    def total_cores(self) -> int:
        return sum(n.cores for n in self.workers)

    @property
    def executor_memory_mb(self) -> int:
        """One executor per worker: as large as the smallest worker allows."""
        return min(n.memory_mb for n in self.workers) - 128


def default_memory_budget_mb() -> int:
    """A third of this machine's memory for the workers, within [2 GiB, 8 GiB]."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (ValueError, OSError):
        total = 8192
    return max(2048, min(8192, total // 3))


def build_topology(groups_spec: list[dict[str, Any]], memory_budget_mb: int | None = None,
                   host_cores: int | None = None) -> Topology:
    """Nodes for the instance groups, scaled to this machine (see the module docstring)."""
    if not isinstance(groups_spec, list) or not groups_spec:
        raise UsageError("no instance groups given", "give a JSON list of InstanceGroups")
    groups = tuple(InstanceGroup.from_api(g) for g in groups_spec)
    roles = [g.role for g in groups]
    if roles.count("MASTER") != 1:
        raise UsageError(f"{roles.count('MASTER')} MASTER groups given",
                         "give exactly one MASTER instance group")
    if roles.count("CORE") > 1:
        raise UsageError("more than one CORE group given", "merge them into one CORE group")
    budget = memory_budget_mb or default_memory_budget_mb()
    host = host_cores or os.cpu_count() or 1
    workers = [(g, i) for g in groups if g.role != "MASTER" for i in range(g.count)]
    if not workers:
        raise UsageError("the cluster has no CORE or TASK instances, so nothing runs tasks",
                         "add a CORE group with InstanceCount >= 1")
    min_vcpu = min(g.instance_type.vcpu for g, _ in workers)
    total_mem = sum(g.instance_type.memory_gib for g, _ in workers)
    scale = budget / total_mem
    smallest = min(g.instance_type.memory_gib for g, _ in workers) * scale
    if smallest < MIN_WORKER_MB:
        raise UsageError(
            f"{len(workers)} worker nodes do not fit in {budget} MB: the smallest would get "
            f"{smallest:.0f} MB (Spark needs {MIN_WORKER_MB} MB)",
            "use fewer or smaller instances, or raise HARNESS_CLUSTER_MEMORY_MB",
        )
    nodes = [NodeSpec("master-1", "MASTER", groups[roles.index("MASTER")].instance_type.name,
                      groups[roles.index("MASTER")].market, 0, 0,
                      groups[roles.index("MASTER")].name)]
    counters: dict[str, int] = {}
    for group, _ in workers:
        counters[group.role] = counters.get(group.role, 0) + 1
        nodes.append(NodeSpec(
            name=f"{group.role.lower()}-{counters[group.role]}",
            role=group.role,
            instance_type=group.instance_type.name,
            market=group.market,
            cores=max(1, round(group.instance_type.vcpu / min_vcpu)),
            memory_mb=min(MAX_WORKER_MB, int(group.instance_type.memory_gib * scale)),
            group=group.name,
        ))
    topology = Topology(groups, tuple(nodes), budget, host)
    notes = []
    if topology.total_cores > host:
        notes.append(f"{topology.total_cores} Spark cores on {host} host cores: "
                     f"oversubscribed {topology.total_cores / host:.1f}x")
    return Topology(groups, tuple(nodes), budget, host, tuple(notes))


def load_groups(source: str) -> list[dict[str, Any]]:
    """Instance groups from a preset name or a JSON file: a list of InstanceGroups, or an
    object with InstanceGroups / Instances.InstanceGroups (a run_job_flow request)."""
    if source in PRESETS:
        return PRESETS[source]
    path = Path(source)
    if not path.is_file():
        raise UsageError(f"{source!r} is neither a cluster preset nor a file",
                         f"use {', '.join(PRESETS)} or a path to an InstanceGroups JSON file")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not valid JSON ({exc})", "fix the file") from None
    if isinstance(data, dict):
        data = data.get("InstanceGroups") or data.get("Instances", {}).get("InstanceGroups")
    if not isinstance(data, list):
        raise UsageError(f"{path} holds no InstanceGroups list",
                         "give a list of groups or a run_job_flow request with "
                         "Instances.InstanceGroups")
    return data
