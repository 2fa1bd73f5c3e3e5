"""What a resize gives the workers it adds and what it leaves behind (no server, no JVM:
the backend's launch and the job flow's collaborators are stand-ins): the node setup
before their daemons, steps sized against the cluster as it is now, the memory of a
failed resize given back, and a job flow's end waiting for a resize under way."""

from __future__ import annotations

import threading
from dataclasses import replace
from types import SimpleNamespace

import pytest

from harness.cluster import Node, RunningCluster
from harness.cluster.process import ProcessBackend
from harness.cluster.topology import PRESETS, build_topology
from harness.emr.capacity import Capacity, live_topology
from harness.emr.jobflow import JobFlow
from harness.emr.resources import scale_submit_args


def cluster(tmp_path) -> RunningCluster:
    topology = build_topology(PRESETS["small"], memory_budget_mb=4096, host_cores=2)
    nodes = [Node(spec, f"http://127.0.0.1:{8080 + i}", state="RUNNING")
             for i, spec in enumerate(topology.nodes)]
    return RunningCluster("j-TEST", "process", "spark://127.0.0.1:7077",
                          "http://127.0.0.1:8080", str(tmp_path), nodes, 896)


def test_added_workers_get_the_setups_environment_before_their_daemons(tmp_path, monkeypatch):
    backend = ProcessBackend()
    c = cluster(tmp_path)
    events: list[tuple[str, str, dict]] = []
    monkeypatch.setattr(backend, "_worker", lambda node, base, url, detached, env, home:
                        events.append(("daemon", node.spec.name, env)))
    monkeypatch.setattr(backend, "_wait", lambda ready, nodes, what: None)

    def setup(nodes):
        assert all(n not in c.nodes for n in nodes)  # not in the cluster until registered
        events.append(("setup", ",".join(n.spec.name for n in nodes), {}))
        return {n.spec.name: {"PYSPARK_PYTHON": "python3", "HARNESS_NODE_RUNNER": "/run"}
                for n in nodes}

    spec = replace(c.workers[-1].spec, name="task-9")
    added = backend.add_workers(c, [spec], setup=setup)
    assert events == [("setup", "task-9", {}),
                      ("daemon", "task-9", {"PYSPARK_PYTHON": "python3",
                                            "HARNESS_NODE_RUNNER": "/run"})]
    assert [n.spec.name for n in added] == ["task-9"] and added[0] in c.nodes


def test_a_failed_setup_starts_no_daemon(tmp_path, monkeypatch):
    backend = ProcessBackend()
    c = cluster(tmp_path)
    launched: list[str] = []
    monkeypatch.setattr(backend, "_worker", lambda node, *a: launched.append(node.spec.name))

    def setup(nodes):
        raise RuntimeError("bootstrap action 1 (pip) returned a non-zero return code 1")

    with pytest.raises(RuntimeError):
        backend.add_workers(c, [replace(c.workers[-1].spec, name="task-9")], setup=setup)
    assert launched == [] and [n.spec.name for n in c.nodes if n.spec.name == "task-9"] == []


def test_steps_are_sized_against_the_live_workers(tmp_path):
    topology = build_topology(PRESETS["small"], memory_budget_mb=4096, host_cores=2)
    c = cluster(tmp_path)
    lost = c.workers[0]
    lost.state = "LOST"
    for name in ("task-2", "task-3"):  # a resize added two task nodes
        c.nodes.append(Node(replace(c.workers[-1].spec, name=name), "http://127.0.0.1:9999",
                            state="RUNNING"))
    groups = [dict(g, Id="") for g in PRESETS["small"]]
    groups[2] = dict(groups[2], InstanceCount=3)  # the task group resized from 1 to 3
    live = live_topology(topology, c, groups)
    assert [n.name for n in live.workers] == ["core-2", "task-1", "task-2", "task-3"]
    assert live.master == topology.master
    assert next(g for g in live.groups if g.role == "TASK").count == 3
    args = ["--conf", "spark.executor.instances=20", "app.py"]
    assert "20 of the 6 executors the EMR cluster holds; the same share of the 3 the local " \
        "workers hold" in scale_submit_args(args, topology)[1][0]
    assert "20 of the 10 executors the EMR cluster holds; the same share of the 4 the local " \
        "workers hold" in scale_submit_args(args, live)[1][0]
    # no live worker: the launch topology, not an empty one
    for n in c.workers:
        n.state = "LOST"
    assert live_topology(topology, c, groups) is topology


def _capacity(tmp_path, add_workers):
    grown: list[int] = []
    plane = SimpleNamespace(time_scale=0.05, spot_provisioning_s=0.0,
                            grow=lambda jobflow, mb: grown.append(mb),
                            room_mb=lambda jobflow: 8192, log=lambda line: None,
                            record=lambda jobflow: None)
    emr = SimpleNamespace(id="j-TEST", lock=threading.RLock())
    jobflow = SimpleNamespace(emr=emr, plane=plane, cluster=cluster(tmp_path),
                              backend=SimpleNamespace(add_workers=add_workers),
                              terminating=False, stopped=False,
                              setup_added=lambda nodes: {})
    return Capacity(jobflow), grown


def _record(n: int):
    return SimpleNamespace(market="ON_DEMAND", instance_type="m5.xlarge",
                           ec2_instance_id=f"i-{n}", id=f"ci-{n}", state="PROVISIONING",
                           held=True, ready_date_time=None, end_date_time=None,
                           state_change_reason="", state_change_code=None, node=None)


def test_a_failed_resize_gives_its_memory_back(tmp_path):
    def add_workers(cluster, specs, setup=None):
        setup([Node(spec, "http://127.0.0.1:1") for spec in specs])
        raise RuntimeError("On the task node task-2, bootstrap action 1 (pip) returned a "
                           "non-zero return code 1")

    capacity, grown = _capacity(tmp_path, add_workers)
    owner = SimpleNamespace(name="Task", role="TASK", id="ig-TASK", state_change_reason="")
    records = [_record(1), _record(2)]
    with pytest.raises(RuntimeError):
        capacity._grow(owner, records)
    assert grown and grown[0] > 0 and sum(grown) == 0
    assert {r.state for r in records} == {"TERMINATED"}
    assert {r.state_change_code for r in records} == {"BOOTSTRAP_FAILURE"}


def test_the_end_of_a_job_flow_waits_for_a_resize_before_stopping_the_nodes(tmp_path):
    order: list[str] = []
    resize = threading.Thread(target=lambda: (threading.Event().wait(0.3),
                                              order.append("resize done")))
    capacity, _ = _capacity(tmp_path, None)
    capacity._thread = resize
    resize.start()
    emr = SimpleNamespace(lock=threading.RLock(), last_state_change_code="USER_REQUEST",
                          last_state_change_reason="Terminated", state="TERMINATING",
                          status={"StateChangeReason": {}},
                          terminating=lambda code, message: None,
                          terminate=lambda code, message: order.append("record ended"))
    jobflow = SimpleNamespace(
        emr=emr, id="j-TEST", _processes={}, _step_threads=[], capacity=capacity,
        cluster=capacity.jobflow.cluster, history=None, stopped=False,
        backend=SimpleNamespace(stop=lambda c: order.append("nodes stopped")),
        plane=SimpleNamespace(log=lambda line: None))
    JobFlow._end(jobflow)
    assert order == ["resize done", "nodes stopped", "record ended"]
    assert jobflow.stopped
