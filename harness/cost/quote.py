"""What a job flow costs around a run: the quote shown before a real EMR run is confirmed,
and the price of a rehearsal for the time it took."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.cost.estimate import Estimate, estimate, instance_groups
from harness.errors import UsageError


@dataclass
class Quote:
    """A real run's price for `hours`, and the sentence shown before the user confirms."""

    estimate: Estimate
    message: str


def quote_real_run(request: dict[str, Any], region: str, hours: float) -> Quote:
    """The job flow's price for `hours` in `region`, as shown before a real EMR run."""
    priced = estimate(instance_groups(request, region), hours * 3600, region)
    return Quote(priced, f"This runs job flow {request['Name']!r} on REAL Amazon EMR in "
                         f"{region}: about ${priced.spot_total:.2f} per {hours:g} h as "
                         "written, billed to your account.")


def run_cost_line(request: dict[str, Any], seconds_total: float, step_seconds: float,
                  region: str) -> str:
    """What the job flow would cost on EMR for the time it ran (or why it has no price)."""
    try:
        priced = estimate(instance_groups(request, region), seconds_total, region)
    except UsageError as exc:  # an instance type the catalog has no price for
        return f"cost: not estimated ({exc.one_line()})"
    return (f"on EMR ({region}) this job flow would cost about "
            f"${priced.on_demand_total:.4f} on demand, ${priced.spot_total:.4f} as "
            f"written, for the {seconds_total:.0f} s it ran ({step_seconds:.0f} s of "
            "steps); EMR's provisioning adds minutes that are billed too (harness cost "
            "prices any duration)")
