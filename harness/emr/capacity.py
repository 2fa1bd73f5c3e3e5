"""A job flow's capacity while it runs: its EMR instances (what ListInstances answers) bound
to the local nodes they are rehearsed on, and the changes EMR makes to them after start:
resizes (AddInstanceGroups, ModifyInstanceGroups, ModifyInstanceFleet) start and stop
workers on the running cluster, spot capacity arrives after a modelled delay, and a spot
reclaim takes a node away after its notice, through Spark's graceful decommissioning.

Spot provisioning is modelled, not measured: EC2 takes minutes to fulfil spot capacity
(HARNESS_SPOT_PROVISIONING_S, 120 s by default) while on-demand comes at once; the wait
is scaled by HARNESS_EMR_TIME_SCALE (0.05: 120 s are waited as 6 s) and every wait says
so in the StateChangeReason and the control-plane log. A fleet's SpotSpecification
TimeoutDurationMinutes is scaled the same way.

Shrinking decommissions as EMR does: the worker gets SIGPWR (Spark's
spark.decommission.enabled, which the job flow's spark-defaults and its workers carry), so
the master gives it no new executors, its executors take no new tasks and hand their
shuffle and cached blocks to the others, then the node stops.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import TYPE_CHECKING, Any

from moto.core.utils import utcnow
from moto.emr.models import Instance, InstanceGroup

from harness.catalog import instance_type
from harness.cluster.topology import NodeSpec
from harness.emr.exceptions import ValidationException

if TYPE_CHECKING:
    from harness.cluster import Node
    from harness.emr.jobflow import JobFlow
    from harness.emr.models import RehearsalCluster

# Spark settings of every job flow: executors and workers decommission gracefully, as EMR's
# nodes do on a resize or a spot interruption notice.
DECOMMISSION_CONF = {
    "spark.decommission.enabled": "true",
    "spark.storage.decommission.enabled": "true",
    "spark.storage.decommission.shuffleBlocks.enabled": "true",
    "spark.storage.decommission.rddBlocks.enabled": "true",
}
MIN_NEW_WORKER_MB = 640
DECOMMISSION_WAIT_S = 60.0  # a resize's graceful shrink waits at most this for executors


class RehearsalInstanceGroup(InstanceGroup):
    """moto's instance group whose counts are its instances': RequestedInstanceCount is the
    target, RunningInstanceCount the instances RUNNING on local nodes."""

    def __init__(self, cluster: RehearsalCluster, **kwargs: Any) -> None:
        super().__init__(cluster_id=cluster.id, **kwargs)
        self.cluster = cluster
        self.state = "PROVISIONING"
        self.state_change_code: str | None = None
        self.state_change_reason = ""
        self.ready_date_time = None

    @property
    def running_instance_count(self) -> int:  # type: ignore[override]
        return sum(1 for i in self.cluster.ec2_instances
                   if i.instance_group_id == self.id and i.state == "RUNNING")

    instance_running_count = running_instance_count

    @property
    def status(self) -> dict[str, Any]:
        reason: dict[str, Any] = {"Message": self.state_change_reason}
        if self.state_change_code:
            reason["Code"] = self.state_change_code
        return {"State": self.state, "StateChangeReason": reason,
                "Timeline": {"CreationDateTime": self.creation_date_time,
                             "ReadyDateTime": self.ready_date_time,
                             "EndDateTime": self.end_date_time}}

    @property
    def role_name(self) -> str:
        return self.role

    def set_state(self, state: str, code: str | None, message: str) -> None:
        self.state, self.state_change_code, self.state_change_reason = state, code, message
        if state == "RUNNING" and self.ready_date_time is None:
            self.ready_date_time = utcnow()
        if state == "TERMINATED":
            self.end_date_time = utcnow()


class RehearsalInstance(Instance):
    """One EMR instance of a group or fleet, with its own state and the local node it is
    rehearsed on (several instances share a node when the machine has no room for more)."""

    def __init__(self, ec2_instance: Any, owner: Any, instance_type_name: str, market: str,
                 weight: int = 1, fleet: bool = False) -> None:
        super().__init__(ec2_instance, owner, owner.id if fleet else None)
        self.owner = owner
        self.fleet = fleet
        self.weight = weight
        self._type = instance_type_name
        self._market = market
        self.state = "AWAITING_FULFILLMENT" if market == "SPOT" else "PROVISIONING"
        self.state_change_code: str | None = None
        self.state_change_reason = ""
        self.node: str | None = None
        self.creation_date_time = utcnow()
        self.ready_date_time = None
        self.end_date_time = None

    @property
    def instance_group_id(self) -> str | None:  # type: ignore[override]
        return None if self.fleet else self.owner.id

    @property
    def market(self) -> str:  # type: ignore[override]
        return self._market

    @property
    def instance_type(self) -> str:  # type: ignore[override]
        return self._type

    @property
    def role(self) -> str:
        return self.owner.role

    @property
    def status(self) -> dict[str, Any]:  # type: ignore[override]
        reason: dict[str, Any] = {"Message": self.state_change_reason}
        if self.state_change_code:
            reason["Code"] = self.state_change_code
        return {"State": self.state, "StateChangeReason": reason,
                "Timeline": {"CreationDateTime": self.creation_date_time,
                             "ReadyDateTime": self.ready_date_time,
                             "EndDateTime": self.end_date_time}}

    def set_state(self, state: str, code: str | None = None, message: str = "") -> None:
        self.state, self.state_change_code, self.state_change_reason = state, code, message
        if state == "RUNNING" and self.ready_date_time is None:
            self.ready_date_time = utcnow()
        if state == "TERMINATED":
            self.end_date_time = utcnow()


def _owners(emr: RehearsalCluster) -> list[Any]:
    return list(emr.instance_fleets) or list(emr.instance_groups)


def _wanted(owner: Any) -> list[tuple[str, str, int, int]]:
    """(instance type, market, count, weight) the group or fleet should have now."""
    if isinstance(owner, InstanceGroup):
        return [(owner.instance_type, owner.market or "ON_DEMAND", int(owner.num_instances), 1)]
    return [(c.instance_type, c.market, c.count, c.weight) for c in owner.chosen()]


def _group_key(spec: NodeSpec) -> tuple[str | None, str]:
    return getattr(spec, "group_id", None), spec.group


class Capacity:
    """The instances of one job flow and the nodes behind them; changes run one at a time
    on a thread of their own, so the API answers at once (the group shows RESIZING)."""

    def __init__(self, jobflow: JobFlow) -> None:
        self.jobflow = jobflow
        self.emr: RehearsalCluster = jobflow.emr
        self.plane = jobflow.plane
        self._lock = threading.Lock()  # one change at a time
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- time, modelled ----------------------------------------------------------------------

    def scaled(self, seconds: float) -> float:
        return seconds * self.plane.time_scale

    def _sleep(self, seconds: float) -> bool:
        """Wait (scaled already); False when the job flow is terminating meanwhile."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.jobflow.terminating:
                return False
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        return not self.jobflow.terminating

    def spot_wait_line(self, what: str) -> str:
        delay = self.plane.spot_provisioning_s
        return (f"Waiting for spot capacity for {what}: modelled EC2 fulfilment "
                f"{delay:.0f} s, waited as {self.scaled(delay):.1f} s "
                f"(HARNESS_EMR_TIME_SCALE={self.plane.time_scale:g})")

    def provision(self) -> tuple[str, str] | None:
        """Before the nodes start: records for every instance, and the modelled wait for
        spot capacity (or a fleet's spot timeout). A (code, message) ends the cluster."""
        with self.emr.lock:
            for owner in _owners(self.emr):
                self._add_records(owner)
        fleets = list(self.emr.instance_fleets)
        timeouts = [f for f in fleets if f.selection.unfulfilled_spot]
        spot = [o for o in _owners(self.emr)
                if any(m == "SPOT" for _, m, _, _ in _wanted(o))]
        if timeouts:
            fleet = timeouts[0]
            wait = fleet.spot_timeout_s or 0.0
            message = (f"No instance type of the {fleet.role} fleet bids enough for spot "
                       f"capacity: waiting out TimeoutDurationMinutes ({wait:.0f} s, waited "
                       f"as {self.scaled(wait):.1f} s), then {fleet.spot_timeout_action}")
            self.emr.provisioning(message)
            self.plane.log(f"{self.emr.id}: {message}")
            if not self._sleep(self.scaled(wait)):
                return None
            if fleet.spot_timeout_action == "TERMINATE_CLUSTER":
                return ("INSTANCE_FLEET_TIMEOUT",
                        f"The {fleet.role} instance fleet could not get its spot capacity "
                        "within TimeoutDurationMinutes")
        if spot:
            names = ", ".join(o.name for o in spot)
            message = self.spot_wait_line(names)
            self.emr.provisioning(message)
            self.plane.log(f"{self.emr.id}: {message}")
            if not self._sleep(self.scaled(self.plane.spot_provisioning_s)):
                return None
        return None

    # -- records -----------------------------------------------------------------------------

    def _active(self, owner: Any) -> list[RehearsalInstance]:
        return [i for i in self.emr.ec2_instances if isinstance(i, RehearsalInstance)
                and i.owner is owner and i.state != "TERMINATED"]

    def _add_records(self, owner: Any) -> list[RehearsalInstance]:
        """Instance records for what the owner wants beyond what it has."""
        added = []
        fleet = not isinstance(owner, InstanceGroup)
        for itype, market, count, weight in _wanted(owner):
            have = [i for i in self._active(owner)
                    if i.instance_type == itype and i.market == market]
            for _ in range(count - len(have)):
                ec2 = self.emr.emr_backend.ec2_backend.run_instances(
                    "ami-12c6146b", 1, None, [], instance_type=itype,
                    is_instance_type_default=False).instances[0]
                record = RehearsalInstance(ec2, owner, itype, market, weight, fleet)
                self.emr.add_instance(record)
                added.append(record)
        return added

    def _surplus(self, owner: Any) -> list[RehearsalInstance]:
        """The instances beyond what the owner wants, newest first (EMR's shrink order)."""
        extra = []
        for itype, market, count, _ in _wanted(owner):
            have = [i for i in self._active(owner)
                    if i.instance_type == itype and i.market == market]
            extra += sorted(have, key=lambda i: i.creation_date_time)[count:]
        wanted = {(t, m) for t, m, _, _ in _wanted(owner)}
        extra += [i for i in self._active(owner) if (i.instance_type, i.market) not in wanted]
        return extra

    def bind(self) -> None:
        """After the nodes started: each instance to a node of its group or fleet (round
        robin when several instances are consolidated on one node); all RUNNING."""
        cluster = self.jobflow.cluster
        assert cluster is not None
        with self.emr.lock:
            for owner in _owners(self.emr):
                nodes = [n for n in cluster.nodes
                         if owner.id in _group_key(n.spec)
                         or (_group_key(n.spec)[0] is None and n.spec.group == owner.name
                             and n.spec.role == owner.role)]
                for itype, market, _, _ in _wanted(owner):
                    mine = [n for n in nodes if n.spec.instance_type == itype
                            and n.spec.market == market] or nodes
                    records = [i for i in self._active(owner)
                               if i.instance_type == itype and i.market == market]
                    for k, record in enumerate(records):
                        if mine:
                            record.node = mine[k % len(mine)].spec.name
                        record.set_state("RUNNING")
                owner.set_state("RUNNING", None, "")
                self._fleet_capacity(owner)

    def _fleet_capacity(self, owner: Any) -> None:
        if isinstance(owner, InstanceGroup):
            return
        running = [i for i in self.emr.ec2_instances if isinstance(i, RehearsalInstance)
                   and i.owner is owner and i.state == "RUNNING"]
        owner.provisioned_on_demand_capacity = sum(i.weight for i in running
                                                   if i.market == "ON_DEMAND")
        owner.provisioned_spot_capacity = sum(i.weight for i in running if i.market == "SPOT")

    # -- resizes -----------------------------------------------------------------------------

    def request(self) -> None:
        """A resize was asked for (the owner's target changed): reconcile on our thread."""
        self._wake.set()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name=f"capacity-{self.emr.id}")
                self._thread.start()

    def _run(self) -> None:
        while self._wake.is_set() and not self.jobflow.terminating:
            self._wake.clear()
            if self.jobflow.cluster is None:
                return  # the start binds whatever was asked for meanwhile
            try:
                self.reconcile()
            except Exception as exc:  # noqa: BLE001 - a failed resize must not end the cluster
                self.plane.log(f"{self.emr.id}: resize failed: {exc}")
                with self.emr.lock:
                    for owner in _owners(self.emr):
                        if owner.state in {"RESIZING", "PROVISIONING"}:
                            owner.set_state("RUNNING", "INTERNAL_ERROR",
                                            f"The resize failed: {exc}")

    def reconcile(self) -> None:
        """Start nodes for instances the groups and fleets lack, stop surplus ones."""
        for owner in _owners(self.emr):
            with self.emr.lock:
                added = self._add_records(owner)
                surplus = self._surplus(owner)
            if added:
                self._grow(owner, added)
            if surplus:
                self._shrink(owner, surplus)
            with self.emr.lock:
                if owner.state in {"RESIZING", "PROVISIONING"} and not self.jobflow.terminating:
                    owner.set_state("RUNNING", None, "")
                self._fleet_capacity(owner)

    def _grow(self, owner: Any, added: list[RehearsalInstance]) -> None:
        cluster = self.jobflow.cluster
        assert cluster is not None
        if any(r.market == "SPOT" for r in added):
            message = self.spot_wait_line(owner.name)
            with self.emr.lock:
                owner.set_state(owner.state, None, message)
            self.plane.log(f"{self.emr.id}: {message}")
            if not self._sleep(self.scaled(self.plane.spot_provisioning_s)):
                return
        with self.emr.lock:
            for record in added:
                record.set_state("PROVISIONING")
        specs = self.new_specs(owner, added)
        self.plane.log(f"{self.emr.id}: resize of {owner.name}: starting "
                       f"{', '.join(s.name for s in specs)} for {len(added)} instance(s)")
        nodes = self.jobflow.backend.add_workers(cluster, specs)
        with self.emr.lock:
            for k, record in enumerate(added):
                record.node = nodes[k % len(nodes)].spec.name
                record.set_state("RUNNING")
        self.plane.record(self.jobflow)

    def _shrink(self, owner: Any, surplus: list[RehearsalInstance]) -> None:
        cluster = self.jobflow.cluster
        assert cluster is not None
        leaving = {i.node for i in surplus if i.node}
        staying = {i.node for i in self._active(owner) if i not in surplus}
        names = sorted(n for n in leaving - staying if n is not None)
        self.plane.log(f"{self.emr.id}: resize of {owner.name}: decommissioning "
                       f"{', '.join(names) or 'no node'} ({len(surplus)} instance(s))")
        if names:
            self.jobflow.backend.remove_workers(cluster, names, graceful=True,
                                                timeout_s=DECOMMISSION_WAIT_S)
        with self.emr.lock:
            for record in surplus:
                record.set_state("TERMINATED", None,
                                 "Terminated by a resize (decommissioned gracefully)")
        self.plane.record(self.jobflow)

    def new_specs(self, owner: Any, added: list[RehearsalInstance]) -> list[NodeSpec]:
        """Nodes for new instances, sized like the running workers (the same MB per GiB of
        instance memory and vCPUs per core), as many as the control plane has room for."""
        cluster = self.jobflow.cluster
        assert cluster is not None
        workers = [n for n in cluster.workers if n.state != "LOST"] or list(cluster.workers)
        ref = workers[0].spec if workers else None
        if ref is not None and ref.cores and ref.memory_mb:
            ref_type = instance_type(ref.instance_type)
            mb_per_gib = ref.memory_mb / ref_type.memory_gib
            vcpu_per_core = ref_type.vcpu / ref.cores
        else:
            mb_per_gib, vcpu_per_core = 256.0, 4.0
        floor = max(MIN_NEW_WORKER_MB, cluster.executor_memory_mb + 128)
        taken = {n.spec.name for n in cluster.nodes}
        room = self.plane.room_mb(self.jobflow)
        specs: list[NodeSpec] = []
        used = 0
        for record in added:
            itype = instance_type(record.instance_type)
            memory = max(floor, min(4096, int(itype.memory_gib * mb_per_gib)))
            if specs and used + memory > room:
                break  # consolidated: the remaining instances share the nodes started
            n = 1
            while f"{owner.role.lower()}-{n}" in taken:
                n += 1
            name = f"{owner.role.lower()}-{n}"
            taken.add(name)
            used += memory
            specs.append(_node_spec(name=name, role=owner.role, instance_type=itype.name,
                                    market=record.market,
                                    cores=max(1, round(itype.vcpu / vcpu_per_core)),
                                    memory_mb=memory, group=owner.name, group_id=owner.id))
        self.plane.grow(self.jobflow, used)
        return specs

    # -- spot reclaim ------------------------------------------------------------------------

    def reclaim(self, node: str, notice_s: float) -> list[str]:
        """EC2 reclaims the node's spot instance: checked now, done on a thread. With a
        notice the node is decommissioned at once (tasks move) and killed when the notice
        runs out; without, it is killed at once. Returns the instance ids it ends."""
        cluster = self.jobflow.cluster
        if cluster is None or self.emr.state not in {"RUNNING", "WAITING"}:
            raise ValidationException(f"Cluster {self.emr.id} is {self.emr.state}: a node "
                                      "can be reclaimed only while it runs")
        target = next((n for n in cluster.nodes if n.spec.name == node), None)
        if target is None:
            names = ", ".join(n.spec.name for n in cluster.workers if n.state != "LOST")
            raise ValidationException(f"Cluster {self.emr.id} has no node '{node}' (its "
                                      f"workers: {names})")
        if target.spec.role == "MASTER":
            raise ValidationException("The master node cannot be reclaimed like a spot "
                                      "instance; reclaim a CORE or TASK node")
        if target.state == "LOST":
            raise ValidationException(f"Node '{node}' is already lost")
        with self.emr.lock:
            records = [i for i in self.emr.ec2_instances if isinstance(i, RehearsalInstance)
                       and i.node == node and i.state != "TERMINATED"]
        threading.Thread(target=self._reclaim, args=(target, records, notice_s), daemon=True,
                         name=f"reclaim-{node}").start()
        return [r.id for r in records]

    def _reclaim(self, target: Node, records: list[RehearsalInstance], notice_s: float) -> None:
        cluster = self.jobflow.cluster
        assert cluster is not None
        name = target.spec.name
        self.plane.log(f"{self.emr.id}: spot reclaim of {name}: "
                       + (f"interruption notice of {notice_s:g} s, decommissioning"
                          if notice_s > 0 else "no notice, killed at once"))
        try:
            if notice_s > 0:
                self.jobflow.backend.remove_workers(cluster, [name], graceful=True,
                                                    timeout_s=notice_s, stop=False)
            self.jobflow.backend.kill_node(cluster, name)
        except Exception as exc:  # noqa: BLE001 - report it; the node may be gone already
            self.plane.log(f"{self.emr.id}: reclaim of {name}: {exc}")
        with self.emr.lock:
            for record in records:
                record.set_state("TERMINATED", "INSTANCE_FAILURE",
                                 "The EC2 spot instance was reclaimed"
                                 + (f" after a {notice_s:g} s interruption notice"
                                    if notice_s > 0 else ""))
            for owner in _owners(self.emr):
                self._fleet_capacity(owner)
        self.plane.record(self.jobflow)
        self.plane.log(f"{self.emr.id}: {name} reclaimed; instances "
                       f"{', '.join(r.id for r in records)} TERMINATED")


def _node_spec(**values: Any) -> NodeSpec:
    """A NodeSpec with the fields this topology module has (group_id where it exists)."""
    names = {f.name for f in dataclasses.fields(NodeSpec)}
    return NodeSpec(**{k: v for k, v in values.items() if k in names})
