"""kill-node's preconditions, shared by both cluster backends: the master cannot be
reclaimed like a spot instance, a lost node cannot be lost twice, an unknown name lists
the nodes; the notice period passes before the node goes. Nothing is started."""

from __future__ import annotations

import time

import pytest

from harness.cluster import PRESETS, ClusterError, Node, RunningCluster, build_topology
from harness.cluster.base import spot_reclaim_target


def cluster() -> RunningCluster:
    topology = build_topology(PRESETS["small"], memory_budget_mb=4096, host_cores=2)
    nodes = [Node(spec, f"http://127.0.0.1:{8080 + i}", state="RUNNING")
             for i, spec in enumerate(topology.nodes)]
    return RunningCluster("c-test", "process", "spark://127.0.0.1:7077",
                          "http://127.0.0.1:8080", "/tmp", nodes, 1024)


def test_a_worker_is_returned_after_the_notice():
    c = cluster()
    worker = c.workers[-1].spec.name
    since = time.monotonic()
    assert spot_reclaim_target(c, worker, notice_s=0.2) is c.node(worker)
    assert time.monotonic() - since >= 0.2


@pytest.mark.parametrize(("pick", "problem", "remedy"), [
    (lambda c: c.nodes[0].spec.name, "master node cannot be killed", "kill a CORE or TASK"),
    (lambda c: "nope", "has no node 'nope'", "nodes are: "),
])
def test_the_master_and_unknown_nodes_are_refused(pick, problem, remedy):
    c = cluster()
    with pytest.raises(ClusterError) as err:
        spot_reclaim_target(c, pick(c), notice_s=0)
    assert problem in err.value.problem and remedy in err.value.remedy


def test_a_lost_node_is_refused_without_waiting():
    c = cluster()
    c.workers[0].state = "LOST"
    since = time.monotonic()
    with pytest.raises(ClusterError, match="already lost"):
        spot_reclaim_target(c, c.workers[0].spec.name, notice_s=5)
    assert time.monotonic() - since < 1
