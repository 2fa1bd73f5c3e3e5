"""EMR's instance records for a rehearsed cluster, derived from moto's (`InstanceGroup`,
`Instance`): ids shaped as EMR's (groups ig-..., instances ci-... on EC2 instances i-...),
states that follow the local nodes (PROVISIONING -> BOOTSTRAPPING -> RUNNING ->
TERMINATED), RunningInstanceCount counted from them, and for every instance the local node
that rehearses it (several EMR instances may share one consolidated worker; the README's
mapping rule), stated in the instance's StateChangeReason.
"""

from __future__ import annotations

from typing import Any

from moto.core.utils import utcnow
from moto.emr.models import Instance, InstanceGroup
from moto.emr.utils import random_id

from harness.cluster.topology import NodeSpec

# a group's state while the cluster is in a state, and its instances' (EMR's words)
GROUP_STATE = {"STARTING": "PROVISIONING", "BOOTSTRAPPING": "BOOTSTRAPPING",
               "RUNNING": "RUNNING", "WAITING": "RUNNING", "TERMINATING": "TERMINATING",
               "TERMINATED": "TERMINATED", "TERMINATED_WITH_ERRORS": "TERMINATED"}
INSTANCE_STATE = {"STARTING": "PROVISIONING", "BOOTSTRAPPING": "BOOTSTRAPPING",
                  "RUNNING": "RUNNING", "WAITING": "RUNNING", "TERMINATING": "RUNNING",
                  "TERMINATED": "TERMINATED", "TERMINATED_WITH_ERRORS": "TERMINATED"}


class RehearsalInstanceGroup(InstanceGroup):
    """moto's instance group with EMR's id and states; its instances are its own."""

    def __init__(self, cluster_id: str, **kwargs: Any) -> None:
        kwargs["instance_group_id"] = kwargs.get("instance_group_id") or f"ig-{random_id()}"
        super().__init__(cluster_id=cluster_id, **kwargs)
        self.state = "PROVISIONING"
        self.ready_date_time = None  # type: ignore[assignment]
        self.state_change_reason = ""
        self.instances: list[RehearsalInstance] = []

    @property
    def running_instance_count(self) -> int:
        return sum(1 for i in self.instances if i.state == "RUNNING")

    @property
    def instance_running_count(self) -> int:
        return self.running_instance_count

    @property
    def status(self) -> dict[str, Any]:
        data = super().status
        data["StateChangeReason"] = {"Message": self.state_change_reason or ""}
        return data

    held = False  # a resize owns the group's state meanwhile (harness.emr.capacity)

    def follow(self, cluster_state: str) -> None:
        """The group's and its instances' states while the cluster is in cluster_state."""
        if cluster_state not in GROUP_STATE:
            return
        state = GROUP_STATE[cluster_state]
        if self.held and state not in {"TERMINATING", "TERMINATED"}:
            pass  # a resize owns the group's state; its instances still follow theirs
        elif not _advance(self, state):
            return
        for instance in self.instances:
            instance.follow(INSTANCE_STATE[cluster_state])


class RehearsalInstance(Instance):
    """One EMR instance (ci-...) on its moto EC2 instance (i-...), with the local node that
    rehearses it (`node`: a local node's name, None until the nodes are up)."""

    def __init__(self, ec2_instance: Any, instance_group: RehearsalInstanceGroup) -> None:
        super().__init__(ec2_instance, instance_group, instance_id=f"ci-{random_id()}")
        self.state = "PROVISIONING"
        self.node: str | None = None
        self.state_change_reason = ""
        self.creation_date_time = utcnow()
        self.ready_date_time: Any = None
        self.end_date_time: Any = None

    state_change_code: str | None = None  # e.g. INSTANCE_FAILURE for a reclaimed spot instance

    @property
    def status(self) -> dict[str, Any]:
        reason: dict[str, Any] = {"Message": self.state_change_reason}
        if self.state_change_code:
            reason["Code"] = self.state_change_code
        return {"State": self.state,
                "StateChangeReason": reason,
                "Timeline": {"CreationDateTime": self.creation_date_time,
                             "ReadyDateTime": self.ready_date_time,
                             "EndDateTime": self.end_date_time}}

    held = False  # a resize or a reclaim owns the instance's state meanwhile (capacity.py)

    def follow(self, state: str) -> None:
        if self.held and state != "TERMINATED":
            return
        _advance(self, state)


def _advance(record: Any, state: str) -> bool:
    """A group's or an instance's new state, with its ready and end times; False once it
    is TERMINATED (it stays so)."""
    if record.state == "TERMINATED":
        return False
    record.state = state
    if state == "RUNNING" and record.ready_date_time is None:
        record.ready_date_time = utcnow()
    if state == "TERMINATED":
        record.end_date_time = utcnow()
    return True


def launch(backend: Any, group: RehearsalInstanceGroup) -> list[RehearsalInstance]:
    """The group's instances, on EC2 instances of moto's EC2 backend (as moto launches)."""
    from moto.emr.models import EXAMPLE_AMI_ID

    if group.num_instances <= 0:
        return []
    reservation = backend.ec2_backend.run_instances(
        EXAMPLE_AMI_ID, group.num_instances, None, [], instance_type=group.instance_type,
        is_instance_type_default=False)
    added = [RehearsalInstance(ec2, group) for ec2 in reservation.instances]
    for instance in added:  # spot capacity arrives after a modelled wait (capacity.py)
        if group.market == "SPOT":
            instance.state = "AWAITING_FULFILLMENT"
    group.instances.extend(added)
    return added


def attach(groups: list[RehearsalInstanceGroup], nodes: list[NodeSpec]) -> dict[str, list[str]]:
    """Tell each instance which local node rehearses it; returns node name -> the EC2
    instance ids it stands for (the node log folders under LogUri use these)."""
    by_node: dict[str, list[str]] = {}
    for node in nodes:
        group = next((g for g in groups if g.id == node.group_id), None)
        if group is None:
            continue
        if node.daemon == "master":
            mine = group.instances  # 1, or the 3 of a high-availability cluster
        elif node.on_node != node.name:  # single node: the worker beside the master
            continue
        else:
            mine = group.instances[node.first_instance:node.first_instance
                                   + node.instance_count]
        ids = [i.ec2_instance_id for i in mine]
        by_node[node.name] = ids
        for n, instance in enumerate(mine):
            instance.node = node.name
            instance.state_change_reason = _rehearsed_by(node, n, ids, nodes)
    return by_node


def _rehearsed_by(node: NodeSpec, index: int, ids: list[str], nodes: list[NodeSpec]) -> str:
    if node.daemon == "master":
        if index > 0:
            return (f"EMR high availability: standing by; the active master is rehearsed by "
                    f"the local Spark master {node.name}")
        beside = [n.name for n in nodes if n.on_node == node.name and n.name != node.name]
        extra = f", with executors on {beside[0]} beside it" if beside else ""
        return f"Rehearsed by the local Spark master {node.name}{extra}"
    if len(ids) > 1:
        return (f"Rehearsed by local worker {node.name}, which stands for {len(ids)} "
                f"instances ({', '.join(ids)})")
    return f"Rehearsed by local worker {node.name}"
