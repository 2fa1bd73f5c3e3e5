"""An EMR-shaped topology: instance groups (role, type, count, market) turned into Spark
nodes sized for this machine, by one stated rule (README, "How EMR instances become local
workers"):

- The MASTER group (1 instance, or 3 for EMR's high availability) is one local Spark
  master; the other two of an HA group are listed as standing by.
- CORE and TASK instances run executors on local Spark workers. When there are more than
  the machine holds (MAX_WORKERS, and MIN_WORKER_MB each within the memory budget), a
  group's instances are consolidated: "11 r5.2xlarge core instances rehearsed as 3
  workers". Every group keeps at least one worker of its own role, type and market; the
  other workers go to groups in proportion to their instance counts.
- A cluster with no CORE/TASK instance (single node) runs its executors on the master
  node: a worker daemon beside the master, as YARN runs a NodeManager there.
- Memory: every worker first gets MIN_WORKER_MB (what an executor needs); the rest of the
  budget is shared in proportion to the memory of the instances each worker stands for, so
  a small type next to big ones never starves. Cores: one per smallest-worker vCPU count
  (an instance with twice its vCPUs gets 2), at most MAX_WORKER_CORES. Total cores may
  exceed this machine's: Spark cores are scheduling slots, and the oversubscription is
  reported.
What cannot run at all (more groups than workers fit in the budget) is a UsageError
naming the remedy; EMR's API layer turns it into a ValidationException before any
cluster exists.
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
MAX_WORKER_CORES = 4
MAX_WORKERS = 4  # worker JVMs per cluster: each costs start-up time and ~200 MB on the host
EXECUTOR_HEADROOM_MB = 128  # a worker's memory beyond its executor's heap

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
    """One EMR instance group, named as in the EMR API (`id`: its ig-... id, if any)."""

    role: str
    instance_type: InstanceType
    count: int
    market: str = "ON_DEMAND"
    name: str = ""
    id: str = ""

    @classmethod
    def from_api(cls, spec: dict[str, Any]) -> InstanceGroup:
        role = spec.get("InstanceRole")
        if role not in ROLES:
            raise UsageError(f"InstanceRole {role!r} is not one of {', '.join(ROLES)}",
                             "fix the instance group's InstanceRole")
        market = spec.get("Market") or "ON_DEMAND"
        if market not in MARKETS:
            raise UsageError(f"Market {market!r} is not one of {', '.join(MARKETS)}",
                             "use ON_DEMAND or SPOT")
        count = spec.get("InstanceCount")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise UsageError(f"InstanceCount {count!r} of the {role} group is not valid",
                             "give a whole number (>= 0)")
        if role == "MASTER" and count not in (1, 3):
            raise UsageError(f"the MASTER group has {count} instances",
                             "use InstanceCount 1, or 3 for a high-availability cluster")
        return cls(role=role, instance_type=instance_type(str(spec.get("InstanceType"))),
                   count=count, market=market, name=spec.get("Name") or role.title(),
                   id=str(spec.get("Id") or ""))

    def describe(self) -> str:
        kind = {"MASTER": "master", "CORE": "core", "TASK": "task"}[self.role]
        spot = " SPOT" if self.market == "SPOT" else ""
        plural = "" if self.count == 1 else "s"
        return f"{self.count} {self.instance_type.name}{spot} {kind} instance{plural}"


@dataclass(frozen=True)
class NodeSpec:
    """One local node: the Spark daemon (`daemon`: master or worker) standing for
    `instance_count` EMR instances of a group (from the group's `first_instance`-th), with
    the cores and memory a worker offers. `host` is the EMR node it runs on: its own name,
    or the master's for the worker of a single-node cluster."""

    name: str
    role: str
    instance_type: str
    market: str
    cores: int
    memory_mb: int
    group: str
    group_id: str = ""
    daemon: str = ""  # default: "master" for the MASTER role, else "worker"
    instance_count: int = 1
    first_instance: int = 0
    host: str = ""

    def __post_init__(self) -> None:
        if not self.daemon:
            object.__setattr__(self, "daemon", "master" if self.role == "MASTER" else "worker")

    @property
    def on_node(self) -> str:
        return self.host or self.name

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "instance_type": self.instance_type,
                "market": self.market, "cores": self.cores, "memory_mb": self.memory_mb,
                "group": self.group, "group_id": self.group_id, "daemon": self.daemon,
                "instance_count": self.instance_count,
                "first_instance": self.first_instance, "host": self.host}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NodeSpec:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Topology:
    groups: tuple[InstanceGroup, ...]
    nodes: tuple[NodeSpec, ...]
    worker_memory_budget_mb: int
    host_cores: int
    notes: tuple[str, ...] = field(default=())

    @property
    def master(self) -> NodeSpec:
        return next(n for n in self.nodes if n.daemon == "master")

    @property
    def workers(self) -> tuple[NodeSpec, ...]:
        """The nodes running a Spark worker daemon (where executors run)."""
        return tuple(n for n in self.nodes if n.daemon == "worker")

    def node_named(self, name: str) -> NodeSpec:
        return next(n for n in self.nodes if n.name == name)

    @property
    def total_cores(self) -> int:
        return sum(n.cores for n in self.workers)

    @property
    def worker_memory_mb(self) -> int:
        """What the workers take from the machine (reserved while the cluster runs)."""
        return sum(n.memory_mb for n in self.workers)

    @property
    def executor_memory_mb(self) -> int:
        """One executor per worker: as large as the smallest worker allows."""
        return min(n.memory_mb for n in self.workers) - EXECUTOR_HEADROOM_MB

    def group_of(self, node: NodeSpec) -> InstanceGroup:
        return next(g for g in self.groups
                    if (g.id and g.id == node.group_id) or (not g.id and g.name == node.group
                                                            and g.role == node.role))

    def mapping_lines(self) -> list[str]:
        """How the EMR instances are rehearsed, one line per group, then the notes."""
        lines = []
        for group in self.groups:
            nodes = [n for n in self.nodes if n.group == group.name and n.role == group.role
                     and (not group.id or n.group_id == group.id)]
            if group.role == "MASTER":
                master = next(n for n in nodes if n.daemon == "master")
                line = f"{group.describe()} rehearsed as the local Spark master {master.name}"
                if group.count == 3:
                    line += (" (EMR high availability: one master is active locally, the "
                             "other two are listed as standing by)")
                on_master = [n for n in nodes if n.daemon == "worker"]
                if on_master:
                    w = on_master[0]
                    line += (f"; executors run on the master node ({w.name}: a Spark worker "
                             f"beside the master, as YARN runs a NodeManager there, "
                             f"{_cores(w.cores)}, {w.memory_mb} MB)")
                lines.append(line)
                continue
            if not nodes:
                lines.append(f"{group.describe()}: nothing to rehearse")
                continue
            word = "worker" if len(nodes) == 1 else "workers"
            sizes = ", ".join(
                f"{n.name} ({_cores(n.cores)}, {n.memory_mb} MB" +
                (f", for {n.instance_count} instances)" if n.instance_count > 1 else ")")
                for n in nodes)
            lines.append(f"{group.describe()} rehearsed as {len(nodes)} {word}: {sizes}")
        return lines + list(self.notes)


def _cores(n: int) -> str:
    return f"{n} core" if n == 1 else f"{n} cores"


def default_memory_budget_mb() -> int:
    """A third of this machine's memory for the workers, within [2 GiB, 8 GiB]."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (ValueError, OSError):
        total = 8192
    return max(2048, min(8192, total // 3))


def _share(total: int, weights: list[int], caps: list[int]) -> list[int]:
    """`total` whole units shared by weight (largest remainder), each at most its cap."""
    out = [0] * len(weights)
    left = total
    while left > 0:
        open_ = [i for i in range(len(weights)) if out[i] < caps[i]]
        if not open_:
            break
        weight = sum(weights[i] for i in open_) or len(open_)
        exact = {i: left * (weights[i] or 1) / weight for i in open_}
        given = {i: min(caps[i] - out[i], int(exact[i])) for i in open_}
        if not any(given.values()):  # hand out the remainder one by one, largest first
            i = max(open_, key=lambda j: (exact[j] - int(exact[j]), weights[j]))
            given = {i: 1}
        for i, n in given.items():
            out[i] += n
            left -= n
    return out


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
    # an instance fleet's types and markets come as several specs of one group (its Id)
    if len({g.id or g.name for g in groups if g.role == "CORE"}) > 1:
        raise UsageError("more than one CORE group given", "merge them into one CORE group")
    budget = memory_budget_mb or default_memory_budget_mb()
    host = host_cores or os.cpu_count() or 1
    master_group = groups[roles.index("MASTER")]
    # the groups whose instances run executors; a single-node cluster: the master's
    hosting = [g for g in groups if g.role != "MASTER" and g.count > 0]
    single_node = not hosting
    if single_node:
        hosting = [master_group]
    fits = budget // MIN_WORKER_MB
    if fits < len(hosting):
        raise UsageError(
            f"{len(hosting)} instance groups need {len(hosting)} workers of at least "
            f"{MIN_WORKER_MB} MB each, more than the {budget} MB this cluster may use",
            "use fewer instance groups, or raise the memory budget "
            "(HARNESS_EMR_JOBFLOW_MEMORY_MB within HARNESS_EMR_CAPACITY_MB for job flows, "
            "HARNESS_CLUSTER_MEMORY_MB for harness up)")
    instances = 1 if single_node else sum(g.count for g in hosting)
    n_workers = min(instances, max(len(hosting), min(MAX_WORKERS, fits)))
    counts = [1 if single_node else g.count for g in hosting]
    per_group = [1 + extra for extra in _share(n_workers - len(hosting),
                                               counts, [c - 1 for c in counts])]

    # (group, instances it stands for, first instance) per worker
    plan: list[tuple[InstanceGroup, int, int]] = []
    for group, count, k in zip(hosting, counts, per_group, strict=True):
        first = 0
        for w in range(k):
            n = count // k + (1 if w < count % k else 0)
            plan.append((group, n, first))
            first += n
    min_vcpu = min(g.instance_type.vcpu for g in hosting)
    weights = [max(1, round(g.instance_type.memory_gib * n * 1024)) for g, n, _ in plan]
    rest = budget - MIN_WORKER_MB * len(plan)
    extra = _share(rest, weights, [MAX_WORKER_MB - MIN_WORKER_MB] * len(plan))

    master_name = "master-1"
    nodes = [NodeSpec(master_name, "MASTER", master_group.instance_type.name,
                      master_group.market, 0, 0, master_group.name, master_group.id,
                      daemon="master", instance_count=master_group.count)]
    counters: dict[str, int] = {}
    for (group, n, first), more in zip(plan, extra, strict=True):
        if single_node:
            name, host_node = f"{master_name}-worker", master_name
        else:
            counters[group.role] = counters.get(group.role, 0) + 1
            name, host_node = f"{group.role.lower()}-{counters[group.role]}", ""
        nodes.append(NodeSpec(
            name=name, role=group.role, instance_type=group.instance_type.name,
            market=group.market,
            cores=min(MAX_WORKER_CORES, max(1, round(group.instance_type.vcpu / min_vcpu))),
            memory_mb=MIN_WORKER_MB + more, group=group.name, group_id=group.id,
            daemon="worker", instance_count=n, first_instance=first, host=host_node))
    topology = Topology(groups, tuple(nodes), budget, host)
    notes = []
    consolidated = [g for g, k in zip(hosting, per_group, strict=True)
                    if not single_node and k < g.count]
    if consolidated:
        notes.append(f"consolidated to {len(plan)} local workers (at most {MAX_WORKERS}, "
                     f"{MIN_WORKER_MB} MB each at least, within {budget} MB): each stands "
                     "for the EMR instances listed in ListInstances")
    if topology.total_cores > host:
        notes.append(f"{topology.total_cores} Spark cores on {host} host cores: "
                     f"oversubscribed {topology.total_cores / host:.1f}x")
    return Topology(groups, tuple(nodes), topology.worker_memory_mb, host, tuple(notes))


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
