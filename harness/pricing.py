"""Prices from the catalog (harness/data/instances.json): EC2 on-demand and the EMR charge
per instance-hour by region, and a spot model (discount, interruption rate) per family
that users can override with their own JSON."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path

from harness.catalog import CATALOG, instance_type
from harness.errors import UsageError


@dataclass(frozen=True)
class HourlyPrice:
    instance_type: str
    region: str
    ec2_on_demand: float
    emr: float


@dataclass(frozen=True)
class SpotTerms:
    discount: float  # share of the on-demand EC2 price saved
    interruption_rate: float  # chance an instance is reclaimed within a month (Spot Advisor)


def _data() -> dict:
    return json.loads(CATALOG.read_text())


def regions() -> dict[str, float]:
    return _data()["pricing"]["regions"]


def hourly_price(name: str, region: str) -> HourlyPrice:
    """The per-hour prices of an instance type in a region; UsageError naming the closest
    known types or regions when there is none."""
    data = _data()
    multipliers = data["pricing"]["regions"]
    if region not in multipliers:
        close = difflib.get_close_matches(region, multipliers, n=3, cutoff=0.4)
        raise UsageError(f"no prices for region {region!r}",
                         f"use {' or '.join(close) if close else ', '.join(multipliers)}")
    entry = data["instance_types"].get(name, {}).get("price_us_east_1")
    if entry is None:
        instance_type(name)  # an unknown type gets the catalog's own "did you mean"
        priced = [k for k, v in data["instance_types"].items() if "price_us_east_1" in v]
        close = difflib.get_close_matches(name, priced, n=3, cutoff=0.5)
        raise UsageError(f"the catalog has no price for instance type {name!r}",
                         f"priced types close to it: {', '.join(close) or ', '.join(priced[:5])}"
                         " (add a price_us_east_1 entry to the catalog)")
    return HourlyPrice(name, region, round(entry["ec2_on_demand"] * multipliers[region], 4),
                       entry["emr"])


def spot_terms(name: str, override: Path | None = None) -> SpotTerms:
    """Spot discount and interruption rate for the instance's family."""
    model = _data()["spot"]
    if override is not None:
        try:
            user = json.loads(override.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"cannot read the spot model {override}: {exc}",
                             "give a JSON file like {\"families\": {\"m5\": {\"discount\": "
                             "0.6, \"interruption_rate\": 0.05}}}") from None
        model = {"families": {**model["families"], **user.get("families", {})},
                 "default": user.get("default", model["default"])}
    terms = model["families"].get(name.split(".")[0], model["default"])
    return SpotTerms(float(terms["discount"]), float(terms["interruption_rate"]))


def billing() -> dict[str, int]:
    return _data()["pricing"]["billing"]
