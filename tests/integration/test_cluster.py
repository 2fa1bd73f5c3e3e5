"""The EMR-shaped cluster for real, on every backend (Spark processes, containers): master,
core and task nodes; the 400k enrichment on it equals the local run, also when the task
node is killed mid-job; no node is left behind after `harness down`, after a failure or
after Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from harness import procs
from harness.bench.equivalence import compare_outputs
from harness.cluster import BACKENDS, PRESETS, Node, build_topology, running
from harness.spark import spark_submit
from harness.workloads import generate_fixture
from tests.backends import CLUSTER_BACKENDS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fixture_400k(tmp_path_factory, cascade):
    fixture, _ = generate_fixture(cascade, 400_000, 42, 0.02,
                                  tmp_path_factory.mktemp("fx") / "400k")
    return fixture


@pytest.fixture(scope="module")
def reference_400k(cascade, fixture_400k):
    return cascade.reference_outputs(fixture_400k.read_tables())  # the judge, not a variant


@pytest.fixture(scope="module", params=CLUSTER_BACKENDS)
def small_cluster(request, tmp_path_factory):
    topology = build_topology(PRESETS["small"])
    with running(topology, tmp_path_factory.mktemp("cluster"), request.param) as (c, impl):
        yield c, impl
    assert not any(impl.node_alive(n) for n in c.nodes)


def _alive(backend: str, nodes: list[dict]) -> list[bool]:
    """Whether each node (as `harness status --json` or a child process reports it) runs."""
    impl = BACKENDS[backend]()
    return [impl.node_alive(Node.from_dict(n)) for n in nodes]


def _read(out: Path, cascade) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(out / name) for name in cascade.output_names}


def test_cluster_has_the_emr_layout(small_cluster):
    cluster, _ = small_cluster
    assert [(n.spec.name, n.spec.role) for n in cluster.nodes] == [
        ("master-1", "MASTER"), ("core-1", "CORE"), ("core-2", "CORE"), ("task-1", "TASK")]
    assert cluster.node("task-1").spec.market == "SPOT"
    status = cluster.master_status()
    alive = {w["webuiaddress"]: w for w in status["workers"] if w["state"] == "ALIVE"}
    for node in cluster.workers:
        assert alive[node.ui_url]["cores"] == node.spec.cores
        assert alive[node.ui_url]["memory"] == node.spec.memory_mb


def test_400k_job_on_the_cluster_equals_local_even_when_the_task_node_is_lost(
    small_cluster, cascade, fixture_400k, reference_400k, tmp_path
):
    cluster, impl = small_cluster
    out = tmp_path / "out-cluster"
    result = spark_submit(cascade.spark_job, [fixture_400k.uri(), out.as_uri()],
                          master=cluster.master_url, conf=cluster.spark_conf())
    assert result.returncode == 0, result.error_excerpt()
    assert result.metrics["master"] == cluster.master_url
    comparison = compare_outputs(cascade.outputs, reference_400k, _read(out, cascade), 1e-9)
    assert comparison.equal, comparison.summary()

    # Second run: take task-1 away as soon as the job starts writing its output.
    out = tmp_path / "out-killed"
    killed = threading.Event()

    def reclaim_when_writing():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not (out / "enriched" / "_temporary").exists():
            time.sleep(0.05)
        impl.kill_node(cluster, "task-1")
        killed.set()

    threading.Thread(target=reclaim_when_writing, daemon=True).start()
    result = spark_submit(cascade.spark_job, [fixture_400k.uri(), out.as_uri()],
                          master=cluster.master_url, conf=cluster.spark_conf())
    assert killed.is_set(), "the task node was not killed during the job"
    assert result.returncode == 0, result.error_excerpt()
    assert cluster.node("task-1").state == "LOST"
    assert not impl.node_alive(cluster.node("task-1"))
    comparison = compare_outputs(cascade.outputs, reference_400k, _read(out, cascade), 1e-9)
    assert comparison.equal, comparison.summary()


@pytest.mark.parametrize("backend", CLUSTER_BACKENDS)
def test_no_node_is_left_after_a_failure_inside_the_block(tmp_path, backend):
    topology = build_topology(PRESETS["small"])
    nodes = []
    with pytest.raises(RuntimeError, match="boom"), \
            running(topology, tmp_path, backend) as (cluster, impl):
        nodes = list(cluster.nodes)
        assert all(impl.node_alive(n) for n in nodes)
        raise RuntimeError("boom")
    assert nodes and not any(impl.node_alive(n) for n in nodes)


def _harness(*args: str, work: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HARNESS_WORK_DIR": str(work / ".harness")}
    return procs.run([sys.executable, "-m", "harness.cli", *args], capture_output=True,
                          text=True, cwd=work, env=env, timeout=300, check=False)


@pytest.mark.parametrize("backend", CLUSTER_BACKENDS)
def test_up_status_down_with_a_cluster_leaves_no_node(tmp_path, backend):
    from harness.net import free_port

    up = _harness("up", "--port", str(free_port()), "--cluster", "small", "--backend", backend,
                  work=tmp_path)
    assert up.returncode == 0, up.stderr
    status = json.loads(_harness("status", "--json", work=tmp_path).stdout)
    (cluster,) = status["clusters"]
    assert cluster["backend"] == backend
    assert status["endpoint"]["emr_backend"] == backend
    assert [n["name"] for n in cluster["nodes"]] == ["master-1", "core-1", "core-2", "task-1"]
    assert all(n["state"] == "RUNNING" for n in cluster["nodes"])
    assert {"name", "role", "instance_type", "market", "cores", "memory_mb", "state",
            "ui_url"} <= set(cluster["nodes"][1])
    killed = _harness("kill-node", "task-1", work=tmp_path)
    assert killed.returncode == 0, killed.stderr
    status = json.loads(_harness("status", "--json", work=tmp_path).stdout)
    assert [n["state"] for n in status["clusters"][0]["nodes"]] == [
        "RUNNING", "RUNNING", "RUNNING", "LOST"]
    assert _harness("down", work=tmp_path).returncode == 0
    assert not any(_alive(backend, cluster["nodes"]))


CTRL_C_SCRIPT = """
import json, sys, time
from pathlib import Path
from harness.cluster import PRESETS, build_topology, running
with running(build_topology(PRESETS["small"]), Path(sys.argv[1]), sys.argv[2]) as (c, _):
    print(json.dumps([n.to_dict() for n in c.nodes]), flush=True)
    time.sleep(600)
"""


@pytest.mark.parametrize("backend", CLUSTER_BACKENDS)
def test_ctrl_c_stops_every_node(tmp_path, backend):
    proc = subprocess.Popen([sys.executable, "-c", CTRL_C_SCRIPT, str(tmp_path), backend],
                            stdout=subprocess.PIPE, text=True)
    try:
        nodes = json.loads(proc.stdout.readline())
        assert len(nodes) == 4 and all(_alive(backend, nodes))
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        proc.kill()
    assert not any(_alive(backend, nodes))
