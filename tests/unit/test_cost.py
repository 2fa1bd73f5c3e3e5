"""Cost arithmetic on known cases: per-second billing with its minimum, spot discounts,
mixed groups, and clear errors for unknown types and regions."""

from __future__ import annotations

import json

import pytest

from harness.cost import billed_seconds, estimate, hourly_price
from harness.errors import UsageError

M5 = 0.192 + 0.048  # us-east-1 EC2 + EMR per hour


def groups(*specs):
    return [{"InstanceRole": role, "InstanceType": itype, "InstanceCount": n, "Market": market}
            for role, itype, n, market in specs]


def test_per_second_billing_with_one_minute_minimum():
    assert billed_seconds(0) == 60 and billed_seconds(59.2) == 60
    assert billed_seconds(60.01) == 61 and billed_seconds(3600) == 3600
    result = estimate(groups(("MASTER", "m5.xlarge", 1, "ON_DEMAND")), 30, "us-east-1")
    assert result.on_demand_total == pytest.approx(M5 * 60 / 3600, abs=1e-4)
    result = estimate(groups(("MASTER", "m5.xlarge", 1, "ON_DEMAND")), 90.5, "us-east-1")
    assert result.on_demand_total == pytest.approx(M5 * 91 / 3600, abs=1e-4)


def test_spot_discount_applies_to_ec2_not_to_the_emr_charge():
    (group,) = estimate(groups(("TASK", "m5.xlarge", 10, "SPOT")), 3600, "us-east-1").groups
    assert group.on_demand == pytest.approx(10 * M5)
    assert group.spot == pytest.approx(10 * (0.192 * (1 - 0.60) + 0.048))


def test_mixed_groups_on_demand_as_written_and_all_spot():
    result = estimate(groups(("MASTER", "m5.xlarge", 1, "ON_DEMAND"),
                             ("CORE", "r5.2xlarge", 2, "ON_DEMAND"),
                             ("TASK", "c5.xlarge", 4, "SPOT")), 7200, "us-east-1")
    master, core, task = (M5 * 2, 2 * 2 * (0.504 + 0.126), 4 * 2 * (0.170 + 0.043))
    task_spot = 4 * 2 * (0.170 * 0.4 + 0.043)
    assert result.on_demand_total == pytest.approx(master + core + task, abs=1e-3)
    assert result.spot_total == pytest.approx(master + core + task_spot, abs=1e-3)
    data = result.to_json()
    assert {"on_demand_total", "spot_total", "groups"} <= set(data)
    assert [g["role"] for g in data["groups"]] == ["MASTER", "CORE", "TASK"]


def test_regions_scale_the_ec2_price(tmp_path):
    assert hourly_price("m5.xlarge", "eu-west-1").ec2_on_demand == pytest.approx(0.192 * 1.11,
                                                                                abs=1e-4)
    with pytest.raises(UsageError, match="no prices for region 'eu-west-9'") as err:
        hourly_price("m5.xlarge", "eu-west-9")
    assert "eu-west-1" in err.value.remedy


def test_unknown_instance_types_name_the_closest(tmp_path):
    with pytest.raises(UsageError) as err:
        hourly_price("m5.xlargee", "us-east-1")
    assert "m5.xlarge" in err.value.remedy
    with pytest.raises(UsageError, match="no price for instance type 'm7g.xlarge'") as err:
        hourly_price("m7g.xlarge", "us-east-1")  # EMR knows it; the catalog has no price


def test_spot_model_can_be_overridden(tmp_path):
    model = tmp_path / "spot.json"
    model.write_text(json.dumps({"families": {"m5": {"discount": 0.5,
                                                     "interruption_rate": 0.2}}}))
    (group,) = estimate(groups(("TASK", "m5.xlarge", 1, "SPOT")), 3600, "us-east-1",
                        spot_model=model).groups
    assert group.spot == pytest.approx(0.192 * 0.5 + 0.048) and group.interruption_rate == 0.2


def test_an_instance_list_that_cannot_load_fails_loudly():
    from harness.catalog import CatalogError, instance_types, load_emr_types

    # moto's real loader on a resource that is not there: a broken install, said so
    with pytest.raises(CatalogError) as err:
        load_emr_types("emr/resources/no_such_instance_types.json")
    assert "cannot be loaded" in err.value.problem and err.value.__cause__ is not None
    assert "make .venv/.installed" in err.value.remedy
    # loaded, EMR's list holds what the curated catalog does not (never silently shrunk)
    emr_types = load_emr_types()
    assert "m7g.xlarge" in emr_types and "m7g.xlarge" in instance_types()
    assert len(instance_types()) >= len(emr_types)
