"""Which instances an EMR instance fleet gets (a foundation: the EMR emulation and the cost
estimate both use it): EMR's allocation strategies approximated
deterministically from the catalog's prices and spot model, so the same request always
rehearses (and is priced as) the same instances.

The rule, per fleet (README "Instance fleets"):
- every InstanceTypeConfig is a pool with a WeightedCapacity (default 1); its price per
  unit is its hourly price (EC2 + EMR) divided by the weight;
- on-demand capacity (OnDemandSpecification `lowest-price`, EMR's only strategy; or
  `prioritized`, by each config's Priority) comes from the cheapest pool per unit: as many
  instances as reach TargetOnDemandCapacity, the last one may overshoot it, as on EMR;
- spot capacity comes from the pools whose bid (BidPrice, or
  BidPriceAsPercentageOfOnDemandPrice, default 100% of on-demand) covers the modelled
  spot price (on-demand EC2 x (1 - the family's discount)): `lowest-price` the cheapest
  per unit; `capacity-optimized` the pool with the lowest interruption rate (the spot
  model's stand-in for spare capacity), then the cheapest; `price-capacity-optimized` the
  cheapest among the pools in the lowest Spot Advisor interruption band (<5%, 5-10%, ...);
  `diversified` one instance from each pool in turn, in the request's order;
- a pool the catalog has no price for ranks after every priced pool, in request order;
- no pool bids high enough: the spot target is unfulfilled, and the fleet's
  SpotSpecification TimeoutAction decides (SWITCH_TO_ON_DEMAND: the capacity comes
  on-demand, TERMINATE_CLUSTER: the cluster ends) after TimeoutDurationMinutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.pricing import hourly_price, spot_terms

DEFAULT_SPOT_STRATEGY = "capacity-optimized"  # EMR's default when none is given
ADVISOR_BAND = 0.05  # Spot Advisor's interruption-frequency bands are 5 points wide


@dataclass(frozen=True)
class Pool:
    """One InstanceTypeConfig of a fleet, priced."""

    index: int  # position in the request (tie-breaker)
    instance_type: str
    weight: int
    on_demand_hourly: float | None  # EC2 + EMR per hour; None: not in the price catalog
    spot_hourly: float | None  # modelled EC2 spot + EMR per hour
    interruption_rate: float
    bid_hourly: float | None  # the most the request pays per hour for EC2 spot
    ec2_spot_hourly: float | None
    priority: float | None = None

    @property
    def bids_enough(self) -> bool:
        if self.bid_hourly is None or self.ec2_spot_hourly is None:
            return True  # no price known: assume the bid (default: on-demand) covers it
        return self.bid_hourly >= self.ec2_spot_hourly

    def per_unit(self, market: str) -> float:
        price = self.on_demand_hourly if market == "ON_DEMAND" else self.spot_hourly
        return math.inf if price is None else price / self.weight


@dataclass(frozen=True)
class Chosen:
    """Instances of one type and market that a fleet gets."""

    instance_type: str
    market: str
    count: int
    weight: int

    @property
    def capacity(self) -> int:
        return self.count * self.weight


@dataclass(frozen=True)
class Selection:
    """What a fleet's targets resolve to: the instances, and what could not be had."""

    chosen: tuple[Chosen, ...]
    unfulfilled_spot: int  # spot units no pool bids high enough for
    notes: tuple[str, ...]

    def capacity(self, market: str) -> int:
        return sum(c.capacity for c in self.chosen if c.market == market)


def pools(fleet: dict[str, Any], region: str = "us-east-1",
          spot_model: Path | None = None) -> list[Pool]:
    """The fleet's InstanceTypeConfigs as priced pools."""
    found = []
    for i, config in enumerate(fleet.get("InstanceTypeConfigs") or []):
        name = str(config.get("InstanceType"))
        weight = int(config.get("WeightedCapacity") or 1)
        terms = spot_terms(name, spot_model)
        try:
            price = hourly_price(name, region)
        except UsageError:
            od = spot = bid = ec2_spot = None
        else:
            od = price.ec2_on_demand + price.emr
            ec2_spot = price.ec2_on_demand * (1 - terms.discount)
            spot = ec2_spot + price.emr
            if config.get("BidPrice") is not None:
                bid = float(config["BidPrice"])
            else:
                pct = config.get("BidPriceAsPercentageOfOnDemandPrice")
                bid = price.ec2_on_demand * (100.0 if pct is None else float(pct)) / 100
        priority = config.get("Priority")
        found.append(Pool(i, name, weight, od, spot, terms.interruption_rate, bid, ec2_spot,
                          None if priority is None else float(priority)))
    return found


def _units(target: int, weight: int) -> int:
    return math.ceil(target / weight) if target > 0 else 0


def _fill(target: int, pool: Pool, market: str) -> list[Chosen]:
    count = _units(target, pool.weight)
    return [Chosen(pool.instance_type, market, count, pool.weight)] if count else []


def _rank_on_demand(candidates: list[Pool], strategy: str) -> list[Pool]:
    if strategy == "prioritized":
        return sorted(candidates, key=lambda p: (p.priority if p.priority is not None
                                                 else math.inf, p.index))
    return sorted(candidates, key=lambda p: (p.per_unit("ON_DEMAND"), p.index))


def _rank_spot(candidates: list[Pool], strategy: str) -> list[Pool]:
    def price(p: Pool) -> float:
        return p.per_unit("SPOT")

    if strategy == "lowest-price":
        return sorted(candidates, key=lambda p: (price(p), p.index))
    if strategy == "price-capacity-optimized":
        return sorted(candidates, key=lambda p: (math.floor(p.interruption_rate / ADVISOR_BAND),
                                                 price(p), p.index))
    if strategy == "capacity-optimized-prioritized":
        return sorted(candidates, key=lambda p: (p.interruption_rate,
                                                 p.priority if p.priority is not None
                                                 else math.inf, p.index))
    return sorted(candidates, key=lambda p: (p.interruption_rate, price(p), p.index))


def _diversified(target: int, candidates: list[Pool]) -> list[Chosen]:
    counts: dict[int, int] = {}
    got, i = 0, 0
    while got < target:
        pool = candidates[i % len(candidates)]
        counts[pool.index] = counts.get(pool.index, 0) + 1
        got += pool.weight
        i += 1
    return [Chosen(p.instance_type, "SPOT", counts[p.index], p.weight)
            for p in candidates if p.index in counts]


def spot_strategy(fleet: dict[str, Any]) -> str:
    spec = (fleet.get("LaunchSpecifications") or {}).get("SpotSpecification") or {}
    return str(spec.get("AllocationStrategy") or DEFAULT_SPOT_STRATEGY)


def on_demand_strategy(fleet: dict[str, Any]) -> str:
    spec = (fleet.get("LaunchSpecifications") or {}).get("OnDemandSpecification") or {}
    return str(spec.get("AllocationStrategy") or "lowest-price")


def select(fleet: dict[str, Any], region: str = "us-east-1", spot_model: Path | None = None,
           on_demand: int | None = None, spot: int | None = None) -> Selection:
    """The instances a fleet gets for its targets (or the given ones, for a resize)."""
    candidates = pools(fleet, region, spot_model)
    if not candidates:
        raise UsageError(f"instance fleet {fleet.get('Name') or fleet.get('InstanceFleetType')}"
                         " has no InstanceTypeConfigs", "give at least one instance type")
    od_target = int(fleet.get("TargetOnDemandCapacity") or 0) if on_demand is None \
        else on_demand
    spot_target = int(fleet.get("TargetSpotCapacity") or 0) if spot is None else spot
    if fleet.get("InstanceFleetType") == "MASTER":  # one master instance, whatever its weight
        od_target, spot_target = min(od_target, 1), min(spot_target, 1)
    chosen: list[Chosen] = []
    notes: list[str] = []
    if od_target:
        best = _rank_on_demand(candidates, on_demand_strategy(fleet))[0]
        chosen += _fill(od_target, best, "ON_DEMAND")
        notes.append(f"on-demand {od_target} unit(s): {best.instance_type} "
                     f"({on_demand_strategy(fleet)})")
    unfulfilled = 0
    if spot_target:
        strategy = spot_strategy(fleet)
        bidding = [p for p in candidates if p.bids_enough]
        if not bidding:
            unfulfilled = spot_target
            notes.append(f"spot {spot_target} unit(s): no instance type's bid covers the "
                         "modelled spot price")
        elif strategy == "diversified":
            chosen += _diversified(spot_target, bidding)
            notes.append(f"spot {spot_target} unit(s): diversified over "
                         f"{', '.join(p.instance_type for p in bidding)}")
        else:
            best = _rank_spot(bidding, strategy)[0]
            chosen += _fill(spot_target, best, "SPOT")
            notes.append(f"spot {spot_target} unit(s): {best.instance_type} ({strategy})")
    if fleet.get("InstanceFleetType") == "MASTER":
        chosen = [Chosen(c.instance_type, c.market, 1, c.weight) for c in chosen][:1]
    return Selection(tuple(chosen), unfulfilled, tuple(notes))


def on_demand_fallback(fleet: dict[str, Any], units: int, region: str = "us-east-1",
                       spot_model: Path | None = None) -> list[Chosen]:
    """SWITCH_TO_ON_DEMAND: the unfulfilled spot units, on-demand from the cheapest pool."""
    best = _rank_on_demand(pools(fleet, region, spot_model), "lowest-price")[0]
    return _fill(units, best, "ON_DEMAND")


def group_specs(fleets: list[dict[str, Any]], region: str = "us-east-1",
                spot_model: Path | None = None) -> list[dict[str, Any]]:
    """Instance-group-like specs (Name, InstanceRole, InstanceType, InstanceCount, Market)
    for the instances the fleets get: what the topology and the cost estimate take. Spot
    units no bid covers are given on-demand (a fleet's SWITCH_TO_ON_DEMAND; with
    TERMINATE_CLUSTER the cluster never runs, and costs what it does until then)."""
    specs = []
    for fleet in fleets:
        selection = select(fleet, region, spot_model)
        chosen = list(selection.chosen)
        if selection.unfulfilled_spot:
            chosen += on_demand_fallback(fleet, selection.unfulfilled_spot, region, spot_model)
        role = str(fleet.get("InstanceFleetType"))
        for c in chosen:
            specs.append({"Name": fleet.get("Name") or f"{role.title()} fleet",
                          "InstanceRole": role, "InstanceType": c.instance_type,
                          "InstanceCount": c.count, "Market": c.market})
    return specs
