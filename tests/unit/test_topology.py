"""Instance groups become nodes scaled to this machine with the ratios kept, and every
impossible topology is a clear error naming the remedy."""

from __future__ import annotations

import json

import pytest

from harness.catalog import instance_type
from harness.cluster.topology import PRESETS, build_topology, load_groups
from harness.errors import UsageError


def group(role, itype="m5.xlarge", count=1, **extra):
    return {"InstanceRole": role, "InstanceType": itype, "InstanceCount": count, **extra}


def test_small_preset_is_one_master_two_core_one_spot_task():
    topology = build_topology(PRESETS["small"], memory_budget_mb=6000, host_cores=2)
    assert [(n.name, n.role, n.market) for n in topology.nodes] == [
        ("master-1", "MASTER", "ON_DEMAND"), ("core-1", "CORE", "ON_DEMAND"),
        ("core-2", "CORE", "ON_DEMAND"), ("task-1", "TASK", "SPOT")]
    assert {n.memory_mb for n in topology.workers} == {2000}
    assert topology.notes == ("3 Spark cores on 2 host cores: oversubscribed 1.5x",)


def test_ratios_between_instance_types_are_kept():
    topology = build_topology([group("MASTER"), group("CORE", "m5.2xlarge", 2),
                               group("TASK", "c5.xlarge", 2, Market="SPOT")],
                              memory_budget_mb=8000, host_cores=2)
    core, task = topology.node_named("core-1"), topology.node_named("task-1")
    assert core.cores == 2 * task.cores  # 8 vCPU vs 4 vCPU
    assert core.memory_mb == pytest.approx(4 * task.memory_mb, rel=0.01)  # 32 GiB vs 8 GiB


def test_unknown_instance_type_names_the_closest_ones():
    with pytest.raises(UsageError) as err:
        instance_type("m5.xlarg")
    assert "m5.xlarge" in err.value.remedy
    with pytest.raises(UsageError, match="unknown instance type 'z9.huge'"):
        build_topology([group("MASTER"), group("CORE", "z9.huge")])


def test_more_nodes_than_fit_in_memory():
    with pytest.raises(UsageError, match="do not fit in 2048 MB") as err:
        build_topology([group("MASTER"), group("CORE", count=8)], memory_budget_mb=2048)
    assert "fewer or smaller" in err.value.remedy


@pytest.mark.parametrize(("groups", "message"), [
    ([group("CORE")], "0 MASTER groups"),
    ([group("MASTER", count=3), group("CORE")], "MASTER group has 3 instances"),
    ([group("MASTER"), group("WORKER")], "InstanceRole 'WORKER'"),
    ([group("MASTER"), group("CORE", Market="CHEAP")], "Market 'CHEAP'"),
    ([group("MASTER"), group("CORE", count=0)], "InstanceCount 0"),
    ([group("MASTER")], "no CORE or TASK instances"),
])
def test_invalid_groups(groups, message):
    with pytest.raises(UsageError, match=message):
        build_topology(groups)


def test_groups_load_from_a_run_job_flow_request(tmp_path):
    path = tmp_path / "flow.json"
    path.write_text(json.dumps({"Instances": {"InstanceGroups": PRESETS["small"]}}))
    assert load_groups(str(path)) == PRESETS["small"]
    with pytest.raises(UsageError, match="neither a cluster preset nor a file"):
        load_groups("huge")
