"""What a job flow costs: per instance group and in total, on-demand against spot, with
EMR's per-second billing and its one-minute minimum (EC2 Linux bills the same way)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.cost.pricing import billing, hourly_price, spot_terms
from harness.errors import UsageError


def billed_seconds(seconds: float) -> int:
    """Per-second billing, rounded up, with the one-minute minimum."""
    if seconds < 0:
        raise UsageError(f"a duration cannot be negative ({seconds})", "pass hours >= 0")
    rule = billing()
    return max(rule["minimum_s"], math.ceil(seconds / rule["granularity_s"])
               * rule["granularity_s"])


@dataclass
class GroupCost:
    name: str
    role: str
    instance_type: str
    count: int
    market: str
    billed_seconds: int
    ec2_hourly: float
    emr_hourly: float
    on_demand: float
    spot: float
    spot_discount: float
    interruption_rate: float

    @property
    def as_declared(self) -> float:
        return self.spot if self.market == "SPOT" else self.on_demand


@dataclass
class Estimate:
    region: str
    seconds: float
    groups: list[GroupCost]

    @property
    def on_demand_total(self) -> float:
        return round(sum(g.on_demand for g in self.groups), 4)

    @property
    def spot_total(self) -> float:
        """The job flow as written: its SPOT groups at spot prices, the rest on demand."""
        return round(sum(g.as_declared for g in self.groups), 4)

    @property
    def all_spot_total(self) -> float:
        return round(sum(g.spot for g in self.groups), 4)

    def to_json(self) -> dict[str, Any]:
        return {"region": self.region, "seconds": self.seconds,
                "on_demand_total": self.on_demand_total, "spot_total": self.spot_total,
                "all_spot_total": self.all_spot_total, "currency": "USD",
                "groups": [{**asdict(g), "as_declared": round(g.as_declared, 4)}
                           for g in self.groups]}


def instance_groups(request: dict[str, Any], region: str = "us-east-1",
                    spot_model: Path | None = None) -> list[dict[str, Any]]:
    """The InstanceGroups of a run_job_flow request (or a bare list of groups); for
    InstanceFleets, the instances the fleets get (harness.allocation's rule)."""
    if isinstance(request, list):
        return request
    fleets = request.get("Instances", {}).get("InstanceFleets") or request.get("InstanceFleets")
    if fleets:
        from harness.allocation import group_specs

        return group_specs(fleets, region, spot_model)
    groups = request.get("Instances", {}).get("InstanceGroups") or request.get("InstanceGroups")
    if not groups:
        raise UsageError("the job flow has no Instances.InstanceGroups or InstanceFleets",
                         "cost is computed from the instance groups or fleets")
    return groups


def estimate(groups: list[dict[str, Any]], seconds: float, region: str,
             spot_model: Path | None = None) -> Estimate:
    """Cost of running the groups for `seconds` (every instance billed for the duration)."""
    billed = billed_seconds(seconds)
    hours = billed / 3600
    costs = []
    for group in groups:
        itype, count = group["InstanceType"], int(group["InstanceCount"])
        price = hourly_price(itype, region)
        terms = spot_terms(itype, spot_model)
        ec2_spot = price.ec2_on_demand * (1 - terms.discount)
        costs.append(GroupCost(
            name=group.get("Name") or group["InstanceRole"].title(),
            role=group["InstanceRole"], instance_type=itype, count=count,
            market=group.get("Market", "ON_DEMAND"), billed_seconds=billed,
            ec2_hourly=price.ec2_on_demand, emr_hourly=price.emr,
            on_demand=round(count * hours * (price.ec2_on_demand + price.emr), 4),
            spot=round(count * hours * (ec2_spot + price.emr), 4),
            spot_discount=terms.discount, interruption_rate=terms.interruption_rate,
        ))
    return Estimate(region, seconds, costs)
