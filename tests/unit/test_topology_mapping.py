"""The mapping rule from EMR instances to local workers (README, "How EMR instances become
local workers"): every worker gets what Spark needs first, the rest keeps the instance
types' ratios; large groups are consolidated keeping each group's role and type; a
single-node cluster runs its executors on the master node; three masters are one."""

from __future__ import annotations

import pytest

from harness.cluster.topology import (
    MAX_WORKER_MB,
    MAX_WORKERS,
    MIN_WORKER_MB,
    NodeSpec,
    build_topology,
)
from harness.errors import UsageError


def group(role, itype="m5.xlarge", count=1, **extra):
    return {"InstanceRole": role, "InstanceType": itype, "InstanceCount": count, **extra}


MIXED = [group("MASTER", Id="ig-M"), group("CORE", "r5.xlarge", 2, Id="ig-C"),
         group("TASK", "c5.xlarge", 1, Market="SPOT", Id="ig-T")]


def test_a_small_type_next_to_big_ones_gets_the_floor_first():
    # 2 x r5.xlarge (32 GiB) + 1 c5.xlarge (8 GiB) in 3072 MB: proportional alone would give
    # the c5 341 MB; the floor first gives it 640 MB plus its share of the rest
    topology = build_topology(MIXED, memory_budget_mb=3072, host_cores=2)
    core1, core2, task = (topology.node_named(n) for n in ("core-1", "core-2", "task-1"))
    assert task.memory_mb >= MIN_WORKER_MB
    assert core1.memory_mb == core2.memory_mb > task.memory_mb
    # what is above the floor keeps the 32:8 ratio
    assert (core1.memory_mb - MIN_WORKER_MB) == pytest.approx(
        4 * (task.memory_mb - MIN_WORKER_MB), abs=2)
    assert topology.worker_memory_mb <= 3072
    assert (task.market, task.group_id, core1.group_id) == ("SPOT", "ig-T", "ig-C")


@pytest.mark.parametrize("budget", [2048, 2730, 3072, 6000, 8192])
@pytest.mark.parametrize("shape", [
    [group("MASTER"), group("CORE", "r5.2xlarge", 11)],
    [group("MASTER", count=3), group("CORE", "m5.xlarge", 2)],
    [group("MASTER", "m5.xlarge")],
    MIXED,
    [group("MASTER"), group("CORE", "m5.4xlarge", 20), group("TASK", "c5.xlarge", 7,
                                                            Market="SPOT")],
    [group("MASTER"), group("CORE", "m5.xlarge", 5)],
])
def test_every_shape_fits_the_budget_with_spark_s_floor(shape, budget):
    topology = build_topology(shape, memory_budget_mb=budget, host_cores=2)
    workers = topology.workers
    assert 1 <= len(workers) <= MAX_WORKERS
    assert all(MIN_WORKER_MB <= w.memory_mb <= MAX_WORKER_MB for w in workers)
    assert topology.worker_memory_mb <= budget
    assert topology.executor_memory_mb >= 450  # Spark's minimum executor heap
    # every EMR instance that runs executors is rehearsed by exactly one worker
    for g in shape:
        if g["InstanceRole"] == "MASTER":
            continue
        mine = [w for w in workers if w.role == g["InstanceRole"]]
        assert sum(w.instance_count for w in mine) == g["InstanceCount"]
        starts = sorted((w.first_instance, w.instance_count) for w in mine)
        assert [s for s, _ in starts] == [sum(n for _, n in starts[:i])
                                          for i in range(len(starts))]


def test_a_large_group_is_consolidated_and_says_so():
    topology = build_topology([group("MASTER"), group("CORE", "r5.2xlarge", 11, Id="ig-C")],
                              memory_budget_mb=3072, host_cores=2)
    workers = topology.workers
    assert len(workers) == 4
    assert [w.instance_count for w in workers] == [3, 3, 3, 2]
    assert {(w.role, w.instance_type, w.group_id) for w in workers} == {
        ("CORE", "r5.2xlarge", "ig-C")}
    lines = topology.mapping_lines()
    assert lines[0] == "1 m5.xlarge master instance rehearsed as the local Spark master master-1"
    assert lines[1].startswith("11 r5.2xlarge core instances rehearsed as 4 workers: core-1 (1 "
                               "core, ")
    assert ", for 3 instances)" in lines[1]
    assert any(line.startswith("consolidated to 4 local workers") for line in lines)


def test_consolidation_keeps_every_group_and_shares_workers_by_count():
    shape = [group("MASTER"), group("CORE", "m5.2xlarge", 9),
             group("TASK", "c5.xlarge", 1, Market="SPOT", Name="Spot"),
             group("TASK", "r5.xlarge", 2, Name="Mem")]
    topology = build_topology(shape, memory_budget_mb=4096, host_cores=2)
    by_group = {}
    for w in topology.workers:
        by_group.setdefault(w.group, []).append(w)
    assert sorted(by_group) == ["Core", "Mem", "Spot"]
    assert len(by_group["Core"]) == 2 and len(by_group["Spot"]) == 1
    assert by_group["Spot"][0].market == "SPOT"


def test_a_master_only_cluster_runs_executors_on_the_master_node():
    topology = build_topology([group("MASTER", "m5.xlarge", Id="ig-M")],
                              memory_budget_mb=3072, host_cores=2)
    (worker,) = topology.workers
    assert (worker.role, worker.on_node, worker.daemon) == ("MASTER", "master-1", "worker")
    assert worker.group_id == "ig-M" and worker.memory_mb == 3072
    assert topology.master.name == "master-1" and topology.master.daemon == "master"
    assert "executors run on the master node" in topology.mapping_lines()[0]


def test_a_core_group_of_zero_from_master_and_slave_instance_type_is_single_node():
    topology = build_topology([group("MASTER"), group("CORE", count=0)],
                              memory_budget_mb=2048, host_cores=2)
    assert [w.name for w in topology.workers] == ["master-1-worker"]
    assert "1 m5.xlarge" in topology.mapping_lines()[0]
    assert topology.mapping_lines()[1] == "0 m5.xlarge core instances: nothing to rehearse"


def test_three_masters_are_one_local_master():
    topology = build_topology([group("MASTER", count=3), group("CORE", count=2)],
                              memory_budget_mb=3072, host_cores=2)
    masters = [n for n in topology.nodes if n.daemon == "master"]
    assert len(masters) == 1 and masters[0].instance_count == 3
    assert "other two are listed as standing by" in topology.mapping_lines()[0]


@pytest.mark.parametrize(("budget", "workers"), [(1280, 2), (1920, 3), (2560, 4), (8192, 4)])
def test_the_worker_count_follows_the_memory_budget(budget, workers):
    topology = build_topology([group("MASTER"), group("CORE", count=6)],
                              memory_budget_mb=budget, host_cores=2)
    assert len(topology.workers) == workers


def test_cores_keep_the_vcpu_ratio_within_the_cap():
    topology = build_topology([group("MASTER"), group("CORE", "c5.xlarge"),
                               group("TASK", "m5.2xlarge"), group("TASK", "m5.24xlarge",
                                                                 Name="Huge")],
                              memory_budget_mb=4096, host_cores=2)
    cores = {w.instance_type: w.cores for w in topology.workers}
    assert cores == {"c5.xlarge": 1, "m5.2xlarge": 2, "m5.24xlarge": 4}


def test_node_specs_round_trip_and_old_records_still_load():
    spec = build_topology(MIXED, memory_budget_mb=3072, host_cores=2).workers[0]
    assert NodeSpec.from_dict(spec.to_dict()) == spec
    old = {"name": "core-1", "role": "CORE", "instance_type": "m5.xlarge", "market": "SPOT",
           "cores": 1, "memory_mb": 1024, "group": "Core"}
    assert NodeSpec.from_dict(old).daemon == "worker"
    assert NodeSpec.from_dict({**old, "name": "master-1", "role": "MASTER"}).daemon == "master"


def test_too_little_memory_for_one_worker_is_refused():
    with pytest.raises(UsageError, match="1 instance groups need 1 workers"):
        build_topology([group("MASTER"), group("CORE")], memory_budget_mb=512)
