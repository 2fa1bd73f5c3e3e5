"""EMR instance fleets in the rehearsal: the InstanceFleet record (what ListInstanceFleets
answers), EMR's rules for fleet requests, and the instances each fleet gets, chosen by
harness.allocation's rule from its targets and turned into group-like specs for the
topology (one per fleet, instance type and market, carrying the fleet's id).

A cluster uses instance fleets or instance groups, never both (its
InstanceCollectionType); the calls of the other kind answer EMR's
API_DOES_NOT_SUPPORT_INSTANCE_FLEET_CLUSTERS error (ListInstanceGroups' message, as EMR
returns it, with the operation's name in it).
"""

from __future__ import annotations

import random
import string
from typing import Any

from moto.core.utils import utcnow

from harness.allocation import Chosen, Selection, on_demand_fallback, select
from harness.emr.exceptions import InvalidRequestException, ValidationException
from harness.emr.instances import GROUP_STATE, INSTANCE_STATE, RehearsalInstance

INSTEAD = {"ListInstanceGroups": "ListInstanceFleets", "AddInstanceGroups": "AddInstanceFleet",
           "ModifyInstanceGroups": "ModifyInstanceFleet"}
INSTEAD.update({v: k for k, v in INSTEAD.items()})


class FleetClusterError(InvalidRequestException):
    """An instance-group call on a fleet cluster (or the reverse), answered as EMR does."""

    def __init__(self, operation: str, fleets: bool = True) -> None:
        uses = "instance fleets" if fleets else "instance groups"
        super().__init__(
            "Instance fleets and instance groups are mutually exclusive. The EMR cluster "
            f"specified in the request uses {uses}. The {operation} operation does not "
            f"support clusters that use {uses}. Use the {INSTEAD[operation]} operation "
            "instead.")
        self.error_code = ("API_DOES_NOT_SUPPORT_INSTANCE_FLEET_CLUSTERS" if fleets
                           else "API_DOES_NOT_SUPPORT_INSTANCE_GROUP_CLUSTERS")


def _fleet_id() -> str:
    return "if-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=13))


class InstanceFleet:
    """EMR's InstanceFleet record; moto serialises it from these snake_case attributes."""

    def __init__(self, cluster_id: str, spec: dict[str, Any], region: str) -> None:
        self.id = _fleet_id()
        self.cluster_id = cluster_id
        self.spec = spec
        self.region = region
        self.name = spec.get("Name") or f"{str(spec['InstanceFleetType']).title()} fleet"
        self.instance_fleet_type = spec["InstanceFleetType"]
        self.target_on_demand_capacity = int(spec.get("TargetOnDemandCapacity") or 0)
        self.target_spot_capacity = int(spec.get("TargetSpotCapacity") or 0)
        self.instances: list[FleetInstance] = []
        self.held = False  # a resize owns the fleet's state meanwhile (capacity.py)
        self.launch_specifications = spec.get("LaunchSpecifications")
        self.resize_specifications = spec.get("ResizeSpecifications")
        self.context = spec.get("Context")
        self.state = "PROVISIONING"
        self.state_change_code: str | None = None
        self.state_change_reason = ""
        self.creation_date_time = utcnow()
        self.ready_date_time = None
        self.end_date_time = None
        self.selection: Selection = select(spec, region)

    # -- what the API shows ----------------------------------------------------------------

    @property
    def provisioned_on_demand_capacity(self) -> int:
        return sum(i.weight for i in self.instances
                   if i.state == "RUNNING" and i.market == "ON_DEMAND")

    @property
    def provisioned_spot_capacity(self) -> int:
        return sum(i.weight for i in self.instances if i.state == "RUNNING" and i.market == "SPOT")

    @property
    def instance_type_specifications(self) -> list[dict[str, Any]]:
        specs = []
        for config in self.spec.get("InstanceTypeConfigs") or []:
            item = {"InstanceType": config["InstanceType"],
                    "WeightedCapacity": int(config.get("WeightedCapacity") or 1)}
            for key in ("BidPrice", "BidPriceAsPercentageOfOnDemandPrice", "Priority",
                        "Configurations", "CustomAmiId"):
                if config.get(key) is not None:
                    item[key] = config[key]
            if "BidPrice" not in item and "BidPriceAsPercentageOfOnDemandPrice" not in item:
                item["BidPriceAsPercentageOfOnDemandPrice"] = 100.0
            specs.append(item)
        return specs

    @property
    def status(self) -> dict[str, Any]:
        reason: dict[str, Any] = {"Message": self.state_change_reason}
        if self.state_change_code:
            reason["Code"] = self.state_change_code
        return {"State": self.state, "StateChangeReason": reason,
                "Timeline": {"CreationDateTime": self.creation_date_time,
                             "ReadyDateTime": self.ready_date_time,
                             "EndDateTime": self.end_date_time}}

    # -- what the rehearsal uses -----------------------------------------------------------

    @property
    def role(self) -> str:
        return str(self.instance_fleet_type)

    @property
    def spot_timeout_s(self) -> float | None:
        """SpotSpecification.TimeoutDurationMinutes in seconds (None: not given)."""
        spec = (self.launch_specifications or {}).get("SpotSpecification") or {}
        minutes = spec.get("TimeoutDurationMinutes")
        return None if minutes is None else float(minutes) * 60

    @property
    def spot_timeout_action(self) -> str:
        spec = (self.launch_specifications or {}).get("SpotSpecification") or {}
        return str(spec.get("TimeoutAction") or "TERMINATE_CLUSTER")

    def chosen(self) -> list[Chosen]:
        """The instances the fleet gets; spot units no bid covers come on-demand only when
        the fleet's TimeoutAction is SWITCH_TO_ON_DEMAND."""
        chosen = list(self.selection.chosen)
        if self.selection.unfulfilled_spot and self.spot_timeout_action == "SWITCH_TO_ON_DEMAND":
            chosen += on_demand_fallback(self.spec, self.selection.unfulfilled_spot, self.region)
        return chosen

    def group_specs(self) -> list[dict[str, Any]]:
        """Group-like specs for build_topology: one per instance type and market."""
        return [{"Name": self.name, "InstanceRole": self.role, "InstanceType": c.instance_type,
                 "InstanceCount": c.count, "Market": c.market, "Id": self.id}
                for c in self.chosen()]

    def launch(self, backend: Any, chosen: list[Chosen] | None = None) -> list[FleetInstance]:
        """Instance records (on moto EC2 instances) for the chosen instances, or for all the
        fleet gets."""
        from moto.emr.models import EXAMPLE_AMI_ID

        added = []
        for c in self.chosen() if chosen is None else chosen:
            if c.count <= 0:
                continue
            reservation = backend.ec2_backend.run_instances(
                EXAMPLE_AMI_ID, c.count, None, [], instance_type=c.instance_type,
                is_instance_type_default=False)
            added += [FleetInstance(ec2, self, c.instance_type, c.market, c.weight)
                      for ec2 in reservation.instances]
        self.instances.extend(added)
        return added

    def follow(self, cluster_state: str) -> None:
        """The fleet's and its instances' states while the cluster is in cluster_state."""
        state = GROUP_STATE.get(cluster_state)
        if state is None or self.state == "TERMINATED":
            return
        for instance in self.instances:
            instance.follow(INSTANCE_STATE[cluster_state])
        if self.held and state not in {"TERMINATING", "TERMINATED"}:
            return
        self.set_state(state, None, self.state_change_reason if state == self.state else "")

    def resize(self, on_demand: int | None, spot: int | None,
               configs: list[dict[str, Any]] | None = None,
               resize_specifications: dict[str, Any] | None = None) -> None:
        """ModifyInstanceFleet: new targets (and instance types), the instances chosen for
        them by the same rule."""
        if configs:
            self.spec = {**self.spec, "InstanceTypeConfigs": configs}
        if resize_specifications is not None:
            self.resize_specifications = resize_specifications
        if on_demand is not None:
            self.target_on_demand_capacity = on_demand
        if spot is not None:
            self.target_spot_capacity = spot
        self.selection = select(self.spec, self.region, on_demand=self.target_on_demand_capacity,
                                spot=self.target_spot_capacity)
        self.held = True
        self.set_state("RESIZING", None, "Resizing to the new target capacity")

    def set_state(self, state: str, code: str | None, message: str) -> None:
        self.state, self.state_change_code, self.state_change_reason = state, code, message
        if state == "RUNNING" and self.ready_date_time is None:
            self.ready_date_time = utcnow()
        if state == "TERMINATED":
            self.end_date_time = utcnow()


class FleetInstance(RehearsalInstance):
    """One instance of a fleet: its type and market are its own (a fleet mixes them), and
    it belongs to no instance group."""

    def __init__(self, ec2_instance: Any, fleet: InstanceFleet, instance_type_name: str,
                 market: str, weight: int) -> None:
        super().__init__(ec2_instance, fleet)  # type: ignore[arg-type]
        self.instance_fleet_id = fleet.id
        self.weight = weight
        self._type, self._market = instance_type_name, market
        if market == "SPOT":
            self.state = "AWAITING_FULFILLMENT"

    @property
    def instance_group_id(self) -> str | None:  # type: ignore[override]
        return None

    @property
    def market(self) -> str:  # type: ignore[override]
        return self._market

    @property
    def instance_type(self) -> str:  # type: ignore[override]
        return self._type


def attach_fleets(fleets: list[InstanceFleet], nodes: list[Any]) -> dict[str, list[str]]:
    """Tell each fleet instance which local node rehearses it (as instances.attach does for
    groups: a node stands for `instance_count` instances of its fleet's type and market,
    from the `first_instance`-th); returns node name -> the EC2 instance ids."""
    by_node: dict[str, list[str]] = {}
    for node in nodes:
        fleet = next((f for f in fleets if f.id == node.group_id), None)
        if fleet is None:
            continue
        if node.daemon == "master":
            mine = list(fleet.instances)
        elif node.on_node != node.name:
            continue
        else:
            alike = [i for i in fleet.instances if i.instance_type == node.instance_type
                     and i.market == node.market]
            mine = alike[node.first_instance:node.first_instance + node.instance_count]
        by_node[node.name] = [i.ec2_instance_id for i in mine]
        for instance in mine:
            instance.node = node.name
            instance.state_change_reason = f"Rehearsed by local node {node.name}"
    return by_node


# -- EMR's rules for fleet requests ---------------------------------------------------------

def check_fleets(fleets: list[dict[str, Any]], known_types: set[str]) -> None:
    """EMR's rules for InstanceFleets in RunJobFlow, beyond the request's shape."""
    kinds = [f.get("InstanceFleetType") for f in fleets]
    if kinds.count("MASTER") != 1:
        raise ValidationException("Exactly one MASTER instance fleet is required")
    for kind in ("CORE", "TASK"):
        if kinds.count(kind) > 1:
            raise ValidationException(f"Only one {kind} instance fleet is allowed")
    for fleet in fleets:
        check_fleet(fleet, known_types)


def check_fleet(fleet: dict[str, Any], known_types: set[str]) -> None:
    kind = fleet.get("InstanceFleetType")
    on_demand = int(fleet.get("TargetOnDemandCapacity") or 0)
    spot = int(fleet.get("TargetSpotCapacity") or 0)
    configs = fleet.get("InstanceTypeConfigs") or []
    if not configs:
        raise ValidationException(f"The {kind} instance fleet needs at least one "
                                  "InstanceTypeConfig")
    if kind == "MASTER":
        if sorted((on_demand, spot)) != [0, 1]:
            raise ValidationException("The master instance fleet must have exactly one of "
                                      "TargetOnDemandCapacity or TargetSpotCapacity set to 1")
        if any(int(c.get("WeightedCapacity") or 1) != 1 for c in configs):
            raise ValidationException("WeightedCapacity of the master instance fleet's "
                                      "instance types must be 1")
    elif kind == "CORE" and on_demand + spot < 1:
        raise ValidationException("The core instance fleet needs a target capacity of at "
                                  "least 1")
    limit = 5 if kind == "MASTER" else 30
    if len(configs) > limit:
        raise ValidationException(f"The {kind} instance fleet has {len(configs)} instance "
                                  f"types; at most {limit} are allowed")
    for config in configs:
        itype = config.get("InstanceType")
        if itype not in known_types:
            raise ValidationException(f"Instance type '{itype}' is not supported")
        if config.get("BidPrice") is not None and \
                config.get("BidPriceAsPercentageOfOnDemandPrice") is not None:
            raise ValidationException(f"Specify either BidPrice or "
                                      f"BidPriceAsPercentageOfOnDemandPrice for {itype}, "
                                      "not both")
        if config.get("BidPrice") is not None:
            from harness.emr.validation import check_bid_price

            check_bid_price(config["BidPrice"])
    spot_spec = (fleet.get("LaunchSpecifications") or {}).get("SpotSpecification") or {}
    minutes = spot_spec.get("TimeoutDurationMinutes")
    if minutes is not None and not 5 <= int(minutes) <= 1440:
        raise ValidationException("TimeoutDurationMinutes must be between 5 and 1440")


def fleet_group_specs(fleets: list[dict[str, Any]], region: str) -> list[dict[str, Any]]:
    """A RunJobFlow request's fleets as group-like specs (what check_job_flow sizes)."""
    specs = []
    for spec in fleets:
        specs += InstanceFleet("pending", spec, region).group_specs()
    return specs
