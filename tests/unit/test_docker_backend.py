"""The docker backend's decisions that need no engine: container limits in the instance
types' ratios, which paths are mounted, the node image's name, and one-line errors that
name the remedy when no engine answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cluster import BACKENDS, ClusterError, DockerBackend, build_topology
from harness.cluster.docker import (
    DAEMON_MB,
    _outermost,
    container_cpus,
    container_memory_mb,
)
from harness.cluster.images import node_image
from harness.errors import UsageError


def groups(core_type: str = "m5.xlarge", task_type: str = "m5.2xlarge"):
    return [
        {"Name": "Master", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge",
         "InstanceCount": 1},
        {"Name": "Core", "InstanceRole": "CORE", "InstanceType": core_type, "InstanceCount": 2},
        {"Name": "Task", "InstanceRole": "TASK", "InstanceType": task_type, "InstanceCount": 1,
         "Market": "SPOT"},
    ]


def test_docker_is_a_registered_backend():
    assert BACKENDS["docker"] is DockerBackend
    assert DockerBackend.ships_s3a_jars and not BACKENDS["process"].ships_s3a_jars


def test_container_limits_follow_the_instance_types_ratios():
    topology = build_topology(groups(), memory_budget_mb=6144, host_cores=2)
    core, task = topology.node_named("core-1"), topology.node_named("task-1")
    # m5.2xlarge has twice m5.xlarge's vCPUs and memory: twice the CPUs, about twice the RAM
    assert container_cpus(core, topology) == 1.0
    assert container_cpus(task, topology) == 2.0
    assert container_memory_mb(task) > container_memory_mb(core) > core.memory_mb
    ratio = (container_memory_mb(task) - DAEMON_MB) / (container_memory_mb(core) - DAEMON_MB)
    # the containers keep the workers' ratio (above Spark's floor, the instance types')
    assert ratio == pytest.approx(task.memory_mb / core.memory_mb, rel=0.01)
    master = topology.master
    assert container_cpus(master, topology) == 2.0  # its ratio is 1; it also runs drivers
    assert container_memory_mb(master) >= 2048  # the master daemon and a step's driver


def test_mounts_drop_paths_inside_other_mounts(tmp_path: Path):
    a, b = tmp_path / "a", tmp_path / "a" / "b"
    c = tmp_path / "c"
    assert sorted(_outermost([b, a, c, a])) == [a, c]


def test_node_image_is_named_after_pyspark():
    assert node_image("4.3.0") == "emr-rehearsal/node:spark-4.3.0"


def test_unknown_network_mode_is_a_usage_error(monkeypatch):
    monkeypatch.setenv("HARNESS_DOCKER_NETWORK", "overlay")
    with pytest.raises(UsageError, match="overlay"):
        DockerBackend()


def test_no_engine_gives_one_line_with_the_remedy(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    with pytest.raises(ClusterError) as err:
        DockerBackend().preflight()
    assert "no Docker engine is reachable" in err.value.problem
    assert "scripts/ensure-docker" in err.value.remedy and "dockerd" in err.value.remedy
    assert "\n" not in err.value.one_line()


def test_a_single_node_master_container_holds_its_worker(monkeypatch):
    """A master-only cluster's worker runs in the master's container: its limits add the
    worker's share, within the machine's CPUs (the engine refuses more)."""
    from harness.cluster.docker import MASTER_MB

    topology = build_topology([{"InstanceRole": "MASTER", "InstanceType": "m5.4xlarge",
                                "InstanceCount": 1}], memory_budget_mb=2048, host_cores=8)
    master, (worker,) = topology.master, topology.workers
    assert worker.on_node == master.name
    assert container_memory_mb(master, [worker]) == MASTER_MB + container_memory_mb(worker)
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    assert container_cpus(master, topology) == 2.0 + worker.cores
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert container_cpus(master, topology) == 2.0
