"""A job flow's capacity while it runs: its EMR instances (what ListInstances answers) bound
to the local nodes they are rehearsed on, and the changes EMR makes to them after start:
resizes (AddInstanceGroups, ModifyInstanceGroups, ModifyInstanceFleet) start and stop
workers on the running cluster, spot capacity arrives after a modelled delay, and a spot
reclaim takes a node away after its notice, through Spark's graceful decommissioning.

Spot provisioning is modelled, not measured: EC2 takes minutes to fulfil spot capacity
(HARNESS_SPOT_PROVISIONING_S, 120 s by default) while on-demand comes at once; the wait
is scaled by HARNESS_EMR_TIME_SCALE (0.05: 120 s are waited as 6 s) and every wait says
so in the StateChangeReason, the control-plane log and each later step's controller log.
A fleet's SpotSpecification TimeoutDurationMinutes is scaled the same way.

Shrinking decommissions as EMR does: the worker gets SIGPWR (Spark's
spark.decommission.enabled, which the job flow's spark-defaults and its workers carry), so
the master gives it no new executors, its executors take no new tasks and hand their
shuffle and cached blocks to the others, then the node stops.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from moto.core.utils import utcnow
from moto.emr.models import EXAMPLE_AMI_ID, InstanceGroup

from harness.allocation import Chosen
from harness.catalog import instance_type
from harness.cluster.topology import MAX_WORKER_MB, MIN_WORKER_MB, NodeSpec, Topology
from harness.cluster.topology import InstanceGroup as TopologyGroup
from harness.emr.exceptions import ValidationException

if TYPE_CHECKING:
    from harness.cluster import Node, RunningCluster
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
DECOMMISSION_WAIT_S = 60.0  # a resize's graceful shrink waits at most this for executors


def live_topology(topology: Topology, cluster: RunningCluster,
                  groups: list[dict[str, Any]]) -> Topology:
    """The job flow's topology as it is now, for sizing a step (harness.emr.resources): the
    master and the workers still running (a resize adds and removes some; a reclaimed one
    is lost), and the groups or fleets as they are now (`groups`: their specs, as
    ControlPlane.instance_groups gives them). Without a live worker, the launch topology."""
    workers = [n.spec for n in cluster.workers if n.state not in {"LOST", "TERMINATED"}]
    if not workers:
        return topology
    try:
        current = tuple(TopologyGroup.from_api(g) for g in groups)
    except Exception:  # noqa: BLE001 - a group the rule cannot read: the launch groups
        current = topology.groups
    return replace(topology, nodes=(topology.master, *workers), groups=current)


def _owners(emr: RehearsalCluster) -> list[Any]:
    return list(emr.instance_fleets) or list(emr.instance_groups)


def _wanted(owner: Any) -> list[tuple[str, str, int, int]]:
    """(instance type, market, count, weight) the group or fleet should have now."""
    if isinstance(owner, InstanceGroup):
        return [(owner.instance_type, owner.market or "ON_DEMAND", int(owner.num_instances), 1)]
    return [(c.instance_type, c.market, c.count, c.weight) for c in owner.chosen()]


def _set(owner: Any, state: str, message: str, held: bool) -> None:
    """A group's or fleet's state while a resize owns it (held) or after."""
    owner.held = held
    owner.state = state
    owner.state_change_reason = message
    if state == "RUNNING" and owner.ready_date_time is None:
        owner.ready_date_time = utcnow()


def _instance(record: Any, state: str, message: str = "", held: bool = False) -> None:
    record.held = held
    record.state = state
    if message:
        record.state_change_reason = message
    if state == "RUNNING" and record.ready_date_time is None:
        record.ready_date_time = utcnow()
    if state == "TERMINATED":
        record.end_date_time = utcnow()


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
        self.notes: list[str] = []  # what each step's controller log says of the capacity

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

    def _note(self, line: str) -> None:
        """Into the control plane's log and every later step's controller log."""
        self.notes.append(f"{time.strftime('%H:%M:%S')} {line}")
        self.plane.log(f"{self.emr.id}: {line}")

    def spot_wait_line(self, what: str) -> str:
        delay = self.plane.spot_provisioning_s
        return (f"Waiting for spot capacity for {what}: modelled EC2 fulfilment "
                f"{delay:.0f} s, waited as {self.scaled(delay):.1f} s "
                f"(HARNESS_EMR_TIME_SCALE={self.plane.time_scale:g})")

    def provision(self) -> tuple[str, str] | None:
        """Before the nodes start: records for every instance, and the modelled wait for
        spot capacity (or a fleet's spot timeout). A (code, message) ends the cluster."""
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
            self._note(message)
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
            self._note(message)
            if not self._sleep(self.scaled(self.plane.spot_provisioning_s)):
                return None
        return None

    # -- records -----------------------------------------------------------------------------

    @staticmethod
    def _active(owner: Any) -> list[Any]:
        return [i for i in owner.instances if i.state != "TERMINATED"]

    def _add_records(self, owner: Any) -> list[Any]:
        """Instance records for what the owner wants beyond what it has (a resize)."""
        added: list[Any] = []
        for itype, market, count, weight in _wanted(owner):
            have = [i for i in self._active(owner)
                    if i.instance_type == itype and i.market == market]
            missing = count - len(have)
            if missing <= 0:
                continue
            if isinstance(owner, InstanceGroup):
                from harness.emr.instances import RehearsalInstance

                ec2s = self.emr.emr_backend.ec2_backend.run_instances(
                    EXAMPLE_AMI_ID, missing, None, [], instance_type=itype,
                    is_instance_type_default=False).instances
                records = [RehearsalInstance(ec2, owner) for ec2 in ec2s]
                owner.instances.extend(records)
            else:
                records = owner.launch(self.emr.emr_backend,
                                       [Chosen(itype, market, missing, weight)])
            for record in records:
                self.emr.add_instance(record)
            added += records
        return added

    def _surplus(self, owner: Any) -> list[Any]:
        """The instances beyond what the owner wants, newest first (EMR's shrink order)."""
        extra = []
        for itype, market, count, _ in _wanted(owner):
            have = [i for i in self._active(owner)
                    if i.instance_type == itype and i.market == market]
            extra += sorted(have, key=lambda i: i.creation_date_time)[count:]
        wanted = {(t, m) for t, m, _, _ in _wanted(owner)}
        extra += [i for i in self._active(owner) if (i.instance_type, i.market) not in wanted]
        return extra

    # -- resizes -----------------------------------------------------------------------------

    def request(self) -> None:
        """A resize was asked for (the owner's target changed): reconcile on our thread."""
        with self._lock:
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name=f"capacity-{self.emr.id}")
                self._thread.start()

    def join(self, timeout_s: float) -> None:
        """Wait (at most timeout_s) for a resize under way to finish: the job flow ends."""
        with self._lock:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=timeout_s)

    def _run(self) -> None:
        while True:
            with self._lock:  # a request after this check starts a new thread
                if not self._wake.is_set() or self.jobflow.terminating \
                        or not self.jobflow.daemons_up:  # the start asks again once up
                    self._thread = None
                    return
                self._wake.clear()
            try:
                self.reconcile()
            except Exception as exc:  # noqa: BLE001 - a failed resize must not end the cluster
                self.plane.log(f"{self.emr.id}: resize failed: {exc}")
                with self.emr.lock:
                    for owner in _owners(self.emr):
                        if owner.held:
                            _set(owner, "RUNNING", f"The resize failed: {exc}", held=False)

    def reconcile(self) -> None:
        """Start nodes for instances the groups and fleets lack, stop surplus ones."""
        for owner in _owners(self.emr):
            with self.emr.lock:
                added = self._add_records(owner)
                if owner.role != "MASTER":  # instances no local node rehearses yet
                    added += [i for i in self._active(owner) if i.node is None]
                added = list(dict.fromkeys(added))
                surplus = self._surplus(owner)
                if (added or surplus) and not owner.held:
                    _set(owner, "RESIZING", "Resizing", held=True)
                for record in added:
                    record.held = True
            if added:
                self._grow(owner, added)
            if surplus:
                self._shrink(owner, surplus)
            with self.emr.lock:
                if owner.held and not self.jobflow.terminating:
                    _set(owner, "RUNNING", "", held=False)

    def _grow(self, owner: Any, added: list[Any]) -> None:
        cluster = self.jobflow.cluster
        assert cluster is not None
        if any(r.market == "SPOT" for r in added):
            message = self.spot_wait_line(owner.name)
            with self.emr.lock:
                owner.state_change_reason = message
                for record in added:
                    if record.market == "SPOT":
                        _instance(record, "AWAITING_FULFILLMENT", message, held=True)
            self._note(message)
            if not self._sleep(self.scaled(self.plane.spot_provisioning_s)):
                return
        with self.emr.lock:
            for record in added:
                _instance(record, "PROVISIONING", held=True)
        specs = self.new_specs(owner, added)
        self._note(f"resize of {owner.name}: starting {', '.join(s.name for s in specs)} "
                   f"for {len(added)} instance(s)")

        def setup(nodes: list[Node]) -> dict[str, dict[str, str]]:
            """As at launch: the nodes' environments and bootstrap actions, then Spark."""
            for k, record in enumerate(added):
                nodes[k % len(nodes)].emr_instances.append(record.ec2_instance_id)
            with self.emr.lock:
                for record in added:
                    _instance(record, "BOOTSTRAPPING", held=True)
            return self.jobflow.setup_added(nodes)

        try:
            nodes = self.jobflow.backend.add_workers(cluster, specs, setup=setup)
        except BaseException as exc:
            self.plane.grow(self.jobflow, -sum(s.memory_mb for s in specs))  # not started
            with self.emr.lock:
                for record in added:
                    _instance(record, "TERMINATED", f"The resize failed: {exc}")
                    record.state_change_code = "BOOTSTRAP_FAILURE" \
                        if "bootstrap action" in str(exc) else "INTERNAL_ERROR"
            self._note(f"resize of {owner.name} failed: {exc}")
            self.plane.record(self.jobflow)
            raise
        with self.emr.lock:
            for k, record in enumerate(added):
                node = nodes[k % len(nodes)]
                record.node = node.spec.name
                _instance(record, "RUNNING", f"Rehearsed by local worker {node.spec.name} "
                          "(started by a resize)")
        if self.jobflow.stopped:  # the job flow ended while they started: theirs too
            self.jobflow.backend.remove_workers(cluster, [n.spec.name for n in nodes],
                                                graceful=False)
        self.plane.record(self.jobflow)

    def _shrink(self, owner: Any, surplus: list[Any]) -> None:
        cluster = self.jobflow.cluster
        assert cluster is not None
        leaving = {i.node for i in surplus if i.node}
        staying = {i.node for i in self._active(owner) if i not in surplus}
        names = sorted(n for n in leaving - staying if n is not None)
        self._note(f"resize of {owner.name}: decommissioning {', '.join(names) or 'no node'} "
                   f"({len(surplus)} instance(s))")
        if names:
            self.jobflow.backend.remove_workers(cluster, names, graceful=True,
                                                timeout_s=DECOMMISSION_WAIT_S)
            self.plane.grow(self.jobflow, -sum(cluster.node(n).spec.memory_mb for n in names))
        with self.emr.lock:
            for record in surplus:
                _instance(record, "TERMINATED",
                          "Terminated by a resize (decommissioned gracefully)")
        self.plane.record(self.jobflow)

    def new_specs(self, owner: Any, added: list[Any]) -> list[NodeSpec]:
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
        floor = max(MIN_WORKER_MB, cluster.executor_memory_mb + 128)
        taken = {n.spec.name for n in cluster.nodes}
        room = self.plane.room_mb(self.jobflow)
        specs: list[NodeSpec] = []
        used = 0
        for record in added:
            itype = instance_type(record.instance_type)
            memory = max(floor, min(MAX_WORKER_MB, int(itype.memory_gib * mb_per_gib)))
            if specs and used + memory > room:
                break  # consolidated: the remaining instances share the nodes started
            n = 1
            while f"{owner.role.lower()}-{n}" in taken:
                n += 1
            name = f"{owner.role.lower()}-{n}"
            taken.add(name)
            used += memory
            specs.append(NodeSpec(name=name, role=owner.role, instance_type=itype.name,
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
            records = [i for owner in _owners(self.emr) for i in owner.instances
                       if i.node == node and i.state != "TERMINATED"]
            for record in records:
                record.held = True  # RUNNING through the notice, whatever the cluster does
        threading.Thread(target=self._reclaim, args=(target, records, notice_s), daemon=True,
                         name=f"reclaim-{node}").start()
        return [r.id for r in records]

    def _reclaim(self, target: Node, records: list[Any], notice_s: float) -> None:
        cluster = self.jobflow.cluster
        assert cluster is not None
        name = target.spec.name
        self._note(f"spot reclaim of {name}: "
                   + (f"interruption notice of {notice_s:g} s, decommissioning"
                      if notice_s > 0 else "no notice, killed at once"))
        try:
            if notice_s > 0:
                began = time.monotonic()
                self.jobflow.backend.remove_workers(cluster, [name], graceful=True,
                                                    timeout_s=notice_s, stop=False)
                self._sleep(notice_s - (time.monotonic() - began))  # EC2 waits it out
            self.jobflow.backend.kill_node(cluster, name)
            self.plane.grow(self.jobflow, -target.spec.memory_mb)  # its memory is free again
        except Exception as exc:  # noqa: BLE001 - report it; the node may be gone already
            self._note(f"reclaim of {name}: {exc}")
        with self.emr.lock:
            for record in records:
                _instance(record, "TERMINATED", "The EC2 spot instance was reclaimed"
                          + (f" after a {notice_s:g} s interruption notice"
                             if notice_s > 0 else ""))
                record.state_change_code = "INSTANCE_FAILURE"
        self.plane.record(self.jobflow)
        self._note(f"{name} reclaimed; instances {', '.join(r.id for r in records)} "
                   "TERMINATED; replacing them, as EMR provisions a group or fleet back to "
                   "its target")
        self.request()

