"""EMR's instance records follow the local nodes: ids shaped as EMR's, each instance told
which local node rehearses it (consolidated workers stand for several), states and
running counts that follow the cluster."""

from __future__ import annotations

from moto.emr.models import ElasticMapReduceBackend

from harness.cluster.docker import _entry_role
from harness.cluster.topology import build_topology
from harness.emr import instances


def groups_for(spec):
    backend = ElasticMapReduceBackend("us-east-1", "123456789012")
    made = []
    for g in spec:
        group = instances.RehearsalInstanceGroup(
            cluster_id="j-TEST", instance_count=g["InstanceCount"],
            instance_role=g["InstanceRole"], instance_type=g["InstanceType"])
        instances.launch(backend, group)
        g["Id"] = group.id
        made.append(group)
    return made


def test_consolidated_workers_stand_for_their_instances():
    spec = [{"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1},
            {"InstanceRole": "CORE", "InstanceType": "r5.2xlarge", "InstanceCount": 11}]
    master, core = groups_for(spec)
    assert master.id.startswith("ig-") and master.state == "PROVISIONING"
    topology = build_topology(spec, memory_budget_mb=2048, host_cores=2)
    by_node = instances.attach([master, core], list(topology.nodes))
    assert [len(by_node[n]) for n in ("core-1", "core-2", "core-3")] == [4, 4, 3]
    assert sorted(i for ids in by_node.values() for i in ids) == sorted(
        i.ec2_instance_id for g in (master, core) for i in g.instances)
    first = core.instances[0]
    assert first.id.startswith("ci-") and first.ec2_instance_id.startswith("i-")
    assert first.node == "core-1"
    assert first.status["StateChangeReason"]["Message"].startswith(
        "Rehearsed by local worker core-1, which stands for 4 instances (i-")
    assert (core.requested_instance_count, core.running_instance_count) == (11, 0)
    for state, group_state, running in [("BOOTSTRAPPING", "BOOTSTRAPPING", 0),
                                        ("RUNNING", "RUNNING", 11),
                                        ("TERMINATED", "TERMINATED", 0)]:
        core.follow(state)
        assert (core.state, core.running_instance_count) == (group_state, running)
    assert {i.state for i in core.instances} == {"TERMINATED"}
    assert first.status["Timeline"]["EndDateTime"] is not None


def test_three_masters_and_a_single_node():
    spec = [{"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 3}]
    (master,) = groups_for(spec)
    topology = build_topology(spec, memory_budget_mb=2048, host_cores=2)
    by_node = instances.attach([master], list(topology.nodes))
    assert list(by_node) == ["master-1"] and len(by_node["master-1"]) == 3
    messages = [i.status["StateChangeReason"]["Message"] for i in master.instances]
    assert messages[0] == ("Rehearsed by the local Spark master master-1, with executors on "
                           "master-1-worker beside it")
    assert all("standing by" in m for m in messages[1:])


def test_the_worker_on_a_single_node_starts_as_a_worker_in_its_container():
    topology = build_topology([{"InstanceRole": "MASTER", "InstanceType": "m5.xlarge",
                                "InstanceCount": 1}], memory_budget_mb=2048, host_cores=2)
    assert [_entry_role(n) for n in topology.nodes] == ["master", "core"]


def test_a_cluster_s_instances_follow_its_states_through_the_backend():
    from harness.emr.models import RehearsalEmrBackend
    from tests.unit.test_emr_models import new_cluster

    backend = RehearsalEmrBackend("us-east-1", "123456789012")
    cluster = new_cluster(backend)  # MasterInstanceType + SlaveInstanceType, 2 instances
    groups = backend.list_instance_groups(cluster.id)
    listed = backend.list_instances(cluster.id)
    assert sorted(g.role for g in groups) == ["CORE", "MASTER"]
    assert len(listed) == 2 and {i.state for i in listed} == {"PROVISIONING"}
    assert cluster.instance_collection_type == "INSTANCE_GROUP"
    master = next(i for i in listed if i.instance_group.role == "MASTER")
    assert cluster.master_public_dns_name is None  # "localhost" once the nodes are up
    assert cluster.master_instance_id == master.ec2_instance_id
    spec = [{"InstanceRole": g.role, "InstanceType": g.instance_type,
             "InstanceCount": g.num_instances, "Name": g.name, "Id": g.id} for g in groups]
    by_node = cluster.attach_nodes(list(build_topology(spec, 2048, 2).nodes))
    assert sorted(by_node) == ["core-1", "master-1"]
    cluster.run_bootstrap_actions()
    assert {(g.state, i.state) for g in groups for i in g.instances} == {
        ("BOOTSTRAPPING", "BOOTSTRAPPING")}
    cluster.waiting()
    assert [g.running_instance_count for g in groups] == [1, 1]
    cluster.terminating("USER_REQUEST", "bye")
    cluster.terminate()
    assert {(g.state, i.state) for g in groups for i in g.instances} == {
        ("TERMINATED", "TERMINATED")}
