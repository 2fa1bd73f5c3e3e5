"""The fleet allocation rule (harness.allocation): which instances an EMR instance fleet
gets for its targets, worked out by hand from the catalog's prices and spot model
(us-east-1: m5.xlarge 0.192 + 0.048 EMR, r5.xlarge 0.252 + 0.063, c5.2xlarge 0.34 + 0.085
per hour; spot discounts m5/c5 60%, r5 65%; interruption rates m5/c5 7.5%, r5 2.5%)."""

from __future__ import annotations

import pytest

from harness.allocation import Chosen, group_specs, pools, select
from harness.cost import estimate, instance_groups


def fleet(strategy=None, on_demand=0, spot=0, configs=None, kind="TASK", timeout=None):
    spec = {"InstanceFleetType": kind, "TargetOnDemandCapacity": on_demand,
            "TargetSpotCapacity": spot,
            "InstanceTypeConfigs": configs or [
                {"InstanceType": "m5.xlarge"},
                {"InstanceType": "r5.xlarge"},
                {"InstanceType": "c5.2xlarge", "WeightedCapacity": 2}]}
    spot_spec = {}
    if strategy:
        spot_spec["AllocationStrategy"] = strategy
    if timeout:
        spot_spec.update({"TimeoutDurationMinutes": 10, "TimeoutAction": timeout})
    if spot_spec:
        spec["LaunchSpecifications"] = {"SpotSpecification": spot_spec}
    return spec


def test_pools_are_priced_per_unit_of_weighted_capacity():
    by_type = {p.instance_type: p for p in pools(fleet())}
    assert by_type["m5.xlarge"].per_unit("ON_DEMAND") == pytest.approx(0.24)
    assert by_type["c5.2xlarge"].per_unit("ON_DEMAND") == pytest.approx(0.425 / 2)
    assert by_type["r5.xlarge"].per_unit("SPOT") == pytest.approx(0.252 * 0.35 + 0.063)


def test_on_demand_comes_from_the_cheapest_pool_per_unit_and_may_overshoot():
    # c5.2xlarge: 0.2125 a unit < m5.xlarge 0.24 < r5.xlarge 0.315; 3 units -> 2 instances
    chosen = select(fleet(on_demand=3)).chosen
    assert chosen == (Chosen("c5.2xlarge", "ON_DEMAND", 2, 2),)


@pytest.mark.parametrize("strategy, expected", [
    # spot per unit: c5.2xlarge 0.1105, m5.xlarge 0.1248, r5.xlarge 0.1512
    ("lowest-price", (Chosen("c5.2xlarge", "SPOT", 2, 2),)),
    # r5 has the lowest interruption rate (2.5%), whatever its price
    ("capacity-optimized", (Chosen("r5.xlarge", "SPOT", 4, 1),)),
    (None, (Chosen("r5.xlarge", "SPOT", 4, 1),)),  # EMR's default strategy
    # r5 alone is in the lowest Spot Advisor band (<5%), so the cheapest of that band
    ("price-capacity-optimized", (Chosen("r5.xlarge", "SPOT", 4, 1),)),
    # one instance from each pool in turn until 4 units: m5 (1), r5 (2), c5 (4)
    ("diversified", (Chosen("m5.xlarge", "SPOT", 1, 1), Chosen("r5.xlarge", "SPOT", 1, 1),
                     Chosen("c5.2xlarge", "SPOT", 1, 2))),
])
def test_spot_allocation_strategies(strategy, expected):
    assert select(fleet(strategy, spot=4)).chosen == expected


def test_price_capacity_optimized_takes_the_cheapest_of_the_best_band():
    configs = [{"InstanceType": "m5.xlarge"}, {"InstanceType": "c5.2xlarge",
                                                 "WeightedCapacity": 2}]
    # both in the 5-10% band: the cheaper per unit wins (c5.2xlarge)
    assert select(fleet("price-capacity-optimized", spot=2, configs=configs)).chosen == (
        Chosen("c5.2xlarge", "SPOT", 1, 2),)


def test_a_bid_below_the_modelled_spot_price_leaves_the_pool_out():
    configs = [{"InstanceType": "r5.xlarge", "BidPriceAsPercentageOfOnDemandPrice": 30},
               {"InstanceType": "m5.xlarge", "BidPrice": "0.08"}]
    # r5 spot is 35% of on-demand, above a 30% bid; m5 spot is 0.0768 <= 0.08
    assert select(fleet("capacity-optimized", spot=1, configs=configs)).chosen == (
        Chosen("m5.xlarge", "SPOT", 1, 1),)


def test_no_pool_bidding_enough_leaves_the_spot_target_unfulfilled():
    configs = [{"InstanceType": "m5.xlarge", "BidPrice": "0.01"}]
    selection = select(fleet(spot=2, configs=configs))
    assert selection.chosen == () and selection.unfulfilled_spot == 2
    # SWITCH_TO_ON_DEMAND: the cost and the topology take the units on demand
    switched = group_specs([fleet(spot=2, configs=configs, timeout="SWITCH_TO_ON_DEMAND")])
    assert [(g["InstanceType"], g["InstanceCount"], g["Market"]) for g in switched] == [
        ("m5.xlarge", 2, "ON_DEMAND")]


def test_the_master_fleet_gets_one_instance():
    master = fleet(on_demand=1, kind="MASTER",
                   configs=[{"InstanceType": "r5.xlarge"}, {"InstanceType": "m5.xlarge"}])
    assert select(master).chosen == (Chosen("m5.xlarge", "ON_DEMAND", 1, 1),)


def test_harness_cost_prices_a_fleet_request_as_its_chosen_instances():
    request = {"Instances": {"InstanceFleets": [
        fleet(on_demand=1, kind="MASTER", configs=[{"InstanceType": "m5.xlarge"}]),
        fleet(on_demand=3, kind="CORE"),
        fleet("capacity-optimized", spot=4)]}}
    priced = estimate(instance_groups(request), 3600, "us-east-1")
    rows = [(g.role, g.instance_type, g.count, g.market) for g in priced.groups]
    assert rows == [("MASTER", "m5.xlarge", 1, "ON_DEMAND"),
                    ("CORE", "c5.2xlarge", 2, "ON_DEMAND"),
                    ("TASK", "r5.xlarge", 4, "SPOT")]
    assert priced.on_demand_total == pytest.approx(0.24 + 2 * 0.425 + 4 * 0.315, abs=1e-3)
