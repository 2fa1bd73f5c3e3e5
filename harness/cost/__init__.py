"""Instances, spot and cost: price a job flow from what the rehearsal measured."""

from harness.cost.estimate import Estimate, GroupCost, billed_seconds, estimate, instance_groups
from harness.cost.pricing import HourlyPrice, SpotTerms, hourly_price, spot_terms

__all__ = ["Estimate", "GroupCost", "HourlyPrice", "SpotTerms", "billed_seconds", "estimate",
           "hourly_price", "instance_groups", "spot_terms"]
