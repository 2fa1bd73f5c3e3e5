"""Instance groups become nodes scaled to this machine with the ratios kept, and every
impossible topology is a clear error naming the remedy."""

from __future__ import annotations

import json

import pytest

from harness.catalog import instance_type
from harness.cluster.topology import MIN_WORKER_MB, PRESETS, build_topology, load_groups
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
    # above Spark's floor, memory keeps the 32 GiB : 8 GiB ratio
    floor = MIN_WORKER_MB
    assert core.memory_mb - floor == pytest.approx(4 * (task.memory_mb - floor), rel=0.01)


def test_unknown_instance_type_names_the_closest_ones():
    with pytest.raises(UsageError) as err:
        instance_type("m5.xlarg")
    assert "m5.xlarge" in err.value.remedy
    with pytest.raises(UsageError, match="unknown instance type 'z9.huge'"):
        build_topology([group("MASTER"), group("CORE", "z9.huge")])


def test_more_groups_than_workers_fit_in_memory():
    groups = [group("MASTER"), group("CORE")] + [group("TASK", Name=f"t{i}") for i in range(4)]
    with pytest.raises(UsageError, match="5 instance groups need 5 workers") as err:
        build_topology(groups, memory_budget_mb=2048)
    assert "HARNESS_EMR_JOBFLOW_MEMORY_MB" in err.value.remedy


@pytest.mark.parametrize(("groups", "message"), [
    ([group("CORE")], "0 MASTER groups"),
    ([group("MASTER", count=2), group("CORE")], "MASTER group has 2 instances"),
    ([group("MASTER"), group("WORKER")], "InstanceRole 'WORKER'"),
    ([group("MASTER"), group("CORE", Market="CHEAP")], "Market 'CHEAP'"),
    ([group("MASTER"), group("CORE", count=-1)], "InstanceCount -1"),
    ([group("MASTER"), group("CORE", count="2")], "InstanceCount '2'"),
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
